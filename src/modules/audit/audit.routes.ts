import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { AuditEntry, AuditQuery } from './audit.schemas.js';
import { listAudit } from './audit.repository.js';

/** Operator: the audit trail of changes made through the API. */
export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Read the audit trail: who changed what, when, which fields (operator)',
        querystring: AuditQuery,
        response: { 200: ListOf(AuditEntry), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listAudit(app.db, q, q.after === undefined ? undefined : Number(q.after));
      return page(rows, q.limit, (e) => String(e.id));
    },
  );
};
