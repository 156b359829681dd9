/*
 * Directory feeds write in long transactions (a 17,000-person snapshot holds its connection for
 * seconds). At most FEED_WRITERS of them run at once in a process; the others wait here, not in the
 * database pool, so SSO always finds connections free whatever the ENTs send at once.
 */
export const FEED_WRITERS = 2;

let running = 0;
const waiting: Array<() => void> = [];

/** Feeds waiting for a slot (metrics, tests). */
export const feedSlots = { get running() { return running; }, get waiting() { return waiting.length; } };

export async function withFeedSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= FEED_WRITERS) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    // The slot passes straight to the next waiter (running unchanged), or is freed.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}
