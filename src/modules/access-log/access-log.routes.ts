import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { AccessLogEntry, AccessLogQuery } from './access-log.schemas.js';
import { decodeCursor, encodeCursor, listAccessLog } from './access-log.repository.js';

/** Operator: the access log, newest first. */
export const accessLogRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/access-logs',
    {
      schema: {
        tags: ['access-log'],
        summary: 'Read the access log: every SSO decision, granted or refused (operator)',
        querystring: AccessLogQuery,
        response: { 200: ListOf(AccessLogEntry), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const after = q.after === undefined ? undefined : decodeCursor(q.after);
      if (q.after !== undefined && !after) throw errors.validation('invalid cursor', [{ path: 'querystring/after', message: 'is not a cursor this API gave' }]);
      const rows = await listAccessLog(app.db, q, after);
      return page(rows, q.limit, encodeCursor);
    },
  );
};
