import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../../db/database.js';
import { markUnreachable, pg, UNREACHABLE } from '../../db/pg-types.js';
import { applySnapshot } from './directory.service.js';
import type { FeedResult, SnapshotBody } from './directory.schemas.js';

/*
 * A checked snapshot applied on the feed thread that parsed it, on a connection of its own: the
 * diff against what is stored, the rows written and read back, and their garbage (hundreds of MiB for
 * 17,000 people) stay off the event loop that serves SSO. PostgreSQL only; the embedded database
 * has one connection, owned by the main thread, and keeps the main-thread path.
 */

export interface ApplyTarget {
  url: string;
  statementTimeoutMs?: number;
  entId: string;
  actor: string;
  now: number;
}

/** A database error as data: pg's fields the error handler reads (SQLSTATE, where), never across as a class. */
export interface DatabaseFailure {
  message: string;
  code?: string;
  severity?: string;
  routine?: string;
  table?: string;
  column?: string;
  constraint?: string;
  /** The connection could not be opened: an outage (503), as for the server's own pool. */
  unreachable?: boolean;
}

/**
 * `rulesChecked`: the feed rules already ran on this thread (a JSON snapshot's checks); otherwise
 * (an establishment of a nightly export) applySnapshot runs them, against the stored directory.
 */
export async function applySnapshotHere(uai: string, body: SnapshotBody, target: ApplyTarget, { rulesChecked }: { rulesChecked: boolean }): Promise<FeedResult> {
  // One connection per feed, closed after it: a thread keeps nothing open between feeds (a test's
  // database can be dropped, a replica's connection count stays the pool's plus the feeds running).
  const client = new pg.Client({
    connectionString: target.url,
    connectionTimeoutMillis: 5_000,
    application_name: 'gar-broker feed',
    ...(target.statementTimeoutMs ? { statement_timeout: target.statementTimeoutMs } : {}),
  });
  client.on('error', () => {});
  await client.connect().catch((err: unknown) => {
    throw markUnreachable(err);
  });
  const single = { connect: async () => Object.assign(client, { release: () => {} }), end: async () => {} };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: single as never }) });
  try {
    return await applySnapshot(
      { db, entId: target.entId, uai, now: new Date(target.now), schemaErrors: [], ...(rulesChecked ? { ruleErrors: [] } : {}), actor: target.actor },
      body,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export function databaseFailure(err: unknown): DatabaseFailure | undefined {
  const e = err as Partial<Record<keyof DatabaseFailure, unknown>> | null;
  if (!e || typeof e !== 'object' || (typeof e.code !== 'string' && !(err as { [UNREACHABLE]?: boolean })[UNREACHABLE])) return undefined;
  const pick = (k: keyof DatabaseFailure) => (typeof e[k] === 'string' ? { [k]: e[k] } : {});
  const unreachable = (err as { [UNREACHABLE]?: boolean })[UNREACHABLE] === true;
  return { message: String(e.message ?? ''), ...(unreachable ? { unreachable } : {}), ...pick('code'), ...pick('severity'), ...pick('routine'), ...pick('table'), ...pick('column'), ...pick('constraint') };
}

/** The worker's failure rebuilt as an error the one error handler maps as it maps the pool's. */
export function databaseError({ unreachable, ...f }: DatabaseFailure): Error {
  const err = Object.assign(new Error(f.message), f);
  return (unreachable ? markUnreachable(err) : err) as Error;
}
