import type { Kysely, Selectable } from 'kysely';
import type { Database, FeedJobsTable } from '../../db/database.js';
import type { ImportReport } from './export-import.js';

export type FeedJobRow = Selectable<FeedJobsTable>;
export type FeedJobState = FeedJobRow['state'];

export async function insertJob(
  db: Kysely<Database>,
  job: { id: string; entId: string; createdBy: string; archiveName: string | null; archivePath: string; bytes: number; now: Date },
): Promise<FeedJobRow> {
  return db
    .insertInto('feed_jobs')
    .values({
      id: job.id,
      ent_id: job.entId,
      state: 'queued',
      created_by: job.createdBy,
      archive_name: job.archiveName,
      archive_path: job.archivePath,
      archive_bytes: job.bytes,
      created_at: job.now,
      updated_at: job.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Queued → running, for one runner only: the update is the claim. */
export async function claimJob(db: Kysely<Database>, id: string, now: Date): Promise<FeedJobRow | undefined> {
  return db
    .updateTable('feed_jobs')
    .set((eb) => ({ state: 'running', started_at: now, updated_at: now, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
}

const reportColumns = (r: ImportReport) => ({
  progress: JSON.stringify(r.progress),
  establishments: JSON.stringify(r.establishments),
  problems: JSON.stringify(r.problems),
  problem_count: r.problemCount,
});

export async function saveProgress(db: Kysely<Database>, id: string, report: ImportReport, now: Date): Promise<void> {
  await db.updateTable('feed_jobs').set({ ...reportColumns(report), updated_at: now }).where('id', '=', id).where('state', '=', 'running').execute();
}

export async function finishJob(
  db: Kysely<Database>,
  id: string,
  end: { state: FeedJobState; report?: ImportReport; error?: string; keepArchive?: boolean },
  now: Date,
): Promise<void> {
  const finished = end.state !== 'queued' && end.state !== 'running';
  await db
    .updateTable('feed_jobs')
    .set({
      state: end.state,
      ...(end.report ? reportColumns(end.report) : {}),
      error: end.error ?? null,
      updated_at: now,
      ...(finished ? { finished_at: now } : {}),
      ...(end.keepArchive ? {} : { archive_path: null }),
    })
    .where('id', '=', id)
    .execute();
}

export async function findJob(db: Kysely<Database>, id: string): Promise<FeedJobRow | undefined> {
  return db.selectFrom('feed_jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listJobs(db: Kysely<Database>, entId: string | undefined, limit: number): Promise<FeedJobRow[]> {
  let q = db.selectFrom('feed_jobs').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit);
  if (entId !== undefined) q = q.where('ent_id', '=', entId);
  return q.execute();
}

export async function unfinishedJobs(db: Kysely<Database>): Promise<FeedJobRow[]> {
  return db.selectFrom('feed_jobs').selectAll().where('state', 'in', ['queued', 'running']).orderBy('created_at').execute();
}

/** A job found `running` with no live runner goes back to the queue (or ends failed, see the runner). */
export async function requeueJob(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('feed_jobs').set({ state: 'queued', updated_at: now }).where('id', '=', id).where('state', '=', 'running').execute();
}

/** Days an ended job and its problem list are kept (the retention run deletes them after). */
export const FEED_JOB_RETENTION_DAYS = 30;

/** Retention: ended jobs and their problem lists, past the cutoff. */
export async function deleteFinishedJobsBefore(db: Kysely<Database>, cutoff: Date): Promise<{ deleted: number }> {
  const r = await db.deleteFrom('feed_jobs').where('state', 'in', ['succeeded', 'failed', 'partial']).where('finished_at', '<', cutoff).executeTakeFirst();
  return { deleted: Number(r.numDeletedRows) };
}
