import { AppError } from '../../errors.js';
import { assertAcceptable, unacceptableValues } from '../../plugins/input-guard.js';
import { assertJsonDepth } from '../../plugins/json-body.js';
import type { GarFeed } from './gar-ent.mapping.js';
import { readGarFile } from './gar-ent-1d.mapping.js';
import { readExportFile } from '../feed-jobs/export-file.js';
import { checkFeed, type FeedCheckContext } from './feed-checks.js';

/*
 * Runs in a worker thread (piscina): the CPU-heavy part of a feed — depth scan and JSON.parse of a
 * 20 MiB body, or parsing and mapping a GAR-ENT file — so the event loop that answers SSO never waits
 * on it. Errors cross the thread boundary as plain data (class instances do not).
 */

export type FeedTask =
  | { kind: 'json'; text: string }
  /** A JSON body as received (moved to the thread, not copied): decoded, scanned, parsed and guarded there. */
  | { kind: 'json-bytes'; bytes: Uint8Array; check?: FeedCheckContext; text?: undefined }
  | { kind: 'gar-ent'; text: string; today: number }
  | { kind: 'gar-ent-export'; name: string; text: string; today: number };
export type FeedOutcome =
  | { ok: true; value: unknown }
  | { ok: false; status: number; code: string; title: string; detail?: string; extra: Record<string, unknown> };

export function runFeedTask(task: FeedTask): FeedOutcome {
  try {
    if (task.kind === 'json') {
      assertJsonDepth(task.text);
      return { ok: true, value: JSON.parse(task.text) as unknown };
    }
    if (task.kind === 'json-bytes') {
      const text = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength).toString('utf8');
      assertJsonDepth(text);
      const value = JSON.parse(text) as unknown;
      // The input guard's walk of the body, here rather than on the event loop (same answer).
      assertAcceptable(unacceptableValues(value, 'body'));
      return { ok: true, value: { body: value, ...(task.check ? { checks: checkFeed(value, task.check) } : {}) } };
    }
    // One file of a nightly export: problems are returned (with their establishments), not thrown.
    if (task.kind === 'gar-ent-export') return { ok: true, value: readExportFile(task.name, task.text, new Date(task.today)) };
    // GAR-ENT or GAR-ENT-1D, told apart by namespace.
    const feed: GarFeed = readGarFile(task.text, new Date(task.today));
    return { ok: true, value: feed };
  } catch (err) {
    if (err instanceof AppError) return { ok: false, status: err.status, code: err.code, title: err.title, ...(err.detail ? { detail: err.detail } : {}), extra: err.extra };
    if (err instanceof SyntaxError) return { ok: false, status: 400, code: 'bad-request', title: 'Bad request', detail: 'the body is not valid JSON', extra: {} };
    throw err;
  }
}

export default runFeedTask;
