import { createPublicKey } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../config.js';
import { AppError, errors } from '../errors.js';
import { isValidUai } from '../lib/uai.js';
import { unacceptableValues } from './input-guard.js';

/** Clock difference tolerated between the token issuer and the broker for `iat`. */
export const TOKEN_CLOCK_SKEW_SECONDS = 60;

export const ROLES = ['operator', 'ministry', 'publisher', 'ent', 'establishment'] as const;
export type Role = (typeof ROLES)[number];

/** The authenticated caller, with the scope claim of its role already checked. */
export type Caller =
  | { sub: string; role: 'operator' }
  | { sub: string; role: 'ministry' }
  | { sub: string; role: 'publisher'; publisherId: string }
  | { sub: string; role: 'ent'; entId: string }
  | { sub: string; role: 'establishment'; uais: string[] };

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
    /** The bearer token's verdict, read once per request: the caller, why it was refused, or null without a token. */
    identity: Caller | AppError | null;
  }
}

/** Turns verified claims into a Caller; anything malformed is a 401, as a token that is not ours. */
export function callerFromClaims(claims: Record<string, unknown>): Caller {
  // Claims are input like a body: the same text rules (no U+0000, no lone surrogate), said in a 401.
  const bad = unacceptableValues(claims, 'token')[0];
  if (bad) throw errors.unauthorized(`claim ${bad.path.replace(/^token\//, '')}: ${bad.message}`);
  const { sub, role } = claims;
  if (typeof sub !== 'string' || sub === '') throw errors.unauthorized('token has no "sub" claim');
  if (sub.length > 256) throw errors.unauthorized('the "sub" claim is longer than 256 characters');
  const str = (name: string): string => {
    const v = claims[name];
    if (typeof v !== 'string' || v === '' || v.length > 128) {
      throw errors.unauthorized(`a ${String(role)} token needs a "${name}" claim`);
    }
    return v;
  };
  switch (role) {
    case 'operator':
    case 'ministry':
      return { sub, role };
    case 'publisher':
      return { sub, role, publisherId: str('publisherId') };
    case 'ent':
      return { sub, role, entId: str('entId') };
    case 'establishment': {
      const raw = claims.uai;
      const uais = typeof raw === 'string' ? [raw] : raw;
      if (!Array.isArray(uais) || uais.length === 0 || !uais.every((u) => typeof u === 'string' && isValidUai(u))) {
        throw errors.unauthorized('an establishment token needs a "uai" claim: an array of valid UAIs');
      }
      return { sub, role, uais: [...new Set(uais as string[])] };
    }
    default:
      throw errors.unauthorized(`unknown role "${String(role)}"`);
  }
}

function jwtKeyOptions(config: Config) {
  if (config.jwtSecret) return { secret: config.jwtSecret, algorithms: ['HS256'] as const };
  const pem = config.jwtPublicKey!;
  const type = createPublicKey(pem).asymmetricKeyType;
  // Pinning the algorithm to the key type stops HS256-with-the-public-key and `alg: none` tokens.
  const algorithms = type === 'ec' ? (['ES256'] as const) : (['RS256'] as const);
  return { secret: { public: pem }, algorithms };
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    const { secret, algorithms } = jwtKeyOptions(opts.config);
    await app.register(fastifyJwt, {
      secret,
      verify: {
        algorithms: [...algorithms],
        ...(opts.config.jwtIssuer ? { allowedIss: opts.config.jwtIssuer } : {}),
        ...(opts.config.jwtAudience ? { allowedAud: opts.config.jwtAudience } : {}),
        // A configured issuer or audience must be in the token: fast-jwt only checks claims present.
        requiredClaims: [...(opts.config.jwtIssuer ? ['iss'] : []), ...(opts.config.jwtAudience ? ['aud'] : [])],
      },
      // Tokens are read from the Authorization header only: no cookies, no query strings (logs).
    });
    app.decorateRequest('caller', null as never);
    app.decorateRequest('identity', null);
    // Verified on arrival, before the rate limiter, so that limits key on who the caller really is;
    // the access level's guard then acts on the verdict.
    app.addHook('onRequest', async (request) => {
      if (!request.headers.authorization) return;
      try {
        request.identity = await authenticate(request);
      } catch (err) {
        request.identity = err instanceof AppError ? err : errors.unauthorized('token invalid');
      }
    });
  },
  { name: 'auth' },
);

