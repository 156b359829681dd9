import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { utcDay, statsWatermark } from '../maintenance/stats-aggregation.js';
import { StatsAnswer, StatsQuery } from './stats.schemas.js';
import { countAccesses } from './stats.repository.js';
import type { Caller } from '../../plugins/auth.js';

const scopeText = (c: Caller) =>
  c.role === 'publisher' ? `publisher ${c.publisherId}` : c.role === 'ent' ? `ENT project ${c.entId}` : c.role === 'establishment' ? `UAI ${c.uais.join(', ')}` : 'all';

/** Every role: access statistics, each within its own scope. */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/stats/accesses',
    {
      schema: {
        tags: ['statistics'],
        summary: 'Counts of granted and refused accesses, by day, resource, UAI or profile (each role sees its own scope)',
        querystring: StatsQuery,
        response: { 200: StatsAnswer, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const now = app.clock();
      const to = request.query.to ?? utcDay(new Date(now.getTime() + 86_400_000));
      const from = request.query.from ?? utcDay(new Date(Date.parse(`${to}T00:00:00Z`) - 30 * 86_400_000));
      if (from >= to) throw errors.validation('empty period', [{ path: 'querystring/from', message: 'must be before `to`' }]);
      if (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`) > 3 * 366 * 86_400_000) {
        throw errors.validation('period too long', [{ path: 'querystring/from', message: 'a period covers at most three years' }]);
      }
      const items = await countAccesses(app.db, request.caller, {
        from,
        to,
        groupBy: request.query.groupBy,
        watermark: await statsWatermark(app.db),
      });
      return { from, to, groupBy: request.query.groupBy, scope: scopeText(request.caller), items };
    },
  );
};
