import { Kysely, PostgresDialect } from 'kysely';
import { markUnreachable, pg } from './pg-types.js';
import type { Database } from './database.js';
import { readMigratedImage } from './pglite-image.js';
import { embeddedDatabaseDir, type PgliteThreadClient } from './pglite-thread.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /**
   * Runs a compiled query as a named prepared statement, so PostgreSQL plans it once per
   * connection instead of on every call (for hot, complex queries: the SSO decision).
   */
  prepared: <R>(name: string, query: { sql: string; parameters: readonly unknown[] }) => Promise<R[]>;
  /** Pool statistics for readiness and metrics; PGlite has a single connection. */
  poolStats: () => { total: number; idle: number; waiting: number };
  /**
   * How to open another connection to the same PostgreSQL database (absent for PGlite): the feed
   * threads apply large snapshots on connections of their own, off the event loop.
   */
  postgres?: { url: string; statementTimeoutMs?: number };
  close: () => Promise<void>;
}

export { UNREACHABLE, markUnreachable } from './pg-types.js';

export function connectPostgres(connectionString: string, poolSize = 10, options: { statementTimeoutMs?: number } = {}): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    // A runaway statement (a bad plan, a lock wait) gives its connection back instead of holding it
    // forever; the caller gets a 503. Jobs that are long by nature (migrations, retention) lift it
    // for their own transaction.
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    // Fail fast when the database is unreachable: callers get a 503 instead of a hanging request.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'gar-broker',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // A failure to connect is an outage whatever its SQLSTATE (55000 database not accepting
  // connections, 3D000 database gone, 28P01 credentials changed...): marked so that callers get 503.
  // The pool listens for errors only on idle clients: a connection cut while checked out (between
  // two statements of a transaction, or in the same packet as the end of the handshake) would be an
  // unhandled 'error' event, which ends the process. With a listener for the client's whole life, the
  // next query on it fails instead, and the client is dropped when released.
  pool.on('connect', (client) => client.on('error', () => {}));
  const connect = async () => {
    try {
      return await pool.connect();
    } catch (err) {
      throw markUnreachable(err);
    }
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect, end: () => pool.end() } }) });
  return {
    db,
    kind: 'postgres',
    prepared: async (name, q) => {
      const client = await connect();
      try {
        const result = await client.query({ name, text: q.sql, values: q.parameters as unknown[] });
        client.release();
        return result.rows;
      } catch (err) {
        // As pool.query does: a client that failed a query is not reused (it may have lost its connection).
        client.release(err as Error);
        throw err;
      }
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    postgres: { url: connectionString, ...(options.statementTimeoutMs ? { statementTimeoutMs: options.statementTimeoutMs } : {}) },
    close: () => db.destroy(),
  };
}

export async function connectPglite(dataDir: string | undefined): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { dir, fromImage } = embeddedDatabaseDir(dataDir);
  const image = fromImage ? readMigratedImage() : undefined;
  const client = await PGlite.create(dir, image ? { loadDataDir: image } : {});
  return fromPglite(client);
}

/** In-process PGlite (tools, tests) or the server's thread (pglite-thread.ts): what the dialect uses. */
type PGliteClient = Pick<import('@electric-sql/pglite').PGliteInterface, 'query' | 'close' | 'closed'> | PgliteThreadClient;

export async function fromPglite(client: PGliteClient): Promise<DatabaseHandle> {
  const { PGliteDialect } = await import('kysely-pglite-dialect');
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client as never) });
  return {
    db,
    kind: 'pglite',
    prepared: async (_name, q) => (await client.query(q.sql, q.parameters as unknown[])).rows as never,
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close: async () => {
      await db.destroy();
      if (!client.closed) await client.close();
    },
  };
}
