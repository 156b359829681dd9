import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { AppError } from '../../errors.js';
import * as repo from '../directory/directory.repository.js';
import type { GroupRow, ManagerRow, PersonRow } from '../directory/directory.rows.js';
import type { FeedResult, SnapshotBody } from '../directory/directory.schemas.js';
import { applySnapshot } from '../directory/directory.service.js';
import { runOffLoop } from '../directory/feed-pool.js';
import type { GarFeed } from '../directory/gar-ent.mapping.js';
import type { ExportFileOutcome } from './export-file.js';

/*
 * A nightly export of one ENT project, applied establishment by establishment. Every file is read
 * (on the feed worker pool), its records gathered per establishment; then each establishment named
 * by a GAREtab record is applied as a complete JSON snapshot of it (applySnapshot: one transaction,
 * whole or not at all, people absent from the export marked gone, groups that disappear keep their
 * assignments detached). A bad record holds back the establishments it names, and only those.
 * Used by the background job and by `npm run import`.
 */

export const PROBLEMS_KEPT = 100;

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
}

/** What the export says about one establishment. */
class Gathered {
  name: string | null = null;
  hasEtab = false;
  primary = false;
  files = new Set<string>();
  records = 0;
  problems = 0;
  failed?: string;
  placements = new Map<string, Set<string>>();
  codes = new Map<string, { mefs: Set<string>; subjects: Set<string> }>();
  groups = new Map<string, GroupRow>();
  memberships = new Map<string, { personId: string; groupCode: string }>();
  teachings = new Map<string, { personId: string; groupCode: string; subjects: Set<string> }>();
  subjects = new Map<string, string>();
  mefs = new Map<string, string>();
}

