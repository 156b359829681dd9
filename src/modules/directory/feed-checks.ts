import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from '../../errors.js';
import { compiledOnFirstUse } from '../../lib/schema-compilers.js';
import { ChangesBody, SnapshotBody } from './directory.schemas.js';
import { checkPrimary, checkSnapshot, schemaErrors } from './directory.validation.js';

/*
 * The checks of a large JSON feed that need no database, run where the body was parsed (a worker
 * thread): its JSON schema (with fastify's own compiler and the app's Ajv options, so the same
 * coercions, defaults and messages) and, for a snapshot, the feed rules. On 17,000 people they are
 * about a second of CPU, which the event loop serving SSO no longer spends. The route then skips its
 * own body validation for a body found in `checkedBodies`.
 */

/** The app's Ajv options (src/app.ts): every failing field at once, fastify's coercions and defaults. */
export const AJV_OPTIONS = { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false } as const;

const compilerFor = AjvCompiler()({}, { customOptions: AJV_OPTIONS });

export type FeedRoute = 'snapshot' | 'changes';

/** What the route knew before reading the body (its scope check reads it anyway). */
export interface FeedCheckContext {
  route: FeedRoute;
  uai: string;
  /** Every UAI of the caller's ENT project: profiles may name these (snapshot only). */
  projectUais: string[];
  /** The stored degree of the establishment (snapshot only). */
  degree: 1 | 2 | undefined;
  today: number;
}

export interface FeedChecks {
  schemaErrors: FieldError[];
  /** The snapshot's rule errors; absent when the rules need the stored directory (the route runs them). */
  ruleErrors?: FieldError[];
}

const validators = new Map<FeedRoute, ReturnType<typeof compilerFor>>();
const validatorFor = (route: FeedRoute) =>
  validators.get(route) ??
  validators
    .set(route, compilerFor({ schema: route === 'snapshot' ? SnapshotBody : ChangesBody, method: route === 'snapshot' ? 'PUT' : 'POST', url: '', httpPart: 'body' }))
    .get(route)!;

export function checkFeed(body: unknown, ctx: FeedCheckContext): FeedChecks {
  const validate = validatorFor(ctx.route);
  const found = validate(body) ? [] : schemaErrors((validate.errors ?? []) as Parameters<typeof schemaErrors>[0]);
  if (ctx.route !== 'snapshot' || body === null || typeof body !== 'object' || Array.isArray(body)) return { schemaErrors: found };
  const b = body as SnapshotBody;
  // Links to groups the snapshot does not list refer to the stored ones: that check needs the database.
  if (b.groups === undefined && (b.memberships?.length || b.teachings?.length)) return { schemaErrors: found };
  const degree = b.establishment?.degree ?? ctx.degree;
  return {
    schemaErrors: found,
    ruleErrors: [
      ...checkSnapshot(body, { uai: ctx.uai, projectUais: new Set(ctx.projectUais), today: new Date(ctx.today) }),
      ...(degree === 1 ? checkPrimary(body, '') : []),
    ],
  };
}

/** Bodies checked off the event loop, and what was found. */
export const checkedBodies = new WeakMap<object, FeedChecks>();

/** The route's validator: fastify's, except for a body already checked on the thread. */
export const feedValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const validate = compiledOnFirstUse(() => compilerFor(route as Parameters<typeof compilerFor>[0]));
  if (route.httpPart !== 'body') return validate;
  const wrapped = (data: unknown) => {
    if (typeof data === 'object' && data !== null && checkedBodies.has(data)) {
      wrapped.errors = null;
      return true;
    }
    const ok = validate(data);
    wrapped.errors = validate.errors;
    return ok;
  };
  wrapped.errors = null as unknown;
  return wrapped as never;
};
