import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import t from 'tap';
import { buildTestApp, bearer } from './helper.js';
import { UAI_A, entZ0, onboard, sampleSnapshot } from './directory-fixtures.js';
import { insertAssignment, insertAssignmentManager, insertPublisher, insertResource, insertSubscription } from './factories.js';
import { INLINE_MAX, threadApplies } from '../src/modules/directory/feed-pool.js';
import type { DatabaseHandle } from '../src/db/connect.js';
import { FEED_THREAD_NICE } from '../src/modules/directory/feed-thread-priority.js';

/*
 * A large snapshot is checked on its feed thread and, on PostgreSQL, applied there on a connection of
 * its own (src/modules/directory/feed-apply.ts). Whichever path runs, the answer, the stored
 * directory, the detached assignments and their audit entries must be the same; the embedded
 * database keeps the event-loop path (it has one connection, the main thread's).
 */

const filler = 'x'.repeat(200);
/** sampleSnapshot with enough pupils (in 3A) to go past the inline size, onto a feed thread. */
function largeSnapshot(extra = 1500) {
  const base = sampleSnapshot();
  const pupils = Array.from({ length: extra }, (_, i) => ({ id: `PAD-${i}`, lastName: filler, firstName: 'Pad', profiles: [{ uai: UAI_A, profile: 'National_elv' }] }));
  return { ...base, people: [...base.people, ...pupils], memberships: [...base.memberships, ...pupils.map((p) => ({ personId: p.id, groupCode: '3A' }))] };
}

