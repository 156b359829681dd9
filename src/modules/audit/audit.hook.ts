import type { FastifyInstance, FastifyRequest } from 'fastify';
import { insertAudit } from './audit.repository.js';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes that decide rather than change: their record is the access log. */
const NOT_CHANGES = new Set(['/v1/sso']);
// GAR's subscription search is a POST that changes nothing (on the main listener and at GAR's root path).
NOT_CHANGES.add('/ws/abonnement/abonnements').add('/abonnements');

/** `/v1/establishments/:uai/directory` → `establishments.directory`. */
export function objectTypeOf(route: string): string {
  return route
    .replace(/^\/v1\//, '')
    .split('/')
    .filter((s) => s !== '' && !s.startsWith(':'))
    .join('.');
}

/** Field names only: the top-level keys of a JSON body, or the root element of an XML one. */
function fieldsOf(request: FastifyRequest): string[] {
  const body = request.body;
  if (typeof body === 'string') {
    const root = /<(?:[\w.-]+:)?([\w.-]+)[\s>]/.exec(body.replace(/<\?xml[^>]*>/, ''));
    return root ? [root[1]!] : [];
  }
  return body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).sort() : [];
}

/**
 * The audit trail: every successful change through /v1 is recorded before the answer leaves —
 * who (token sub and role), when, what object, which fields. A failure to record is logged loudly
 * but does not undo a change already committed.
 */
export function registerAuditTrail(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (!CHANGES.has(request.method) || !route || NOT_CHANGES.has(route) || reply.statusCode >= 400 || !request.caller) return payload;
    const params = (request.params ?? {}) as Record<string, string>;
    try {
      await insertAudit(app.db, {
        at: app.clock(),
        actor_sub: request.caller.sub,
        actor_role: request.caller.role,
        action: `${request.method} ${route}`,
        object_type: objectTypeOf(route),
        object_id: Object.values(params).join('/') || null,
        fields: fieldsOf(request),
        status: reply.statusCode,
        request_id: request.id,
      });
    } catch (err) {
      request.log.error({ err: { message: (err as Error).message } }, 'audit trail write failed');
    }
    return payload;
  });
}
