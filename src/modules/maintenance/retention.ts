import { RIGHTS_RECORD_YEARS } from '../data-subjects/rights-records.js';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { aggregateDailyStats } from './stats-aggregation.js';
import { deleteDetachedBefore } from '../directory/detached-assignments.js';
import { deleteFinishedJobsBefore, FEED_JOB_RETENTION_DAYS } from '../feed-jobs/feed-jobs.repository.js';
import { ensureMonthlyPartitions, listPartitions, PARTITIONED_TABLES } from './partitions.js';

export interface RetentionOptions {
  now: Date;
  /** Months of access and audit logs kept (1..12). */
  logMonths: number;
  /** Months a departed person's directory data is kept after `goneAt` (ENT declaration: three). */
  goneMonths: number;
  /** Days an ended subscription and its assignments are kept. */
  subscriptionGraceDays: number;
  dryRun: boolean;
  /**
   * The daily job's guard: skip if a successful run started at or after this time. Checked under
   * the lock, and a run is recorded in its own transaction, so replicas ticking together run it once.
   */
  skipIfRunSince?: Date;
}

export interface RetentionReport {
  dryRun: boolean;
  /** True when another instance held the lock: this run did nothing. */
  skipped: boolean;
  logCutoff: string;
  droppedPartitions: string[];
  deletedLogRows: number;
  deletedPeople: number;
  deletedDepartures: number;
  deletedAssignmentManagers: number;
  deletedDetachedAssignments: number;
  deletedSubscriptions: number;
  /** Export jobs (with their problem lists) ended more than FEED_JOB_RETENTION_DAYS ago. */
  deletedFeedJobs: number;
  oldestAccessLog: string | null;
  oldestAuditLog: string | null;
}

const LOCK_KEY = 7_120_512; // one retention run at a time across every instance

const monthsBefore = (d: Date, months: number) => {
  const c = new Date(d);
  c.setUTCMonth(c.getUTCMonth() - months);
  return c;
};
const daysBefore = (d: Date, days: number) => new Date(d.getTime() - days * 86_400_000);

/**
 * The retention run. Logs: a monthly partition is dropped as soon as it may hold a row older than
 * the cutoff, so nothing is kept longer than `logMonths` (rows stay between logMonths - 1 and
 * logMonths months); dropping a partition costs the same whatever its row count. Directory: people
 * gone for longer than `goneMonths` are deleted with their memberships and assignments; ended
 * subscriptions past their grace go with their assignments. Daily statistics are folded first, so
 * counts survive the purge. Runs in one transaction under an advisory lock; a dry run rolls back.
 */
