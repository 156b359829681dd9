import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { sql } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseHandle } from '../../db/connect.js';
import { archiveFiles, archiveKind, ArchiveError } from './archive.js';
import { importExport, StoppedError, type ImportReport } from './export-import.js';
import * as jobs from './feed-jobs.repository.js';

/*
 * Runs export jobs in the background of the app that received them. At most `parallel` at once in
 * a process, one at a time per ENT project; across replicas, one at a time per project through a
 * PostgreSQL advisory lock held on its own connection for the whole job (PGlite is one process:
 * the in-process rule is enough there). State is in feed_jobs, so a restart finds what was left:
 * a job still `running` whose project lock is free had its runner die; each establishment is one
 * transaction and applying one twice changes nothing, so the job is simply run again from its
 * archive (kept on disk until the job ends), or failed when the archive is gone or after
 * MAX_ATTEMPTS starts. No establishment is ever half-applied.
 */

export const MAX_ATTEMPTS = 3;
const LOCK_CLASS = 7_120_601;
const PROGRESS_EVERY_MS = 500;

/**
 * Runs `fn` holding the ENT project's advisory lock (PostgreSQL), on a connection of its own for
 * the whole run; waits for it when `wait` (until `stop` says so), else gives undefined when another
 * process holds it. PGlite is one process: nothing to lock across.
 */
export async function withProjectLock<T>(
  database: DatabaseHandle,
  entId: string,
  o: { wait: boolean; stop?: () => boolean },
  fn: () => Promise<T>,
): Promise<T | undefined> {
  if (database.kind !== 'postgres') return fn();
  return database.db.connection().execute(async (conn) => {
    for (;;) {
      const r = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${entId})) as ok`.execute(conn);
      if (r.rows[0]!.ok) break;
      if (!o.wait || o.stop?.()) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    try {
      return await fn();
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${entId}))`.execute(conn);
    }
  });
}

export interface FeedJobsOptions {
  database: DatabaseHandle;
  clock: () => Date;
  log: FastifyBaseLogger;
  parallel: number;
}

export class FeedJobRunner {
  private readonly queue: Array<{ id: string; entId: string }> = [];
  private readonly busyProjects = new Set<string>();
  private readonly active = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly o: FeedJobsOptions) {}

  private get db() {
    return this.o.database.db;
  }

  /** At start: jobs left queued are queued again; jobs left running by a dead runner are taken up or failed. */
  async resume(): Promise<void> {
    // Decided for every job before any starts: a started job holds its project's lock.
    const toRun: Array<{ id: string; entId: string }> = [];
    for (const job of await jobs.unfinishedJobs(this.db)) {
      if (job.state === 'running') {
        const free = await this.withProjectLock(job.ent_id, false, async () => {
          const now = this.o.clock();
          if (!job.archive_path || !existsSync(job.archive_path)) {
            await jobs.finishJob(this.db, job.id, { state: 'failed', error: 'interrupted, and its archive is no longer on disk: send the export again' }, now);
          } else if (job.attempts >= MAX_ATTEMPTS) {
            await jobs.finishJob(this.db, job.id, { state: 'failed', error: `interrupted ${job.attempts} times: not started again` }, now);
            await rm(job.archive_path, { force: true });
          } else {
            await jobs.requeueJob(this.db, job.id, now);
            this.o.log.warn({ job: job.id, attempts: job.attempts }, 'export job interrupted by a stop: started again');
            return true;
          }
          this.o.log.warn({ job: job.id }, 'export job interrupted by a stop: failed');
          return false;
        });
        if (free) toRun.push({ id: job.id, entId: job.ent_id });
      } else if (job.archive_path && existsSync(job.archive_path)) {
        toRun.push({ id: job.id, entId: job.ent_id });
      }
    }
    for (const job of toRun) this.submit(job.id, job.entId);
  }

  submit(id: string, entId: string): void {
    if (this.stopping || this.queue.some((q) => q.id === id)) return;
    this.queue.push({ id, entId });
    this.pump();
  }

  /** Lets running jobs stop between two establishments; they go back to `queued` for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    await Promise.allSettled([...this.active]);
  }

  /** Resolves when nothing is running or queued in this process (tests, the CLI). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }

  private pump(): void {
    while (!this.stopping && this.active.size < this.o.parallel) {
      const i = this.queue.findIndex((q) => !this.busyProjects.has(q.entId));
      if (i < 0) return;
      const [next] = this.queue.splice(i, 1);
      this.busyProjects.add(next!.entId);
      const run: Promise<void> = this.run(next!.id, next!.entId)
        .catch((err) => this.o.log.error({ job: next!.id, errorClass: (err as Error)?.constructor?.name }, 'export job runner error'))
        .finally(() => {
          this.busyProjects.delete(next!.entId);
          this.active.delete(run);
          this.pump();
        });
      this.active.add(run);
    }
  }

  private withProjectLock<T>(entId: string, wait: boolean, fn: () => Promise<T>): Promise<T | undefined> {
    return withProjectLock(this.o.database, entId, { wait, stop: () => this.stopping }, fn);
  }

  private async run(id: string, entId: string): Promise<void> {
    await this.withProjectLock(entId, true, async () => {
      const job = await jobs.claimJob(this.db, id, this.o.clock());
      if (!job) return; // taken by another runner, or no longer queued
      const path = job.archive_path;
      const log = this.o.log.child({ job: id, ent: entId });
      let lastSave = 0;
      const save = async (report: ImportReport) => {
        const t = Date.now();
        if (report.progress.phase !== 'done' && t - lastSave < PROGRESS_EVERY_MS) return;
        lastSave = t;
        await jobs.saveProgress(this.db, id, report, this.o.clock());
      };
      try {
        const kind = path ? await archiveKind(path).catch(() => undefined) : undefined;
        if (!path || !kind) throw new ArchiveError('the archive is missing or is neither .tar.gz nor .zip');
        const report = await importExport({
          db: this.db,
          ...(this.o.database.postgres ? { postgres: this.o.database.postgres } : {}),
          entId,
          now: this.o.clock(),
          actor: job.created_by,
          files: archiveFiles(path, kind),
          onProgress: save,
          shouldStop: () => this.stopping,
          log: (fields, message) => log.error(fields, message),
        });
        const states = report.establishments.map((e) => e.state);
        const applied = states.filter((s) => s === 'applied').length;
        const state = report.fatal || applied === 0 ? 'failed' : applied === states.length ? 'succeeded' : 'partial';
        await jobs.finishJob(this.db, id, { state, report, ...(report.fatal ? { error: report.fatal } : {}) }, this.o.clock());
        log.info({ state, establishments: states.length, applied, problems: report.problemCount }, 'export job finished');
        await rm(path, { force: true });
      } catch (err) {
        if (err instanceof StoppedError) {
          // Whatever was applied stays applied; the job starts again (idempotently) at the next start.
          await jobs.finishJob(this.db, id, { state: 'queued', keepArchive: true }, this.o.clock());
          log.warn('export job stopped with the app: queued for the next start');
          return;
        }
        const error = err instanceof ArchiveError ? err.message : 'the job stopped on an internal error (see the service log)';
        if (!(err instanceof ArchiveError)) log.error({ errorClass: (err as Error)?.constructor?.name, sqlState: (err as { code?: unknown }).code }, 'export job failed');
        await jobs.finishJob(this.db, id, { state: 'failed', error }, this.o.clock());
        if (path) await rm(path, { force: true });
      }
    });
  }
}