async function authenticate(request: FastifyRequest): Promise<Caller> {
  let claims: Record<string, unknown>;
  try {
    claims = await request.jwtVerify<Record<string, unknown>>();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const why = code.includes('EXPIRED')
      ? 'token expired'
      : code.includes('INACTIVE')
        ? 'token not yet valid'
        : code.includes('CLAIM')
          ? 'token issuer or audience not accepted'
          : 'token invalid';
    throw errors.unauthorized(why);
  }
  checkTokenTimes(claims, config(request), Date.now() / 1000);
  return callerFromClaims(claims);
}

const config = (request: FastifyRequest): Config => (request.server as FastifyInstance & { config: Config }).config;

/**
 * A token must say when it ends, must not claim to be issued in the future, and may not live longer
 * than the deployment allows: a leaked token without `exp` (or dated ten years ahead) would
 * otherwise open the API for ever. Machine clients the operator declares may hold longer tokens.
 */
export function checkTokenTimes(
  claims: Record<string, unknown>,
  limits: Pick<Config, 'jwtMaxLifetimeSeconds' | 'jwtMachineMaxLifetimeSeconds' | 'jwtMachineClients'>,
  nowSeconds: number,
): void {
  const { exp, iat, sub } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw errors.unauthorized('token has no "exp" claim: tokens must expire');
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) throw errors.unauthorized('the "iat" claim is not a number');
  if (typeof iat === 'number' && iat > nowSeconds + TOKEN_CLOCK_SKEW_SECONDS) throw errors.unauthorized('token issued in the future ("iat")');
  const machine = typeof sub === 'string' && limits.jwtMachineClients.includes(sub);
  const max = machine ? limits.jwtMachineMaxLifetimeSeconds : limits.jwtMaxLifetimeSeconds;
  const lifetime = exp - (typeof iat === 'number' ? iat : nowSeconds);
  if (lifetime > max + TOKEN_CLOCK_SKEW_SECONDS) {
    throw errors.unauthorized(`token lifetime exceeds ${max} s${machine ? ' (machine client)' : ''}; ask for a shorter-lived token`);
  }
}

export function requireRoles(roles: readonly Role[]): onRequestHookHandler {
  return async (request) => {
    const caller = request.identity;
    if (caller === null) throw errors.unauthorized('missing Authorization: Bearer token');
    if (caller instanceof AppError) throw caller;
    if (!roles.includes(caller.role)) {
      throw errors.forbidden(`this route is for ${roles.join(' or ')} tokens, not ${caller.role}`);
    }
    request.caller = caller;
  };
}

/**
 * An access level: a child context whose every route requires one of `roles`. The guard is
 * registered once per level, so a route cannot forget it.
 */
export function accessLevel(roles: readonly Role[], ...plugins: FastifyPluginAsync[]): FastifyPluginAsync {
  return async (scope) => {
    scope.addHook('onRequest', requireRoles(roles));
    for (const plugin of plugins) await scope.register(plugin);
  };
}

/** What a caller's scope says about one object. */
export interface ScopeTarget {
  entId?: string;
  publisherId?: string;
  uai?: string;
}

/**
 * The one tenant-scope check. Operators and ministry see across tenants; everyone else only their
 * own. `hide` turns the refusal into a 404 where even existence must not leak.
 */
export function inScope(caller: Caller, target: ScopeTarget): boolean {
  switch (caller.role) {
    case 'operator':
    case 'ministry':
      return true;
    case 'publisher':
      return target.publisherId !== undefined && target.publisherId === caller.publisherId;
    case 'ent':
      return target.entId !== undefined && target.entId === caller.entId;
    case 'establishment':
      return target.uai !== undefined && caller.uais.includes(target.uai);
  }
}

export function assertScope(caller: Caller, target: ScopeTarget, hide?: { what: string; id: string }): void {
  if (inScope(caller, target)) return;
  if (hide) throw errors.notFound(hide.what, hide.id);
  throw errors.forbidden('this object is outside the scope of your token');
}
