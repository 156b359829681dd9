import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { completeAudit, dropAudit, insertAudit } from './audit.repository.js';

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

declare module 'fastify' {
  interface FastifyRequest {
    /** The audit row written before this change ran. */
    auditRow?: { id: number; at: Date; objectId: string | null };
  }
}

/** The id a creation answered with (201 JSON `id`), under the path's own ids. */
function createdId(payload: unknown, prefix: string | null): string | null {
  if (typeof payload !== 'string') return prefix;
  try {
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    if (typeof id !== 'string' && typeof id !== 'number') return prefix;
    return prefix ? `${prefix}/${id}` : String(id);
  } catch {
    return prefix;
  }
}

/**
 * The audit trail: every change through /v1 is recorded — who (token sub and role), when, what
 * object, which fields. The row is written before the change runs, so a change whose row cannot be
 * written does not happen (503), as an SSO whose access-log row cannot be written is not answered.
 * After the change the row gets its status and, for a creation, the new object's id; a refused
 * change (4xx) changed nothing and its row is removed.
 */
export function registerAuditTrail(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    const route = request.routeOptions.url;
    if (!CHANGES.has(request.method) || !route || NOT_CHANGES.has(route) || !request.caller) return;
    const params = (request.params ?? {}) as Record<string, string>;
    const at = app.clock();
    const objectId = Object.values(params).join('/') || null;
    try {
      const id = await insertAudit(app.db, {
        at,
        actor_sub: request.caller.sub,
        actor_role: request.caller.role,
        action: `${request.method} ${route}`,
        object_type: objectTypeOf(route),
        object_id: objectId,
        fields: fieldsOf(request),
        status: 0,
        request_id: request.id,
      });
      request.auditRow = { id, at, objectId };
    } catch (err) {
      request.log.error({ err: { message: (err as Error).message } }, 'audit trail write failed: change refused');
      throw errors.unavailable('the audit trail cannot be written, so nothing was changed; try again shortly');
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const row = request.auditRow;
    if (!row) return payload;
    request.auditRow = undefined;
    const status = reply.statusCode;
    try {
      if (status >= 400 && status < 500) await dropAudit(app.db, row.id, row.at);
      else await completeAudit(app.db, row.id, row.at, status, status === 201 ? createdId(payload, row.objectId) : row.objectId);
    } catch (err) {
      // The change is done and its row exists (status 0: outcome unknown); say so loudly.
      request.log.error({ err: { message: (err as Error).message }, auditId: row.id }, 'audit trail outcome not recorded');
    }
    return payload;
  });
}
