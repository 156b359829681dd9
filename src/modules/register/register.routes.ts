import { sql } from 'kysely';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ListOf, Nullable, problems } from '../../lib/http-schemas.js';
import { statsWatermark } from '../maintenance/stats-aggregation.js';
import type { Caller } from '../../plugins/auth.js';

const RegisterLine = Type.Object({
  resourceId: Type.String(),
  resourceName: Type.String(),
  publisherId: Type.String(),
  publisherName: Type.String(),
  attributes: Type.Array(
    Type.Object({ code: Type.String(), purpose: Type.String(), approvedAt: Type.String({ format: 'date-time' }), reviewerRole: Type.Literal('ministry') }),
    { description: 'the approved attributes (the released set), besides IDO which is always sent' },
  ),
  approvedAt: Nullable(Type.String({ format: 'date-time', description: 'when the request in force was reviewed' })),
  accessesLast12Months: Type.Integer({ description: 'granted accesses over the last twelve months' }),
});

interface Row {
  resource_id: string;
  resource_name: string;
  publisher_id: string;
  publisher_name: string;
  attributes: Array<{ code: string; purpose: string; approvedAt: string }> | null;
  approved_at: Date | null;
  accesses: number;
}

/** Ministry, operator, and each publisher for its own lines: the register of processing. */
export const registerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/register',
    {
      schema: {
        tags: ['register'],
        summary: 'Register of processing: per resource, the approved attributes with purposes and the accesses of the last twelve months',
        response: { 200: ListOf(RegisterLine), ...problems(401, 403) },
      },
    },
    async (request) => {
      const caller = request.caller as Caller;
      const now = app.clock();
      const since = new Date(now);
      since.setUTCMonth(since.getUTCMonth() - 12);
      const watermark = (await statsWatermark(app.db)) ?? '1970-01-01';
      const liveFrom = new Date(Math.max(since.getTime(), Date.parse(`${watermark}T00:00:00Z`))).toISOString();
      const onlyPublisher = caller.role === 'publisher' ? sql`and r.publisher_id = ${caller.publisherId}` : sql``;
      // Counts: folded days from the daily aggregates, the rest from the log, never a year of raw rows.
      const { rows } = await sql<Row>`
        select r.id as resource_id, r.name as resource_name, r.publisher_id, p.name as publisher_name,
          (select json_agg(json_build_object('code', ra.code, 'purpose', i.purpose, 'approvedAt', ra.approved_at) order by ra.code)
             from released_attributes ra join data_request_items i on i.request_id = ra.request_id and i.code = ra.code
             where ra.resource_id = r.id) as attributes,
          (select max(dr.reviewed_at) from data_requests dr where dr.resource_id = r.id and dr.status = 'reviewed') as approved_at,
          (coalesce((select sum(count) from access_stats_daily d where d.resource_id = r.id and d.outcome = 'granted'
                      and d.day >= ${since.toISOString().slice(0, 10)}::date and d.day < ${watermark}::date), 0)
           + (select count(*) from access_log l where l.resource_id = r.id and l.outcome = 'granted' and l.at >= ${liveFrom}))::int as accesses
        from resources r join publishers p on p.id = r.publisher_id
        where true ${onlyPublisher}
        order by r.publisher_id, r.id`.execute(app.db);
      return {
        items: rows.map((r) => ({
          resourceId: r.resource_id,
          resourceName: r.resource_name,
          publisherId: r.publisher_id,
          publisherName: r.publisher_name,
          attributes: (r.attributes ?? []).map((a) => ({ ...a, approvedAt: new Date(a.approvedAt).toISOString(), reviewerRole: 'ministry' as const })),
          approvedAt: r.approved_at ? new Date(r.approved_at).toISOString() : null,
          accessesLast12Months: r.accesses,
        })),
      };
    },
  );
};
