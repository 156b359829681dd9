import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import * as repo from '../directory/directory.repository.js';
import type { ManagerRow } from '../directory/directory.rows.js';
import type { FeedResult, SnapshotBody } from '../directory/directory.schemas.js';
import { applySnapshot } from '../directory/directory.service.js';
import { feedPoolStarted, runOffLoop } from '../directory/feed-pool.js';
import type { ExportFileOutcome } from './export-file.js';
import { Spill } from './spill.js';
import type { EstablishmentHeader } from './establishment-snapshot.js';
import { gatherAndApply, type EstablishmentApplied } from './establishment-apply.js';

/*
 * A nightly export of one ENT project, applied establishment by establishment, in two passes so that
 * memory does not grow with the archive. First every file is read (on the feed worker pool, two at
 * a time) and its records, split by establishment, are appended to one spill file per establishment
 * on disk; only a summary per establishment stays in memory. Then each establishment named by a
 * GAREtab record is read back alone and applied as a complete JSON snapshot of it (applySnapshot:
 * one transaction, whole or not at all, people absent from the export marked gone, groups that
 * disappear keep their assignments detached). A bad record holds back the establishments it names,
 * and only those. Used by the background job and by `npm run import`.
 */

export const PROBLEMS_KEPT = 100;

/** Files read ahead of the one being spilled (the pool has two threads). */
const READ_AHEAD = 2;

export interface Problem {
  file?: string;
  uai?: string;
  path: string;
  message: string;
}

export type EstablishmentState = 'pending' | 'applied' | 'failed' | 'refused';

export interface EstablishmentOutcome {
  uai: string;
  name: string | null;
  state: EstablishmentState;
  files: number;
  records: number;
  people: number;
  problemCount: number;
  reason?: string;
  result?: FeedResult;
}

export interface ImportProgress {
  phase: 'counting' | 'reading' | 'applying' | 'done';
  files: { done: number; total: number };
  records: { read: number; applied: number; total: number | null };
  establishments: { done: number; total: number | null };
}

export interface ImportReport {
  progress: ImportProgress;
  establishments: EstablishmentOutcome[];
  problems: Problem[];
  problemCount: number;
  /** Set when nothing could be applied at all (an unreadable archive, a file naming no establishment). */
  fatal?: string;
}

export interface ExportFiles {
  /** How many XML files there are (a first, cheap pass). */
  count(): Promise<number>;
  entries(): AsyncIterable<{ name: string; text?: string }>;
}

export interface ImportOptions {
  db: Kysely<Database>;
  entId: string;
  now: Date;
  actor: string;
  files: ExportFiles;
  onProgress?: (report: ImportReport) => void | Promise<void>;
  /** Where an establishment the database refused is reported (error code only: messages may echo input). */
  log?: (fields: Record<string, unknown>, message: string) => void;
  /** Asked between establishments: true stops before the next one (the app is closing). */
  shouldStop?: () => boolean;
  /** Where the per-establishment spill files go (a fresh folder inside it, removed at the end). */
  spillDir?: string;
  /** Where a feed thread may open its own connection (PostgreSQL): establishments are then applied there. */
  postgres?: { url: string; statementTimeoutMs?: number };
  /** Filled with the most directory records held in memory at once (what the tests check streaming by). */
  held?: { peak: number };
}

/** What the export says about one establishment, kept in memory for all of them (no records). */
interface Summary {
  name: string | null;
  hasEtab: boolean;
  primary: boolean;
  files: Set<string>;
  records: number;
  people: number;
  problems: number;
  failed?: string;
}

export class StoppedError extends Error {}

type Read = { name: string; outcome?: ExportFileOutcome; error?: unknown };