export class StoppedError extends Error {}

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
  const people = new Map<string, PersonRow>();
  const managers = new Map<string, ManagerRow>();
  const est = new Map<string, Gathered>();
  const at = (uai: string) => est.get(uai) ?? est.set(uai, new Gathered()).get(uai)!;
  const fail = (uai: string, reason: string) => {
    const g = at(uai);
    g.problems++;
    g.failed ??= reason;
  };

  await progress();
  report.progress.files.total = await o.files.count();
  report.progress.phase = 'reading';
  await progress();

  for await (const entry of o.files.entries()) {
    const outcome = await runOffLoop<ExportFileOutcome>({ kind: 'gar-ent-export', name: entry.name, text: entry.text ?? '', today: o.now.getTime() });
    report.progress.files.done++;
    if (!outcome.ok) {
      const p = outcome.problem;
      problem({ file: p.file, path: p.path, message: p.message });
      if (p.uais.length === 0) report.fatal ??= `${entry.name} could not be read and names no establishment: nothing applied (a complete export without it would mark its people gone)`;
      for (const uai of p.uais) fail(uai, `${entry.name} could not be read`);
    } else {
      gather(outcome.feed, entry.name, at, people, managers);
      report.progress.records.read += outcome.feed.records;
      for (const p of outcome.problems) {
        const uais = p.uais.length ? p.uais : [...outcome.feed.uais];
        problem({ file: p.file, ...(uais.length === 1 ? { uai: uais[0] } : {}), path: p.path, message: p.message });
        if (uais.length === 0) report.fatal ??= `${entry.name}: a record names no readable establishment (${p.path})`;
        for (const uai of uais) fail(uai, 'invalid records');
      }
    }
    await progress();
  }

  // Scope: only the caller's establishments are touched; anything else is reported, not applied.
  const uais = [...est.keys()].sort();
  const owned = new Set((await repo.findEstablishments(o.db, uais)).filter((r) => r.ent_id === o.entId).map((r) => r.uai));
  report.establishments = uais.map((uai) => {
    const g = est.get(uai)!;
    const outcome: EstablishmentOutcome = { uai, name: g.name, state: 'pending', files: g.files.size, records: g.records, people: g.placements.size, problemCount: g.problems };
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

  for (const outcome of report.establishments) {
    if (outcome.state !== 'pending') continue;
    if (o.shouldStop?.()) throw new StoppedError('stopped before all establishments were applied');
    const g = est.get(outcome.uai)!;
    const { body, orphans } = snapshotOf(outcome.uai, g, people);
    try {
      if (orphans.length) throw new AppError(400, 'validation', 'Invalid request', 'references', { errors: orphans });
      outcome.result = await applySnapshot({ db: o.db, entId: o.entId, uai: outcome.uai, now: o.now, schemaErrors: [], actor: o.actor }, body);
      outcome.state = 'applied';
    } catch (err) {
      outcome.state = 'failed';
      if (err instanceof AppError && err.status < 500) {
        const list = (err.extra.errors as Array<{ path: string; message: string }> | undefined) ?? [{ path: '/', message: err.detail ?? err.title }];
        outcome.problemCount += list.length;
        outcome.reason = `${list.length} invalid item(s)`;
        for (const e of list) problem({ uai: outcome.uai, path: readablePath(e.path, body), message: e.message });
      } else {
        // A database error may echo input (a name, a date): the reason says what failed, not the values.
        outcome.reason = 'the database refused the establishment (see the service log)';
        outcome.problemCount++;
        problem({ uai: outcome.uai, path: '/', message: outcome.reason });
        o.log?.({ uai: outcome.uai, sqlState: (err as { code?: unknown }).code, errorClass: (err as Error)?.constructor?.name }, 'export: establishment not applied');
      }
    } finally {
      report.progress.establishments.done++;
      report.progress.records.applied += outcome.records;
      await progress();
    }
  }

  // Responsables d'affectation, for the establishments applied (add and update, as the single files do).
  const applied = new Set(report.establishments.filter((e) => e.state === 'applied').map((e) => e.uai));
  const rows = [...managers.values()].map((m) => ({ ...m, uais: m.uais.filter((u) => applied.has(u)) })).filter((m) => m.uais.length);
  if (rows.length) await o.db.transaction().execute((trx) => repo.upsertAssignmentManagers(trx, o.entId, rows, o.now));

  report.progress.phase = 'done';
  await progress();
  return report;
}

function gather(feed: GarFeed & { primarySchools?: string[] }, file: string, at: (uai: string) => Gathered, people: Map<string, PersonRow>, managers: Map<string, ManagerRow>) {
  for (const uai of feed.uais) at(uai).files.add(file);
  for (const p of feed.people) people.set(p.person_id, p);
  for (const e of feed.establishments) Object.assign(at(e.uai), { name: e.name, hasEtab: true }).records++;
  for (const uai of feed.primarySchools ?? []) at(uai).primary = true;
  for (const p of feed.placements) {
    const g = at(p.uai);
    g.records++;
    const set = g.placements.get(p.person_id) ?? g.placements.set(p.person_id, new Set()).get(p.person_id)!;
    for (const x of p.profiles) set.add(x);
  }
  for (const c of feed.placementCodes) {
    const g = at(c.uai);
    g.records++;
    const e = g.codes.get(c.person_id) ?? g.codes.set(c.person_id, { mefs: new Set(), subjects: new Set() }).get(c.person_id)!;
    c.mefs.forEach((x) => e.mefs.add(x));
    c.subjects.forEach((x) => e.subjects.add(x));
  }
  for (const gr of feed.groups) {
    at(gr.uai).records++;
    at(gr.uai).groups.set(gr.code, gr);
  }
  for (const m of feed.memberships) {
    at(m.uai).records++;
    at(m.uai).memberships.set(`${m.person_id}\u0000${m.group_code}`, { personId: m.person_id, groupCode: m.group_code });
  }
  for (const t of feed.teachings) {
    const g = at(t.uai);
    g.records++;
    const key = `${t.person_id}\u0000${t.group_code}`;
    const e = g.teachings.get(key) ?? g.teachings.set(key, { personId: t.person_id, groupCode: t.group_code, subjects: new Set() }).get(key)!;
    t.subjects.forEach((x) => e.subjects.add(x));
  }
  for (const s of feed.subjects) (at(s.uai).records++, at(s.uai).subjects.set(s.code, s.name));
  for (const s of feed.mefs) (at(s.uai).records++, at(s.uai).mefs.set(s.code, s.name));
  for (const m of feed.managers) managers.set(m.person_id, m);
}

/** The establishment's part of the export as the JSON snapshot of it, and codes naming nobody placed there. */
function snapshotOf(uai: string, g: Gathered, people: Map<string, PersonRow>) {
  const orphans = [...g.codes.keys()].filter((id) => !g.placements.has(id)).map((id) => ({ path: `/people/${id}`, message: `MEF or subject codes for "${id}", who has no profile at ${uai}` }));
  const body: SnapshotBody = {
    establishment: { ...(g.name ? { name: g.name } : {}), ...(g.primary ? { degree: 1 as const } : {}) },
    people: [...g.placements].map(([id, profiles]) => {
      const p = people.get(id)!;
      const codes = g.codes.get(id);
      return {
        id,
        lastName: p.last_name,
        firstName: p.first_name,
        otherFirstNames: p.other_first_names,
        ...(p.birth_name ? { birthName: p.birth_name } : {}),
        ...(p.civility ? { civility: p.civility as 'M.' | 'Mme' } : {}),
        ...(p.birth_date ? { birthDate: p.birth_date } : {}),
        ...(p.struct_rattach ? { structRattach: p.struct_rattach } : {}),
        emails: p.emails,
        disciplines: p.disciplines,
        profiles: [...profiles].map((profile) => ({ uai, profile })),
        mefs: [...(codes?.mefs ?? [])],
        subjects: [...(codes?.subjects ?? [])],
      };
    }),
    groups: [...g.groups.values()].map((x) => ({ code: x.code, name: x.name, kind: x.kind, ...(x.divisions.length ? { divisions: x.divisions } : {}) })),
    memberships: [...g.memberships.values()],
    // A primary school has no teachings, subjects or MEF lists: those sections are left out, not emptied.
    ...(g.primary
      ? {}
      : {
          teachings: [...g.teachings.values()].map((t) => ({ personId: t.personId, groupCode: t.groupCode, subjects: [...t.subjects].sort() })),
          subjects: [...g.subjects].map(([code, name]) => ({ code, name })),
          mefs: [...g.mefs].map(([code, name]) => ({ code, name })),
        }),
  };
  return { body, orphans };
}

/** `/people/3/birthDate` of the synthesised snapshot → `/people/E1-000123/birthDate`, which the ENT can find. */
function readablePath(path: string, body: SnapshotBody): string {
  const m = /^\/(people|groups|memberships|teachings|subjects|mefs)\/(\d+)(.*)$/.exec(path);
  if (!m) return path;
  const item = (body[m[1] as keyof SnapshotBody] as unknown[] | undefined)?.[Number(m[2])] as Record<string, unknown> | undefined;
  if (!item) return path;
  const key = 'id' in item ? item.id : 'code' in item ? item.code : `${String(item.personId)}/${String(item.groupCode)}`;
  return `/${m[1]}/${String(key)}${m[3]}`;
}
