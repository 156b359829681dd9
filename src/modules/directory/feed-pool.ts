import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AppError } from '../../errors.js';
import { guardedBodies } from '../../plugins/input-guard.js';
import { checkedBodies, type FeedChecks } from './feed-checks.js';
import type { FeedResult } from './directory.schemas.js';
import { databaseError } from './feed-apply.js';
import { withFeedSlot } from './feed-slots.js';
import { runFeedTask, type AppliedSnapshot, type FeedOutcome, type FeedTask } from './feed.worker.js';

/** Feeds parsed at once, each on its own thread; more wait in the pool's queue. */
export const FEED_THREADS = 2;

/** Below this size a body is parsed inline: a few milliseconds at most, less than the hop to a thread. */
export const INLINE_MAX = 256 * 1024;

/** The worker file next to this one: .ts under tsx (tests, `npm start`), .js once built. */
const workerFile = () => fileURLToPath(new URL(`./feed.worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

let pool: Piscina | undefined;

/**
 * One pool per process, shared by every app instance. No thread starts until a large body arrives:
 * a thread's first start loads the code (tens of milliseconds built, seconds under tsx), which most
 * processes (tests, tools, a replica that receives no feed) never need, and an app's start must not
 * wait for it (under load it outlasted Fastify's plugin timeout). Idle threads exit after a minute
 * and never hold the process open.
 */
/** Whether feed threads may be used here (a server); scripts and tools run everything inline. */
export const feedPoolStarted = () => pool !== undefined;

export async function startFeedPool(): Promise<void> {
  pool ??= new Piscina({ filename: workerFile(), maxThreads: FEED_THREADS, minThreads: 0, idleTimeout: 60_000 });
}

/** Feed bodies handed to a parser since the process started (what tests count to prove a body was never read). */
export const feedParses = { count: 0 };

/** Snapshots and export establishments applied on a feed thread since the process started (tests tell the two paths apart by it). */
export const threadApplies = { count: 0 };

/** Snapshots applied on a feed thread: the body the route receives in their place, and their outcome. */
export const appliedSnapshots = new WeakMap<object, FeedResult>();

/**
 * Runs a feed task off the event loop (inline when small, or when no pool is started, e.g. in a
 * script). A task that may apply a snapshot takes a feed slot, as a feed written on the main thread
 * does; inline, it is only parsed and checked, and the route applies it with the app's pool.
 */
export async function runOffLoop<T>(task: FeedTask): Promise<T> {
  feedParses.count++;
  const size = task.kind === 'json-bytes' ? task.blocks.reduce((n, b) => n + b.byteLength, 0) : task.kind === 'export-establishment' ? Infinity : task.text.length;
  const onThread = pool !== undefined && size > INLINE_MAX;
  let outcome: FeedOutcome;
  if (!onThread) {
    outcome = await runFeedTask(task.kind === 'json-bytes' ? { ...task, apply: undefined } : task);
  } else {
    const run = () => pool!.run(task, { transferList: transferable(task) }) as Promise<FeedOutcome>;
    outcome = (task.kind === 'json-bytes' && task.apply) || task.kind === 'export-establishment' ? await withFeedSlot(run) : await run();
    if (task.kind === 'export-establishment') threadApplies.count++;
  }
  if (!outcome.ok) {
    if ('database' in outcome) throw databaseError(outcome.database);
    throw new AppError(outcome.status, outcome.code, outcome.title, outcome.detail, outcome.extra);
  }
  if (task.kind === 'json-bytes') {
    const value = outcome.value as { body: unknown; checks?: FeedChecks } | AppliedSnapshot;
    if ('applied' in value) {
      threadApplies.count++;
      const stand = {};
      guardedBodies.add(stand);
      checkedBodies.set(stand, { schemaErrors: [] });
      appliedSnapshots.set(stand, value.applied);
      return stand as T;
    }
    const { body, checks } = value;
    if (typeof body === 'object' && body !== null) {
      guardedBodies.add(body);
      if (checks) checkedBodies.set(body, checks);
    }
    return body as T;
  }
  return outcome.value as T;
}

/**
 * A body's blocks are moved to the thread rather than copied (copying 20 MiB is a stall of its own);
 * feed-body.ts makes each block a whole buffer of its own, the only kind that can move.
 */
function transferable(task: FeedTask): ArrayBuffer[] | undefined {
  if (task.kind !== 'json-bytes') return undefined;
  const own = task.blocks.filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer);
  return own.map((b) => b.buffer as ArrayBuffer);
}
