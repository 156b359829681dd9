import { existsSync, mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/*
 * The embedded PGlite of `npm start` runs on a worker thread. Its WebAssembly start (about a second)
 * then overlaps the loading of the application on the main thread, and at run time a slow embedded
 * query no longer holds the event loop. The client below has the part of PGlite's interface that the
 * kysely dialect and the handle use: query(sql, params), close(), closed.
 */

export interface PgliteThreadOptions {
  dir: string | undefined;
  /** A new data directory starts from the prepared, migrated image (read on the thread). */
  fromImage: boolean;
}

export type PgliteRequest = { id: number; kind: 'query'; sql: string; params: unknown[] } | { id: number; kind: 'close' };

export type PgliteReply =
  | { id: number; ok: true; result?: { rows: unknown[]; affectedRows?: number | undefined; fields: unknown[] } }
  | { id: number; ok: false; error: Record<string, unknown> };

export interface PgliteThreadClient {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number | undefined; fields: unknown[] }>;
  close(): Promise<void>;
  readonly closed: boolean;
}

/** Where an embedded database lives under DATA_DIR; a new one is loaded from the migrated image. */
export function embeddedDatabaseDir(dataDir: string | undefined): PgliteThreadOptions {
  if (dataDir === undefined) return { dir: undefined, fromImage: true };
  const dir = join(dataDir, 'pgdata');
  const fromImage = !existsSync(join(dir, 'PG_VERSION'));
  mkdirSync(dir, { recursive: true });
  return { dir, fromImage };
}

/** The worker file next to this one: .ts under tsx (tests, scripts), .js in a build. */
const workerFile = () => fileURLToPath(new URL(`./pglite.worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

function rebuild(fields: Record<string, unknown>): Error {
  return Object.assign(new Error(String(fields.message ?? 'embedded database error')), fields);
}

/**
 * Starts the thread at once and returns a client whose queries wait for the database to be open:
 * the caller can build the application meanwhile. `ready` settles when PGlite has started.
 */
export function startPgliteThread(options: PgliteThreadOptions): { client: PgliteThreadClient; ready: Promise<void> } {
  const worker = new Worker(workerFile(), { workerData: options });
  const waiting = new Map<number, { resolve: (r: PgliteReply) => void }>();
  let nextId = 1;
  let closed = false;
  let failure: Error | undefined;

  let opened!: (error?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => (opened = (error) => (error ? reject(error) : resolve())));
  ready.catch(() => undefined); // observed by whoever awaits it; queries carry the error too

  const failAll = (error: Error) => {
    failure ??= error;
    opened(error);
    for (const { resolve } of waiting.values()) resolve({ id: 0, ok: false, error: { message: error.message } });
    waiting.clear();
  };
  worker.on('message', (reply: PgliteReply) => {
    if (reply.id === 0) return opened(reply.ok ? undefined : rebuild(reply.error));
    const entry = waiting.get(reply.id);
    waiting.delete(reply.id);
    entry?.resolve(reply);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the embedded database thread stopped (exit ${code})`)));

  const send = (request: PgliteRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<PgliteReply> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, { resolve });
      worker.postMessage({ ...request, id });
    });
  };

  const client: PgliteThreadClient = {
    async query<T>(sql: string, params: unknown[] = []) {
      const reply = await send({ kind: 'query', sql, params });
      if (!reply.ok) throw rebuild(reply.error);
      return reply.result as { rows: T[]; affectedRows?: number; fields: unknown[] };
    },
    async close() {
      if (closed) return;
      closed = true;
      await send({ kind: 'close' }).catch(() => undefined);
      await worker.terminate();
    },
    get closed() {
      return closed;
    },
  };
  return { client, ready };
}
