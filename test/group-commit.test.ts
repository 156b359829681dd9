import t from 'tap';
import { GroupCommit } from '../src/db/group-commit.js';

// A commit that takes a turn of the event loop, so that rows written meanwhile queue up.
const committer = (fail: (rows: number[]) => boolean) => {
  const batches: number[][] = [];
  const commit = async (rows: number[]) => {
    await new Promise((r) => setImmediate(r));
    batches.push(rows);
    if (fail(rows)) throw new Error(`refused ${rows.join(',')}`);
  };
  return { batches, commit };
};

t.test('rows written while a commit is in flight share the next one; every caller waits for its own row', async (t) => {
  const { batches, commit } = committer(() => false);
  const g = new GroupCommit(commit, { maxConcurrent: 1 });
  await Promise.all([1, 2, 3, 4].map((n) => g.write(n)));
  t.same(batches, [[1], [2, 3, 4]]);
});

t.test('a failed batch fails every caller, unless failures are isolated: then only the bad row fails', async (t) => {
  const bad = (rows: number[]) => rows.includes(3);
  const all = new GroupCommit(committer(bad).commit, { maxConcurrent: 1 });
  const plain = await Promise.allSettled([1, 2, 3, 4].map((n) => all.write(n)));
  t.same(plain.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'rejected']);

  const { batches, commit } = committer(bad);
  const isolated = new GroupCommit(commit, { maxConcurrent: 1, isolateFailures: true });
  const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => isolated.write(n)));
  t.same(settled.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.match((settled[2] as PromiseRejectedResult).reason.message, 'refused 3');
  t.same(batches, [[1], [2, 3, 4], [2], [3], [4]], 'the batch, then its rows one by one');
});