export async function runRetention(db: Kysely<Database>, o: RetentionOptions): Promise<RetentionReport> {
  const logCutoff = monthsBefore(o.now, o.logMonths);
  const report: RetentionReport = {
    dryRun: o.dryRun,
    skipped: false,
    logCutoff: logCutoff.toISOString(),
    droppedPartitions: [],
    deletedLogRows: 0,
    deletedPeople: 0,
    deletedDepartures: 0,
    deletedAssignmentManagers: 0,
    deletedDetachedAssignments: 0,
    deletedSubscriptions: 0,
    deletedFeedJobs: 0,
    oldestAccessLog: null,
    oldestAuditLog: null,
  };
  class DryRun extends Error {}
  try {
    await db.transaction().execute(async (trx) => {
      // A year-old partition or a summer's worth of departures may take longer than a request may.
      await sql`set local statement_timeout = 0`.execute(trx);
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${LOCK_KEY}) as ok`.execute(trx);
      if (!lock.rows[0]!.ok) {
        report.skipped = true;
        return;
      }
      if (o.skipIfRunSince) {
        const recent = await trx
          .selectFrom('retention_runs')
          .select('id')
          .where('dry_run', '=', false)
          .where('error', 'is', null)
          .where('started_at', '>=', o.skipIfRunSince)
          .executeTakeFirst();
        if (recent) {
          report.skipped = true;
          return;
        }
      }
      const started = new Date();
      await aggregateDailyStats(trx, o.now);
      for (const table of PARTITIONED_TABLES) {
        for (const p of await listPartitions(trx, table)) {
          if (p.from && p.from < logCutoff) {
            await sql`drop table ${sql.table(p.name)}`.execute(trx);
            report.droppedPartitions.push(p.name);
          }
        }
        // The default partition only catches gaps; its stragglers follow the same rule.
        const res = await sql`delete from ${sql.table(`${table}_default`)} where at < ${logCutoff.toISOString()}`.execute(trx);
        report.deletedLogRows += Number(res.numAffectedRows ?? 0);
      }
      await ensureMonthlyPartitions(trx, 'access_log', o.now);
      await ensureMonthlyPartitions(trx, 'audit_log', o.now);

      const goneCutoff = monthsBefore(o.now, o.goneMonths);
      const people = await trx.deleteFrom('people').where('gone_at', '<', goneCutoff).executeTakeFirst();
      report.deletedPeople = Number(people.numDeletedRows);
      // Someone who left one establishment but stays in another loses only that establishment's data.
      const departures = await sql<{ person_id: number; uai: string }>`
        delete from establishment_people where gone_at < ${goneCutoff.toISOString()} returning person_id, uai`.execute(trx);
      report.deletedDepartures = departures.rows.length;
      if (departures.rows.length > 0) {
        const persons = departures.rows.map((r) => Number(r.person_id));
        const uais = departures.rows.map((r) => r.uai);
        const pairs = sql`select * from unnest(${persons}::bigint[], ${uais}::text[]) as d(person_id, uai)`;
        await sql`delete from group_members gm using groups g, (${pairs}) d where g.id = gm.group_id and g.uai = d.uai and gm.person_id = d.person_id`.execute(trx);
        await sql`delete from teachings t using groups g, (${pairs}) d where g.id = t.group_id and g.uai = d.uai and t.person_id = d.person_id`.execute(trx);
        await sql`delete from assignments a using (${pairs}) d where a.person_id = d.person_id and a.uai = d.uai`.execute(trx);
      }
      // Assignments detached from a group that has not come back for as long go too.
      report.deletedDetachedAssignments = await deleteDetachedBefore(trx, goneCutoff);
      // Responsables d'affectation no export has named for as long: their name and e-mail go too.
      // Objections and restrictions outlive the person, not the length of a schooling (README).
      const rightsCutoff = monthsBefore(o.now, RIGHTS_RECORD_YEARS * 12);
      await trx.deleteFrom('rights_records').where('recorded_at', '<', rightsCutoff).execute();
      // Links between a person's records in two ENT projects serve the length of a schooling too.
      await trx.deleteFrom('person_links').where('created_at', '<', rightsCutoff).execute();
      const managers = await trx.deleteFrom('assignment_managers').where('seen_at', '<', goneCutoff).executeTakeFirst();
      report.deletedAssignmentManagers = Number(managers.numDeletedRows);
      const subs = await trx
        .deleteFrom('subscriptions')
        .where('ends_at', '<', daysBefore(o.now, o.subscriptionGraceDays).toISOString())
        .executeTakeFirst();
      report.deletedSubscriptions = Number(subs.numDeletedRows);
      // Their archives left the disk when each job ended.
      report.deletedFeedJobs = (await deleteFinishedJobsBefore(trx, daysBefore(o.now, FEED_JOB_RETENTION_DAYS))).deleted;

      const oldest = async (table: 'access_log' | 'audit_log') => {
        const r = await trx.selectFrom(table).select((eb) => eb.fn.min('at').as('at')).executeTakeFirst();
        return r?.at ? new Date(r.at).toISOString() : null;
      };
      report.oldestAccessLog = await oldest('access_log');
      report.oldestAuditLog = await oldest('audit_log');
      if (o.dryRun) throw new DryRun();
      await trx
        .insertInto('retention_runs')
        .values({ started_at: started, finished_at: new Date(), dry_run: false, removed: JSON.stringify(report) })
        .execute();
    });
  } catch (err) {
    if (!(err instanceof DryRun)) throw err;
  }
  return report;
}
