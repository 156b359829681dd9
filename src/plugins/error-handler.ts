import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, PROBLEM_BASE, cappedErrors, type FieldError } from '../errors.js';
import { UNREACHABLE } from '../db/connect.js';

interface ValidationItem {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function fieldErrors(items: ValidationItem[], context: string | undefined): FieldError[] {
  return items.map((v) => {
    let path = v.instancePath ?? '';
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') {
      path = `${path}/${v.params.missingProperty}`;
    } else if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      path = `${path}/${v.params.additionalProperty}`;
    }
    const where = context ?? 'body';
    return { path: `${where}${path || ''}`, message: v.message ?? 'is invalid' };
  });
}

/** SQLSTATE 57014: statement_timeout (DATABASE_STATEMENT_TIMEOUT_MS) cancelled the statement. */
const STATEMENT_TIMEOUT = '57014';

/** Errors that mean the database is out of reach or too slow right now, as opposed to a bug. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; [UNREACHABLE]?: boolean } | null;
  if (!e) return false;
  if (e[UNREACHABLE]) return true;
  const code = e.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  // SQLSTATE classes 08 (connection exception), 57P (operator intervention), 53 (resources).
  if (/^(08|57P|53)/.test(code) || code === STATEMENT_TIMEOUT) return true;
  const msg = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|PGlite is closed/i.test(
    msg,
  );
}

function send(reply: FastifyReply, status: number, body: Record<string, unknown>): FastifyReply {
  // Every route, JSON and XML alike: however an error list was built, the answer carries a bounded one.
  if (Array.isArray(body.errors)) Object.assign(body, cappedErrors(body.errors as FieldError[], body.errorCount));
  return reply.status(status).type('application/problem+json').send(body);
}

/**
 * What the log may say about a database error: its SQLSTATE and where, never its message or detail,
 * which echo the values sent (`date/time field value out of range: "2011-19-37"`, a key's value).
 */
export function databaseErrorForLog(err: unknown): Record<string, unknown> | undefined {
  const e = err as { code?: unknown; severity?: unknown; routine?: unknown; table?: unknown; column?: unknown; constraint?: unknown; name?: unknown };
  if (typeof e?.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || e.severity === undefined) return undefined;
  return { name: e.name, code: e.code, routine: e.routine, table: e.table, column: e.column, constraint: e.constraint };
}

export function problemBody(request: FastifyRequest, status: number, code: string, title: string, detail?: string) {
  return { type: `${PROBLEM_BASE}${code}`, title, status, ...(detail ? { detail } : {}), requestId: request.id };
}

/**
 * The router's own refusals, answered before any route, hook or error handler: a path that is not
 * valid percent-encoded UTF-8, a path parameter longer than the router's limit. Passed to Fastify as
 * `frameworkErrors`; the path itself is not echoed (it may be long, or carry personal identifiers).
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    send(reply, 414, problemBody(request, 414, 'uri-too-long', 'URI too long', 'a path parameter is longer than the service accepts'));
  } else if (err.code === 'FST_ERR_BAD_URL') {
    send(reply, 400, problemBody(request, 400, 'bad-request', 'Bad request', 'the URL path is not valid percent-encoded UTF-8'));
  } else {
    request.log.error({ err }, 'unexpected routing error');
    send(reply, 500, problemBody(request, 500, 'internal', 'Internal server error', `unexpected error; quote request id ${request.id} to the operator`));
  }
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError) {
      if (err.status >= 500) request.log.warn({ err: { message: err.message, code: err.code } }, 'service problem');
      return send(reply, err.status, {
        ...problemBody(request, err.status, err.code, err.title, err.detail),
        ...err.extra,
      });
    }
    const fe = err as FastifyError & { validation?: ValidationItem[]; validationContext?: string };
    if (fe.validation) {
      const list = fieldErrors(fe.validation, fe.validationContext);
      return send(reply, 400, {
        ...problemBody(request, 400, 'validation', 'Invalid request', `${list.length} invalid field(s)`),
        errors: list,
      });
    }
    const pgCode = (err as { code?: string }).code;
    const dbError = databaseErrorForLog(err);
    if (pgCode === '23505') {
      return send(reply, 409, problemBody(request, 409, 'conflict', 'Conflict', 'an object with this identifier already exists'));
    }
    if (isDatabaseUnavailable(err)) {
      const timedOut = pgCode === STATEMENT_TIMEOUT;
      request.log.error({ err: dbError ?? { message: err.message, code: pgCode } }, timedOut ? 'database statement timed out' : 'database unavailable');
      reply.header('retry-after', '5');
      const detail = timedOut ? 'the database did not answer in time; try again shortly' : 'the database is unreachable; try again shortly';
      return send(reply, 503, problemBody(request, 503, 'unavailable', 'Service unavailable', detail));
    }
    const status = fe.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own 4xx errors (bad JSON, body too large, bad content type) carry safe messages.
      const code = status === 413 ? 'payload-too-large' : status === 415 ? 'unsupported-media-type' : 'bad-request';
      return send(reply, status, problemBody(request, status, code, STATUS_CODES[status] ?? 'Bad request', fe.message));
    }
    // A value the database refused (SQLSTATE class 22: out of range, too long, bad encoding) is the
    // caller's; the rules should have named it first, so it is logged as a gap to close.
    if (dbError && pgCode!.startsWith('22')) {
      request.log.warn({ err: dbError }, 'value refused by the database');
      return send(reply, 400, problemBody(request, 400, 'bad-request', 'Bad request', 'a value was refused by the database (out of range or too long)'));
    }
    // Anything else is our bug: fixed text for the caller, the details once in the log (without
    // the values a database error would echo).
    request.log.error({ err: dbError ?? err }, 'unexpected error');
    return send(
      reply,
      500,
      problemBody(request, 500, 'internal', 'Internal server error', `unexpected error; quote request id ${request.id} to the operator`),
    );
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, 404, problemBody(request, 404, 'not-found', 'Not found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
