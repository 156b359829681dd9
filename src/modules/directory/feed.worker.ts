// First, before the modules below are evaluated: a feed thread runs at a lower priority.
import './feed-thread-priority.js';
import { AppError } from '../../errors.js';
import { assertAcceptable, unacceptableValues } from '../../plugins/input-guard.js';
import { assertJsonDepth } from '../../plugins/json-body.js';
import type { GarFeed } from './gar-ent.mapping.js';
import { readGarFile } from './gar-ent-1d.mapping.js';
import { readExportFile } from '../feed-jobs/export-file.js';
import { checkFeed, type FeedCheckContext, type FeedChecks } from './feed-checks.js';
import { applySnapshotHere, databaseFailure, type ApplyTarget, type DatabaseFailure } from './feed-apply.js';
import type { FeedResult, SnapshotBody } from './directory.schemas.js';
import { invalidFeed } from './directory.validation.js';
import { joined } from './feed-body.js';
import { applyEstablishmentHere, type EstablishmentTask } from '../feed-jobs/establishment-apply.js';

/*
 * Runs in a feed thread (piscina, entered through feed.thread.ts), or inline for a small body: the CPU-heavy part of a feed — depth scan and JSON.parse of a
 * 20 MiB body, or parsing and mapping a GAR-ENT file — so the event loop that answers SSO never waits
 * on it. Errors cross the thread boundary as plain data (class instances do not).
 */

export type FeedTask =
  | { kind: 'json'; text: string }
  /** A JSON body as received, in blocks (moved to the thread, not copied): joined, decoded, scanned, parsed and guarded there. */
  | { kind: 'json-bytes'; blocks: Uint8Array[]; check?: FeedCheckContext; text?: undefined; apply?: ApplyTarget }
  | { kind: 'gar-ent'; text: string; today: number }
  | { kind: 'gar-ent-export'; name: string; text: string; today: number }
  | EstablishmentTask;
export type FeedOutcome =
  | { ok: true; value: unknown }
  | { ok: false; status: number; code: string; title: string; detail?: string; extra: Record<string, unknown> }
  | { ok: false; database: DatabaseFailure };

/** What a snapshot checked whole on the thread comes back as: its outcome, never its body. */
export interface AppliedSnapshot {
  applied: FeedResult;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A snapshot whose every check ran here ends here: refused with its capped errors, or applied when
 * the task carries a database to apply it to. Either way the body never goes back to the event loop
 * (structured-cloning 20 MiB of objects there was itself a stall of a quarter of a second).
 */
function settledHere(body: unknown, checks: FeedChecks, task: { check?: FeedCheckContext; apply?: ApplyTarget }): FeedOutcome | Promise<FeedOutcome> | undefined {
  if (task.check?.route !== 'snapshot' || !checks.ruleErrors || !isRecord(body)) return undefined;
  const problems = [...checks.schemaErrors, ...checks.ruleErrors];
  if (problems.length) return failure(invalidFeed(problems));
  if (!task.apply) return undefined;
  return applySnapshotHere(task.check.uai, body as unknown as SnapshotBody, task.apply, { rulesChecked: true }).then(
    (applied): FeedOutcome => ({ ok: true, value: { applied } satisfies AppliedSnapshot }),
    (err: unknown): FeedOutcome => {
      if (err instanceof AppError) return failure(err);
      const database = databaseFailure(err);
      if (database) return { ok: false, database };
      throw err;
    },
  );
}

const failure = (err: AppError): FeedOutcome => ({ ok: false, status: err.status, code: err.code, title: err.title, ...(err.detail ? { detail: err.detail } : {}), extra: err.extra });

export function runFeedTask(task: FeedTask): FeedOutcome | Promise<FeedOutcome> {
  try {
    if (task.kind === 'json') {
      assertJsonDepth(task.text);
      return { ok: true, value: JSON.parse(task.text) as unknown };
    }
    if (task.kind === 'json-bytes') {
      const text = joined(task.blocks).toString('utf8');
      assertJsonDepth(text);
      const value = JSON.parse(text) as unknown;
      // The input guard's walk of the body, here rather than on the event loop (same answer).
      assertAcceptable(unacceptableValues(value, 'body'));
      const checks = task.check ? checkFeed(value, task.check) : undefined;
      return (checks && settledHere(value, checks, task)) || { ok: true, value: { body: value, ...(checks ? { checks } : {}) } };
    }
    // One establishment of a nightly export, applied here: its outcome is returned, never thrown.
    if (task.kind === 'export-establishment') return applyEstablishmentHere(task).then((value): FeedOutcome => ({ ok: true, value }));
    // One file of a nightly export: problems are returned (with their establishments), not thrown.
    if (task.kind === 'gar-ent-export') return { ok: true, value: readExportFile(task.name, task.text, new Date(task.today)) };
    // GAR-ENT or GAR-ENT-1D, told apart by namespace.
    const feed: GarFeed = readGarFile(task.text, new Date(task.today));
    return { ok: true, value: feed };
  } catch (err) {
    if (err instanceof AppError) return failure(err);
    if (err instanceof SyntaxError) return { ok: false, status: 400, code: 'bad-request', title: 'Bad request', detail: 'the body is not valid JSON', extra: {} };
    throw err;
  }
}

export default runFeedTask;
