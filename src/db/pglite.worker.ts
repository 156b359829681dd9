import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';
import type { PgliteRequest, PgliteReply, PgliteThreadOptions } from './pglite-thread.js';

/*
 * The embedded database on its own thread (see pglite-thread.ts): opens PGlite on the data
 * directory and answers queries one message at a time, in arrival order.
 */

const options = workerData as PgliteThreadOptions;

async function open(): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { readMigratedImage } = await import('./pglite-image.js');
  const image = options.fromImage ? readMigratedImage() : undefined;
  return PGlite.create(options.dir, image ? { loadDataDir: image } : {});
}

/** A database error as plain fields: its SQLSTATE and names survive the hop, an Error's class would not. */
function describe(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const fields: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [key, value] of Object.entries(err)) if (value === undefined || ['string', 'number'].includes(typeof value)) fields[key] = value;
  return fields;
}

const opening = open();
const port = parentPort!;
let queue = Promise.resolve();

port.on('message', (request: PgliteRequest) => {
  queue = queue.then(async () => {
    let reply: PgliteReply;
    try {
      const client = await opening;
      if (request.kind === 'close') {
        await client.close();
        reply = { id: request.id, ok: true };
      } else {
        const result = await client.query(request.sql, request.params);
        reply = { id: request.id, ok: true, result: { rows: result.rows as unknown[], affectedRows: result.affectedRows, fields: result.fields } };
      }
    } catch (err) {
      reply = { id: request.id, ok: false, error: describe(err) };
    }
    port.postMessage(reply);
  });
});

opening.then(
  () => port.postMessage({ id: 0, ok: true } satisfies PgliteReply),
  (err: unknown) => port.postMessage({ id: 0, ok: false, error: describe(err) } satisfies PgliteReply),
);