/** The nice value of each thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): number[] {
  if (process.platform !== 'linux') return [];
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

const onPostgres = (database: DatabaseHandle) => database.kind === 'postgres';

t.test('a large snapshot: applied on its thread on PostgreSQL, with the same outcome as on the event loop', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const body = largeSnapshot();
  t.ok(JSON.stringify(body).length > INLINE_MAX, 'the body goes to a feed thread');
  t.equal(onPostgres(database), database.postgres !== undefined, 'a handle says how to reach PostgreSQL only when it is PostgreSQL');
  const put = (payload: object) => app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0), payload });

  const before = threadApplies.count;
  const first = await put(body);
  t.equal(first.statusCode, 200, first.body);
  t.equal(threadApplies.count - before, onPostgres(database) ? 1 : 0, onPostgres(database) ? 'applied on the thread' : 'applied on the event loop');
  t.match(first.json(), {
    uai: UAI_A,
    people: { created: 1504, updated: 0, unchanged: 0, gone: 0 },
    groups: { created: 2, deleted: 0 },
    memberships: { added: 1503, removed: 0 },
  });
  const summary = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0) });
  t.match(summary.json(), { people: { active: 1504 }, memberships: 1503 }, 'what the thread wrote is what the API reads');
  const person = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/PAD-7`, headers: bearer(app, entZ0) });
  t.match(person.json(), { lastName: filler, profiles: ['National_elv'], groups: [{ code: '3A' }] });

  // The thread that did it runs below the event loop's priority (Linux renices one thread alone).
  t.same(threadNices().filter((n) => n === FEED_THREAD_NICE).length > 0, process.platform === 'linux', 'a feed thread at nice 10');
  t.equal(getPriority(), 0, 'the event loop keeps its priority');

  const again = await put(body);
  t.equal(again.statusCode, 200, again.body);
  t.match(again.json(), { people: { created: 0, updated: 0, unchanged: 1504, gone: 0 }, memberships: { added: 0, removed: 0 } }, 'the same snapshot again changes nothing');

  const fewer = await put({ ...body, people: body.people.slice(0, -10), memberships: body.memberships.slice(0, -10) });
  t.equal(fewer.statusCode, 200, fewer.body);
  t.match(fewer.json(), { people: { gone: 10 }, memberships: { removed: 10 } }, 'people absent are marked gone, their links removed');
});

t.test('a large snapshot dropping a group: its assignment is detached and audited under the sender, on the thread too', async (t) => {
  const { app, database } = await buildTestApp(t);
  const { db } = database;
  await onboard(app);
  const put = (payload: object) => app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0), payload });
  t.equal((await put(largeSnapshot())).statusCode, 200);
  await insertPublisher(db, 'P1');
  await insertResource(db, { id: 'ark:/1/r', publisherId: 'P1' });
  await insertAssignmentManager(db, { personId: 'resp-1', uais: [UAI_A] });
  const sub = await insertSubscription(db, { id: 'S1', publisherId: 'P1', resourceId: 'ark:/1/r', uai: UAI_A });
  const lat = await db.selectFrom('groups').select('id').where('uai', '=', UAI_A).where('code', '=', 'LAT3').executeTakeFirstOrThrow();
  const assignment = await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'group', groupId: lat.id });

  const withoutLatin = largeSnapshot();
  const before = threadApplies.count;
  const res = await put({
    ...withoutLatin,
    groups: withoutLatin.groups.filter((g) => g.code !== 'LAT3'),
    memberships: withoutLatin.memberships.filter((m) => m.groupCode !== 'LAT3'),
    teachings: (withoutLatin.teachings ?? []).filter((x) => x.groupCode !== 'LAT3'),
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 500));
  t.equal(threadApplies.count - before, onPostgres(database) ? 1 : 0);
  t.equal(res.json().groups.deleted, 1);
  const stored = await db.selectFrom('assignments').select(['group_id', 'group_code', 'detached_at']).where('id', '=', assignment).executeTakeFirstOrThrow();
  t.match(stored, { group_id: null, group_code: 'LAT3' });
  t.ok(stored.detached_at, 'detached, not deleted');
  const trail = await db.selectFrom('audit_log').select(['action', 'object_id', 'actor_sub']).where('object_type', '=', 'assignments').execute();
  t.match(trail, [{ object_id: String(assignment), action: /detach/, actor_sub: entZ0.sub }], 'the audit entry names the sender');
});

t.test('a large invalid snapshot is refused on its thread: capped errors with their count, nothing written', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const body = largeSnapshot();
  const unknown = Array.from({ length: 250 }, (_, i) => ({ personId: `nobody-${i}`, groupCode: '3A' }));
  const res = await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0), payload: { ...body, memberships: [...body.memberships, ...unknown] } });
  t.equal(res.statusCode, 400, res.body.slice(0, 500));
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const problem = res.json();
  t.equal(problem.errorCount, 250, 'the total counted where the errors were found');
  t.equal(problem.errors.length, 100, 'the first 100 sent');
  t.match(problem.errors[0], { path: /^\/memberships\/\d+\/personId$/, message: /nobody-0/ });
  const people = await database.db.selectFrom('establishment_people').select('person_id').where('uai', '=', UAI_A).execute();
  t.equal(people.length, 0, 'nothing applied');
});

t.test('the feed thread cannot reach the database: 503, as from the server’s own pool', async (t) => {
  const probe = await buildTestApp(t);
  if (!probe.database.postgres) {
    // Embedded: no feed connection exists to lose; the snapshot is applied on the event loop.
    await onboard(probe.app);
    const res = await probe.app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(probe.app, entZ0), payload: largeSnapshot() });
    t.equal(res.statusCode, 200, res.body);
    return;
  }
  const { postgres, ...rest } = probe.database;
  const unreachable: DatabaseHandle = { ...rest, postgres: { url: postgres.url.replace(/\/[^/]*$/, '/garb_no_such_database') } };
  const { app } = await buildTestApp(t, { deps: { database: unreachable } });
  await onboard(app);
  const res = await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0), payload: largeSnapshot() });
  t.equal(res.statusCode, 503, res.body);
  t.match(res.json(), { type: /unavailable$/, detail: /unreachable/ });
  t.equal(res.headers['retry-after'], '5');
});
