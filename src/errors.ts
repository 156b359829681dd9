/**
 * The one error type of the service. Every failure a caller can see is an AppError, mapped to
 * application/problem+json (RFC 9457) by plugins/error-handler.ts.
 */
export interface FieldError {
  /** JSON pointer-ish path of the failing value, e.g. `/people/3/lastName`. */
  path: string;
  message: string;
}

/** Problems list at most this many failing fields, with the total in `errorCount`. */
export const MAX_REPORTED_ERRORS = 100;

/**
 * The first MAX_REPORTED_ERRORS of a list, and how many there were: an answer stays small whatever
 * was sent. A list already capped where it was found (a feed thread) keeps the total it counted.
 */
export function cappedErrors(list: readonly FieldError[], counted?: unknown): { errors: FieldError[]; errorCount: number } {
  return { errors: list.slice(0, MAX_REPORTED_ERRORS), errorCount: typeof counted === 'number' && counted > list.length ? counted : list.length };
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'AppError';
  }
}

export const PROBLEM_BASE = 'urn:gar-broker:problem:';

export const errors = {
  badRequest: (detail: string, extra: Record<string, unknown> = {}) =>
    new AppError(400, 'bad-request', 'Bad request', detail, extra),
  validation: (detail: string, fieldErrors: FieldError[]) =>
    new AppError(400, 'validation', 'Invalid request', detail, { errors: fieldErrors }),
  unauthorized: (detail = 'a valid bearer token is required') =>
    new AppError(401, 'unauthorized', 'Unauthorized', detail),
  forbidden: (detail: string, extra: Record<string, unknown> = {}) =>
    new AppError(403, 'forbidden', 'Forbidden', detail, extra),
  accessRefused: (detail: string, reason: string) =>
    new AppError(403, 'access-refused', 'Access refused', detail, { reason }),
  notFound: (what: string, id?: string) =>
    new AppError(404, 'not-found', 'Not found', id === undefined ? `${what} not found` : `${what} "${id}" not found`),
  conflict: (detail: string, extra: Record<string, unknown> = {}) =>
    new AppError(409, 'conflict', 'Conflict', detail, extra),
  unsupportedMediaType: (detail: string) => new AppError(415, 'unsupported-media-type', 'Unsupported media type', detail),
  unavailable: (detail = 'the service cannot reach its database; try again shortly') =>
    new AppError(503, 'unavailable', 'Service unavailable', detail),
} as const;