export async function importExport(o: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = {
    progress: { phase: 'counting', files: { done: 0, total: 0 }, records: { read: 0, applied: 0, total: null }, establishments: { done: 0, total: null } },
    establishments: [],
    problems: [],
    problemCount: 0,
  };
  const problem = (p: Problem) => {
    report.problemCount++;
    if (report.problems.length < PROBLEMS_KEPT) report.problems.push(p);
  };
  const progress = async () => o.onProgress?.(report);
  const hold = (records: number) => {
    if (o.held && records > o.held.peak) o.held.peak = records;
  };
  const managers = new Map<string, ManagerRow>();
  let respAffFiles = 0;
  const est = new Map<string, Summary>();
  const at = (uai: string) =>
    est.get(uai) ?? est.set(uai, { name: null, hasEtab: false, primary: false, files: new Set(), records: 0, people: 0, problems: 0 }).get(uai)!;
  const fail = (uai: string, reason: string) => {
    const g = at(uai);
    g.problems++;
    g.failed ??= reason;
  };

  const spill = await Spill.open(o.spillDir);
  try {
    await progress();
    report.progress.files.total = await o.files.count();
    report.progress.phase = 'reading';
    await progress();

    const take = async ({ name, outcome, error }: Read) => {
      if (!outcome) throw error;
      report.progress.files.done++;
      if (!outcome.ok) {
        const p = outcome.problem;
        problem({ file: p.file, path: p.path, message: p.message });
        if (p.uais.length === 0) report.fatal ??= `${name} could not be read and names no establishment: nothing applied (a complete export without it would mark its people gone)`;
        for (const uai of p.uais) fail(uai, `${name} could not be read`);
      } else {
        hold(outcome.records);
        for (const [uai, share] of Object.entries(outcome.shares)) {
          const g = at(uai);
          g.files.add(name);
          g.records += share.records;
          g.people += share.people;
          if (share.name !== undefined) Object.assign(g, { name: share.name, hasEtab: true });
          if (share.primary) g.primary = true;
          await spill.append(uai, share.lines);
        }
        for (const m of outcome.managers) managers.set(m.person_id, m);
        if (outcome.kind.endsWith('RespAff')) respAffFiles++;
        report.progress.records.read += outcome.records;
        for (const p of outcome.problems) {
          const uais = p.uais.length ? p.uais : outcome.uais;
          problem({ file: p.file, ...(uais.length === 1 ? { uai: uais[0] } : {}), path: p.path, message: p.message });
          if (uais.length === 0) report.fatal ??= `${name}: a record names no readable establishment (${p.path})`;
          for (const uai of uais) fail(uai, 'invalid records');
        }
      }
      await progress();
    };
    // A file is parsed on a thread while the previous one is spilled; a failure is kept, not left unhandled.
    const reading: Array<Promise<Read>> = [];
    for await (const entry of o.files.entries()) {
      reading.push(
        runOffLoop<ExportFileOutcome>({ kind: 'gar-ent-export', name: entry.name, text: entry.text ?? '', today: o.now.getTime() }).then(
          (outcome) => ({ name: entry.name, outcome }),
          (error: unknown) => ({ name: entry.name, error }),
        ),
      );
      if (reading.length >= READ_AHEAD) await take(await reading.shift()!);
    }
    while (reading.length) await take(await reading.shift()!);

    // Scope: only the caller's establishments are touched; anything else is reported, not applied.
    const uais = [...est.keys()].sort();
    const owned = new Set((await repo.findEstablishments(o.db, uais)).filter((r) => r.ent_id === o.entId).map((r) => r.uai));
    report.establishments = uais.map((uai) => {
      const g = est.get(uai)!;
      const outcome: EstablishmentOutcome = { uai, name: g.name, state: 'pending', files: g.files.size, records: g.records, people: g.people, problemCount: g.problems };
      if (!owned.has(uai)) {
        Object.assign(outcome, { state: 'refused', reason: 'not attached to your ENT project' });
        problem({ uai, path: '/', message: 'establishment not attached to your ENT project: not applied' });
      } else if (report.fatal) {
        Object.assign(outcome, { state: 'failed', reason: report.fatal });
      } else if (g.failed) {
        Object.assign(outcome, { state: 'failed', reason: g.failed });
      } else if (!g.hasEtab) {
        // A complete export has a GAREtab record for each of its establishments; one named only by a
        // person's profile is not in the export, and applying it as complete would empty it.
        Object.assign(outcome, { state: 'refused', reason: 'named by records but has no GAREtab record in the export: not applied' });
        problem({ uai, path: '/', message: 'no GAREtab record for this establishment in the export: not applied' });
      }
      return outcome;
    });
    report.progress.records.total = report.progress.records.read;
    report.progress.establishments.total = uais.length;
    report.progress.establishments.done = report.establishments.filter((e) => e.state !== 'pending').length;
    report.progress.phase = 'applying';
    await progress();

    /** The event-loop path (embedded database, scripts): the same steps as on a feed thread. */
    const applyHere = async (uai: string, header: EstablishmentHeader): Promise<EstablishmentApplied> =>
      gatherAndApply(uai, header, await spill.read(uai), (body) =>
        applySnapshot({ db: o.db, entId: o.entId, uai, now: o.now, schemaErrors: [], actor: o.actor }, body),
      );

    for (const outcome of report.establishments) {
      if (outcome.state !== 'pending') {
        await spill.drop(outcome.uai);
        continue;
      }
      if (o.shouldStop?.()) throw new StoppedError('stopped before all establishments were applied');
      const s = est.get(outcome.uai)!;
      const header = { name: s.name, primary: s.primary };
      try {
        // PostgreSQL, in a server: gathered and applied on a feed thread, on a connection of its own.
        const applied = o.postgres && feedPoolStarted()
          ? await runOffLoop<EstablishmentApplied>({
              kind: 'export-establishment',
              uai: outcome.uai,
              ...(spill.fileOf(outcome.uai) ? { file: spill.fileOf(outcome.uai) } : {}),
              header,
              apply: { ...o.postgres, entId: o.entId, actor: o.actor, now: o.now.getTime() },
            })
          : await applyHere(outcome.uai, header);
        await spill.drop(outcome.uai);
        hold(applied.records);
        outcome.people = applied.people;
        if (applied.result) {
          outcome.result = applied.result;
          outcome.state = 'applied';
        } else if (applied.invalid) {
          outcome.state = 'failed';
          outcome.problemCount += applied.invalid.count;
          outcome.reason = `${applied.invalid.count} invalid item(s)`;
          for (const e of applied.invalid.errors) problem({ uai: outcome.uai, ...e });
          report.problemCount += applied.invalid.count - applied.invalid.errors.length;
        } else {
          // A database error may echo input (a name, a date): the reason says what failed, not the values.
          outcome.state = 'failed';
          outcome.reason = 'the database refused the establishment (see the service log)';
          outcome.problemCount++;
          problem({ uai: outcome.uai, path: '/', message: outcome.reason });
          o.log?.({ uai: outcome.uai, sqlState: applied.failed?.sqlState, errorClass: applied.failed?.errorClass }, 'export: establishment not applied');
        }
      } finally {
        report.progress.establishments.done++;
        report.progress.records.applied += outcome.records;
        await progress();
      }
    }
  } finally {
    await spill.close();
  }

  // Responsables d'affectation, for the establishments applied. When the export has RespAff files (the
  // section is there), whoever it no longer names loses those establishments, as absent people are
  // marked gone; an export without any leaves them as stored, as a snapshot without a section does.
  const applied = new Set(report.establishments.filter((e) => e.state === 'applied').map((e) => e.uai));
  const rows = [...managers.values()].map((m) => ({ ...m, uais: m.uais.filter((u) => applied.has(u)) })).filter((m) => m.uais.length);
  if (rows.length || (respAffFiles && applied.size)) {
    await o.db.transaction().execute(async (trx) => {
      if (rows.length) await repo.upsertAssignmentManagers(trx, o.entId, rows, o.now);
      if (respAffFiles) await repo.withdrawAssignmentManagers(trx, o.entId, [...applied], rows.map((m) => m.person_id), o.now);
    });
  }

  report.progress.phase = 'done';
  await progress();
  return report;
}
