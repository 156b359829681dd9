import t from 'tap';
import { buildTestApp, bearer } from './helper.js';
import { UAI_A, entZ0, onboard, sampleSnapshot } from './directory-fixtures.js';
import { insertAssignment, insertAssignmentManager, insertPublisher, insertResource, insertSubscription } from './factories.js';
import { runRetention } from '../src/modules/maintenance/retention.js';

const HEAD_A = { sub: 'resp-1', role: 'establishment', uais: [UAI_A] } as const;

t.test('assignments survive the directory: omitted sections, detached groups, return, retention', async (t) => {
  const { app, database, clock } = await buildTestApp(t);
  const { db } = database;
  await onboard(app);
  const put = (payload: object) => app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0), payload });
  t.equal((await put(sampleSnapshot())).statusCode, 200);

  await insertPublisher(db, 'P1');
  await insertResource(db, { id: 'ark:/1/r', publisherId: 'P1' });
  // The establishment token's person is a responsable d'affectation of the school (the default policy).
  await insertAssignmentManager(db, { personId: HEAD_A.sub, uais: [UAI_A] });
  const sub = await insertSubscription(db, { id: 'S1', publisherId: 'P1', resourceId: 'ark:/1/r', uai: UAI_A });
  const group = await db.selectFrom('groups').select('id').where('uai', '=', UAI_A).where('code', '=', '3A').executeTakeFirstOrThrow();
  const assignment = await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'division', groupId: group.id });
  const stored = () => db.selectFrom('assignments').select(['group_id', 'group_code', 'detached_at']).where('id', '=', assignment).executeTakeFirst();

  // A snapshot without the groups key (nor links) leaves them as they are.
  const { groups: _g, memberships: _m, teachings: _te, ...withoutGroups } = sampleSnapshot();
  const omitted = await put(withoutGroups);
  t.equal(omitted.statusCode, 200, omitted.body);
  t.same(omitted.json().groups.deleted, 0);
  t.same(omitted.json().memberships, { added: 0, removed: 0 });
  t.same(await stored(), { group_id: group.id, group_code: null, detached_at: null }, 'the assignment is untouched');

  // Links may name stored groups when groups are omitted.
  const linksOnly = await put({ ...withoutGroups, memberships: [{ personId: 'E1-000124', groupCode: 'LAT3' }] });
  t.equal(linksOnly.statusCode, 200, linksOnly.body);

  // An explicit empty list deletes the groups: the assignment is detached, not lost.
  const emptied = await put({ ...withoutGroups, groups: [] });
  t.equal(emptied.statusCode, 200, emptied.body);
  t.equal(emptied.json().groups.deleted, 2);
  t.match(await stored(), { group_id: null, group_code: '3A' });
  t.ok((await stored())?.detached_at, 'detached');
  const trail = await db.selectFrom('audit_log').select(['action', 'object_id', 'object_type']).where('object_type', '=', 'assignments').execute();
  t.match(trail, [{ object_id: String(assignment), action: /detach/ }], 'the removal is in the audit trail with the assignment id');
  const list = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/assignments`, headers: bearer(app, HEAD_A) });
  t.equal(list.statusCode, 200, list.body);
  t.match(list.json().items, [{ id: String(assignment), target: { type: 'division', id: '3A' }, detachedAt: /^2026-/ }], 'the establishment sees it, detached');

  // The group comes back: so does the assignment.
  const back = await put(sampleSnapshot());
  t.equal(back.statusCode, 200, back.body);
  const regroup = await db.selectFrom('groups').select('id').where('uai', '=', UAI_A).where('code', '=', '3A').executeTakeFirstOrThrow();
  t.same(await stored(), { group_id: regroup.id, group_code: null, detached_at: null }, 'reattached to the new group');
  t.equal((await db.selectFrom('audit_log').select('id').where('object_id', '=', String(assignment)).where('action', 'like', 'reattach%').execute()).length, 1);

  // Detached for longer than the grace period: retention deletes it.
  t.equal((await put({ ...withoutGroups, groups: [] })).statusCode, 200);
  clock.advance(100 * 86_400_000);
  const report = await runRetention(db, { now: clock.now, logMonths: 12, goneMonths: 3, subscriptionGraceDays: 90, dryRun: false });
  t.equal(report.deletedDetachedAssignments, 1);
  t.equal(await stored(), undefined);
});
