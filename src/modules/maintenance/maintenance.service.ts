import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { runRetention, type RetentionReport } from './retention.js';

/** A retention run as the scheduler and `npm run retention` do it: recorded and logged. */
export async function performRetention(
  db: Kysely<Database>,
  config: Pick<Config, 'accessLogRetentionMonths' | 'subscriptionGraceDays'>,
  now: Date,
  log: Pick<FastifyBaseLogger, 'info' | 'error'>,
  dryRun = false,
  skipIfRunSince?: Date,
): Promise<RetentionReport> {
  const options = { now, logMonths: config.accessLogRetentionMonths, goneMonths: 3, subscriptionGraceDays: config.subscriptionGraceDays, dryRun, skipIfRunSince };
  const started = new Date();
  try {
    const report = await runRetention(db, options);
    // A real run is recorded inside its own transaction; a dry run, rolled back, is recorded here.
    if (!report.skipped && dryRun) {
      await db
        .insertInto('retention_runs')
        .values({ started_at: started, finished_at: new Date(), dry_run: dryRun, removed: JSON.stringify(report) })
        .execute();
    }
    log.info({ retention: report }, report.skipped ? 'retention skipped: another instance holds the lock or has just run it' : 'retention run finished');
    return report;
  } catch (err) {
    await db
      .insertInto('retention_runs')
      .values({ started_at: started, finished_at: new Date(), dry_run: dryRun, error: (err as Error).message })
      .execute()
      .catch(() => {});
    log.error({ err }, 'retention run failed');
    throw err;
  }
}

/**
 * Daily maintenance inside the server: checks every hour whether a day has passed since the last
 * recorded run. Several replicas may check; the advisory lock lets one act.
 */
export function startDailyMaintenance(
  db: Kysely<Database>,
  config: Config,
  clock: () => Date,
  log: FastifyBaseLogger,
  firstDelayMs = 30_000,
): () => void {
  const tick = async () => {
    const since = new Date(clock().getTime() - 23 * 3_600_000);
    const last = await db.selectFrom('retention_runs').select('started_at').where('dry_run', '=', false).where('error', 'is', null).orderBy('started_at', 'desc').limit(1).executeTakeFirst();
    if (last && new Date(last.started_at) >= since) return;
    // Checked again under the lock: another replica may have run it since.
    await performRetention(db, config, clock(), log, false, since);
  };
  const run = () => void tick().catch((err) => log.error({ err }, 'daily maintenance failed'));
  const first = setTimeout(run, firstDelayMs);
  const timer = setInterval(run, 3_600_000);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
