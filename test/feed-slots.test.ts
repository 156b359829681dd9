import t from 'tap';
import { FEED_WRITERS, feedSlots, withFeedSlot } from '../src/modules/directory/feed-slots.js';

t.test('at most FEED_WRITERS feeds write at once; the others wait their turn, and all finish', async (t) => {
  let inside = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const feed = (i: number) =>
    withFeedSlot(async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise<void>((resolve) => gates.push(resolve));
      inside--;
      return i;
    });
  const all = Promise.all([0, 1, 2, 3, 4].map(feed));
  await new Promise((r) => setImmediate(r));
  t.equal(feedSlots.running, FEED_WRITERS);
  t.equal(feedSlots.waiting, 5 - FEED_WRITERS);
  // Let them through one by one.
  while (gates.length || feedSlots.running) {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  t.same(await all, [0, 1, 2, 3, 4]);
  t.equal(most, FEED_WRITERS);
  t.equal(feedSlots.running, 0);
});

t.test('a failing feed frees its slot', async (t) => {
  await t.rejects(withFeedSlot(async () => Promise.reject(new Error('refused'))));
  t.equal(feedSlots.running, 0);
  t.equal(await withFeedSlot(async () => 'next'), 'next');
});
