import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { DatabaseHandle } from '../../db/connect.js';

/**
 * The metrics of one app instance, in a registry of its own (prom-client's default registry is
 * global: tests building many apps in one process would collide). Each replica exposes its own
 * figures; Prometheus sums them across instances.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'gar_broker_http_request_duration_seconds',
    help: 'Time from request received to response sent, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly ssoDecisions = new Counter({
    name: 'gar_broker_sso_decisions_total',
    help: 'Access decisions by door (api_sso, entry_link, saml_idp, cas, oidc), outcome (granted, refused, error) and refusal reason',
    labelNames: ['door', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly accessLogWrite = new Histogram({
    name: 'gar_broker_access_log_write_seconds',
    help: 'Duration of one access-log group commit (one multi-row INSERT)',
    labelNames: ['result'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly accessLogRows = new Counter({
    name: 'gar_broker_access_log_rows_total',
    help: 'Access-log rows committed (result="ok") or lost with their decision (result="error")',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(database: DatabaseHandle, db: Kysely<Database>, options: { processMetrics: boolean }) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'gar_broker_db_pool_connections',
      help: 'Database pool connections: total open, idle, and requests waiting for one',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const s = database.poolStats();
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
    // Read from retention_runs at scrape time, so every replica reports the run whichever did it.
    const lastRun = new Gauge({
      name: 'gar_broker_retention_last_run_timestamp_seconds',
      help: 'Start of the last retention run (not dry), by result; absent before the first run',
      labelNames: ['result'] as const,
      registers: [this.registry],
      async collect() {
        try {
          const rows = await db
            .selectFrom('retention_runs')
            .select((eb) => [
              eb.fn.max('started_at').filterWhere('error', 'is', null).as('ok'),
              eb.fn.max('started_at').filterWhere('error', 'is not', null).as('failed'),
            ])
            .where('dry_run', '=', false)
            .executeTakeFirst();
          lastRun.reset();
          if (rows?.ok) lastRun.set({ result: 'success' }, new Date(rows.ok).getTime() / 1000);
          if (rows?.failed) lastRun.set({ result: 'error' }, new Date(rows.failed).getTime() / 1000);
        } catch {
          // A scrape while the database is away still reports everything else.
        }
      },
    });
  }
}
