import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Nullable, problems } from '../../lib/http-schemas.js';
import { statsWatermark } from './stats-aggregation.js';
import { listPartitions, PARTITIONED_TABLES } from './partitions.js';


const RetentionStatus = Type.Object({
  lastRun: Nullable(
    Type.Object({
      startedAt: Type.String({ format: 'date-time' }),
      finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      dryRun: Type.Boolean(),
      removed: Type.Record(Type.String(), Type.Unknown()),
      error: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  retentionMonths: Type.Integer(),
  subscriptionGraceDays: Type.Integer(),
  oldest: Type.Object({ accessLog: Nullable(Type.String()), auditLog: Nullable(Type.String()) }),
  partitions: Type.Record(Type.String(), Type.Array(Type.String())),
  statsAggregatedUntil: Nullable(Type.String()),
});

/** Operator: what the retention job did last and the oldest data held. */
export const maintenanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/retention/status',
    {
      schema: {
        tags: ['retention'],
        summary: 'Last retention run, what it removed, and the oldest log data held (operator)',
        response: { 200: RetentionStatus, ...problems(401, 403) },
      },
    },
    async () => {
      const last = await app.db.selectFrom('retention_runs').selectAll().orderBy('started_at', 'desc').limit(1).executeTakeFirst();
      const oldest = async (table: 'access_log' | 'audit_log') => {
        const r = await app.db.selectFrom(table).select((eb) => eb.fn.min('at').as('at')).executeTakeFirst();
        return r?.at ? new Date(r.at).toISOString() : null;
      };
      const partitions: Record<string, string[]> = {};
      for (const t of PARTITIONED_TABLES) partitions[t] = (await listPartitions(app.db, t)).map((p) => p.name);
      return {
        lastRun: last
          ? {
              startedAt: new Date(last.started_at).toISOString(),
              finishedAt: last.finished_at ? new Date(last.finished_at).toISOString() : null,
              dryRun: last.dry_run,
              removed: last.removed,
              error: last.error,
            }
          : null,
        retentionMonths: app.config.accessLogRetentionMonths,
        subscriptionGraceDays: app.config.subscriptionGraceDays,
        oldest: { accessLog: await oldest('access_log'), auditLog: await oldest('audit_log') },
        partitions,
        statsAggregatedUntil: (await statsWatermark(app.db)) ?? null,
      };
    },
  );
};
