import { readFile } from 'node:fs/promises';
import { AppError, type FieldError } from '../../errors.js';
import type { FeedResult, SnapshotBody } from '../directory/directory.schemas.js';
import { applySnapshotHere, type ApplyTarget } from '../directory/feed-apply.js';
import { Gathered } from './establishment-share.js';
import { refusedItems, snapshotOf, type EstablishmentHeader } from './establishment-snapshot.js';

/*
 * One establishment of a nightly export, read back from its spill file, gathered and applied on a
 * feed thread (PostgreSQL): the event loop never holds its 2,000 people, nor the diff's rows.
 */

export interface EstablishmentTask {
  kind: 'export-establishment';
  uai: string;
  /** Its spill file; absent when the export gave it no lines. */
  file?: string;
  header: EstablishmentHeader;
  apply: ApplyTarget;
  text?: undefined;
}

export interface EstablishmentApplied {
  people: number;
  records: number;
  result?: FeedResult;
  /** Refused as invalid: first errors (readable paths) and their count. */
  invalid?: { errors: FieldError[]; count: number };
  /** Refused by the database or failed otherwise: what may be logged (never a message, which may echo values). */
  failed?: { sqlState?: string; errorClass?: string };
}

/** Gathers an establishment's lines into its snapshot and applies it with `apply`; the outcome is returned, never thrown. */
export async function gatherAndApply(uai: string, header: EstablishmentHeader, text: string, apply: (body: SnapshotBody) => Promise<FeedResult>): Promise<EstablishmentApplied> {
  const g = new Gathered().add(text);
  const { body, orphans } = snapshotOf(uai, header, g);
  const base = { people: g.placements.size, records: g.records };
  try {
    if (orphans.length) throw new AppError(400, 'validation', 'Invalid request', 'references', { errors: orphans });
    return { ...base, result: await apply(body) };
  } catch (err) {
    if (err instanceof AppError && err.status < 500) return { ...base, invalid: refusedItems(err, body) };
    const code = (err as { code?: unknown })?.code;
    return { ...base, failed: { ...(typeof code === 'string' ? { sqlState: code } : {}), errorClass: (err as Error)?.constructor?.name ?? typeof err } };
  }
}

/** On a feed thread: reads the spill file itself, applies on a connection of its own. */
export async function applyEstablishmentHere(task: EstablishmentTask): Promise<EstablishmentApplied> {
  const text = task.file ? await readFile(task.file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err))) : '';
  return gatherAndApply(task.uai, task.header, text, (body) => applySnapshotHere(task.uai, body, task.apply, { rulesChecked: false }));
}
