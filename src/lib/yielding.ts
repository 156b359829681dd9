import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * `items.map(fn)` that gives the event loop back every `slice` items: for per-item work (hashing,
 * building rows) over tens of thousands of items, so requests waiting meanwhile (SSO) are not held
 * for the whole list.
 */
export async function mapYielding<T, R>(items: readonly T[], fn: (item: T) => R, slice = 1000): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % slice === 0) await nextTurn();
    out.push(fn(items[i]!));
  }
  return out;
}
