import { setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/*
 * Imported first by feed.worker.ts, for its side effect: a feed thread lowers its own priority before
 * the rest of the feed code (the directory service, kysely, pg, the parsers: a few hundred
 * milliseconds of CPU when a thread starts) is evaluated at the priority of the event loop that
 * serves SSO. On the main thread (a small body parsed inline) it does nothing.
 *
 * A feed can wait a few milliseconds, a pupil's SSO should not. On Linux, setpriority() on the calling
 * thread renices that thread alone (elsewhere it would renice the whole process: left alone there).
 */
export const FEED_THREAD_NICE = 10;
if (!isMainThread && process.platform === 'linux') {
  try {
    setPriority(FEED_THREAD_NICE);
  } catch {
    // Not allowed (a sandbox): the thread runs at the process's priority.
  }
}
