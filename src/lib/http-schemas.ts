import { Type, type TSchema } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** RFC 9457 problem details, as every error of the service is answered. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI naming the kind of problem' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String({ description: 'machine-readable refusal reason (SSO)' })),
    errors: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
        description: 'the failing fields of a validation problem: the first 100 at most (see errorCount)',
      }),
    ),
    errorCount: Type.Optional(Type.Integer({ minimum: 0, description: 'how many fields failed in all, when `errors` is present' })),
  },
  { additionalProperties: true, $id: undefined },
);

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: the body, parameters or query do not match the schema or the rules',
  401: 'Missing, expired or invalid bearer token',
  403: 'The token does not allow this',
  404: 'Not found, or outside the scope of your token',
  409: 'Conflict with the stored state',
  413: 'Body too large',
  415: 'Unsupported media type',
  429: 'Too many requests from this caller; wait for the `retry-after` seconds',
  503: 'Database unavailable',
};

/** Problem responses for a route, e.g. `...problems(400, 401, 403)`. 500 is always declared. */
export function problems(...statuses: number[]): Record<number, ReturnType<typeof problem>> {
  const out: Record<number, ReturnType<typeof problem>> = {};
  for (const s of [...statuses, 500]) out[s] = problem(DESCRIPTIONS[s] ?? 'Unexpected error');
  return out;
}

/** The problems every authenticated route can answer. */
export const AUTH_PROBLEMS = [401, 403] as const;

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next: Type.Optional(Type.String({ description: 'cursor for the next page' })),
  });

export const Timestamp = Type.String({ format: 'date-time' });
