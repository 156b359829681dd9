import t from 'tap';
import { buildTestApp, bearer } from './helper.js';
import { baseWorld, insertResource, insertAssignment, insertGroup, insertPerson, addMember, RES_P1, RES_P2, UAI_A, UAI_B } from './factories.js';

const P1 = { sub: 'pub-1', role: 'publisher', publisherId: 'P1' } as const;
const P2 = { sub: 'pub-2', role: 'publisher', publisherId: 'P2' } as const;

const valid = () => ({
  id: 'ABO-2026-001',
  resourceId: RES_P1,
  uai: UAI_A,
  startsAt: '2026-09-01T00:00:00Z',
  endsAt: '2027-07-07T00:00:00Z',
  assignmentType: 'INDIV',
  audiences: ['ELEVE', 'ENSEIGNANT'],
  licences: { pupils: 30, teachers: 2, librarians: 0, otherStaff: 0 },
  comment: 'rentrée 2026',
});

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t);
  await baseWorld(ctx.database.db);
  const post = (body: unknown, caller: Record<string, unknown> = P1) =>
    ctx.app.inject({ method: 'POST', url: '/v1/subscriptions', headers: bearer(ctx.app, caller), payload: body as object });
  return { ...ctx, post };
}

t.test('a publisher creates a subscription and reads it back with its usage', async (t) => {
  const { app, post } = await setup(t);
  const res = await post(valid());
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), {
    id: 'ABO-2026-001',
    publisherId: 'P1',
    resourceId: RES_P1,
    resourceName: 'Maths 3e',
    uai: UAI_A,
    startsAt: '2026-09-01T00:00:00.000Z',
    endsAt: '2027-07-07T00:00:00.000Z',
    assignmentType: 'INDIV',
    audiences: ['ELEVE', 'ENSEIGNANT'],
    licences: { pupils: 30, teachers: 2, librarians: 0, otherStaff: 0 },
    comment: 'rentrée 2026',
    status: 'valid',
  });
  const got = await app.inject({ method: 'GET', url: '/v1/subscriptions/ABO-2026-001', headers: bearer(app, P1) });
  t.equal(got.statusCode, 200);
  t.same(got.json().usage, {
    enforced: true,
    total: 32,
    used: 0,
    left: 32,
    audiences: [
      { audience: 'ELEVE', used: 0, total: 30, left: 30 },
      { audience: 'ENSEIGNANT', used: 0, total: 2, left: 2 },
    ],
  });
});

t.test('every validation rule has its own field error', async (t) => {
  const { post } = await setup(t);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['id with a space', { id: 'ABO 1' }, 'body/id'],
    ['id starting with _', { id: '_ABO1' }, 'body/id'],
    ['id over 45 characters', { id: 'A'.repeat(46) }, 'body/id'],
    ['bad UAI shape', { uai: '065001Y' }, 'body/uai'],
    ['bad UAI check letter', { uai: '0650001A' }, 'body/uai'],
    ['no end of validity', { endsAt: undefined }, 'body/endsAt'],
    ['both endsAt and schoolYear', { schoolYear: '2026-2027' }, 'body/schoolYear'],
    ['school year not consecutive', { endsAt: undefined, schoolYear: '2026-2028' }, 'body/schoolYear'],
    ['school year shape', { endsAt: undefined, schoolYear: '26-27' }, 'body/schoolYear'],
    ['end before start', { endsAt: '2026-08-01T00:00:00Z' }, 'body/endsAt'],
    ['no start without school year', { startsAt: undefined }, 'body/startsAt'],
    ['start not a date-time', { startsAt: 'tomorrow' }, 'body/startsAt'],
    ['assignment type', { assignmentType: 'CLASSE' }, 'body/assignmentType'],
    ['no audience', { audiences: [] }, 'body/audiences'],
    ['unknown audience', { audiences: ['PARENT'] }, 'body/audiences/0'],
    ['repeated audience', { audiences: ['ELEVE', 'ELEVE'] }, 'body/audiences'],
    ['both licence forms', { licences: { global: 10, pupils: 5, teachers: 1, librarians: 0, otherStaff: 0 } }, 'body/licences'],
    ['no licence form', { licences: {} }, 'body/licences'],
    ['per-audience form incomplete', { licences: { pupils: 5, teachers: 1 } }, 'body/licences/librarians'],
    ['negative count', { licences: { global: -1 } }, 'body/licences/global'],
    ['count neither number nor unlimited', { licences: { global: 'ILLIMITE' } }, 'body/licences/global'],
    ['unknown licence key', { licences: { global: 1, parents: 3 } }, 'body/licences/parents'],
    ['comment over 255', { comment: 'x'.repeat(256) }, 'body/comment'],
    ['empty resource id', { resourceId: '' }, 'body/resourceId'],
  ];
  for (const [name, change, path] of cases) {
    const body = { ...valid(), ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete (body as Record<string, unknown>)[k];
    const res = await post(body);
    t.equal(res.statusCode, 400, `${name}: 400`);
    t.match(res.headers['content-type'], 'application/problem+json');
    const paths = (res.json().errors ?? []).map((e: { path: string }) => e.path);
    t.ok(
      paths.some((p: string) => p === path || p.startsWith(`${path}/`)),
      `${name}: reports ${path} (got ${paths.join(', ')})`,
    );
  }
});

t.test('several broken fields are all reported at once', async (t) => {
  const { post } = await setup(t);
  const res = await post({ ...valid(), uai: '0650001A', schoolYear: '2026-2027', licences: {} });
  t.equal(res.statusCode, 400);
  const paths = res.json().errors.map((e: { path: string }) => e.path).sort();
  t.same(paths, ['body/licences', 'body/schoolYear', 'body/uai']);
});

t.test('a school year runs from 1 September to 31 August, Paris time', async (t) => {
  const { post } = await setup(t);
  const body: Record<string, unknown> = { ...valid(), schoolYear: '2025-2026', licences: { global: 'unlimited' } };
  delete body.startsAt;
  delete body.endsAt;
  const res = await post(body);
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.json().startsAt, '2025-08-31T22:00:00.000Z', 'Sept 1 2025 00:00 CEST');
  t.equal(res.json().endsAt, '2026-08-31T22:00:00.000Z', 'Sept 1 2026 00:00 CEST, exclusive: all of Aug 31 is inside');
  t.equal(res.json().schoolYear, '2025-2026');
  t.same(res.json().licences, { global: 'unlimited' });
});

t.test("the resource must be yours: another's answers as an unknown one; any valid UAI may be named (issue 11, items 9-10)", async (t) => {
  const { post } = await setup(t);
  const unknown = await post({ ...valid(), resourceId: 'ark:/0/none' });
  t.equal(unknown.statusCode, 404);
  const theirs = await post({ ...valid(), resourceId: RES_P2 });
  t.equal(theirs.statusCode, 404, "another publisher's resource");
  t.same(
    { ...theirs.json(), detail: theirs.json().detail.replace(RES_P2, 'X'), requestId: 0 },
    { ...unknown.json(), detail: unknown.json().detail.replace('ark:/0/none', 'X'), requestId: 0 },
    'the same answer',
  );
  const notOnboarded = await post({ ...valid(), id: 'A-NEW', uai: '0690038S' });
  const onboarded = await post({ ...valid(), id: 'A-OLD', uai: UAI_B });
  t.equal(notOnboarded.statusCode, 201, 'a school not onboarded here is not revealed by a 404');
  t.equal(onboarded.statusCode, 201);
  t.same(Object.keys(notOnboarded.json()).sort(), Object.keys(onboarded.json()).sort(), 'the same shape of answer');
});

t.test("an ETABL subscription does not reveal the school's headcounts (issue 11, item 9)", async (t) => {
  const { app, database, post } = await setup(t);
  for (const id of ['E-1', 'E-2', 'E-3']) await insertPerson(database.db, { personId: id, uai: UAI_A, profiles: ['National_elv'] });
  const probe = await post({ ...valid(), id: 'PROBE', assignmentType: 'ETABL', licences: { global: 0 } });
  t.equal(probe.statusCode, 201, probe.body);
  t.notOk('usage' in probe.json(), 'no counts on creation');
  const read = await app.inject({ method: 'GET', url: '/v1/subscriptions/PROBE', headers: bearer(app, P1) });
  t.notOk('usage' in read.json(), 'nor on reading');
  t.notMatch(read.body, /"used"/);
});

t.test("a subscription's resource and UAI are immutable: 409 with the reason (issue 11, item 8)", async (t) => {
  const { app, database, post } = await setup(t);
  await insertResource(database.db, { id: 'ark:/12345/histoire', publisherId: 'P1', name: 'Histoire' });
  t.equal((await post(valid())).statusCode, 201);
  const put = (body: object) => app.inject({ method: 'PUT', url: '/v1/subscriptions/ABO-2026-001', headers: bearer(app, P1), payload: body });
  const repointed = await put({ ...valid(), resourceId: 'ark:/12345/histoire' });
  t.equal(repointed.statusCode, 409, repointed.body);
  t.equal(repointed.json().reason, 'resource_immutable');
  t.match(repointed.json().detail, /resource of a subscription cannot change/);
  const moved = await put({ ...valid(), uai: UAI_B });
  t.equal(moved.statusCode, 409);
  t.equal(moved.json().reason, 'uai_immutable');
  const stored = await database.db.selectFrom('subscriptions').select('resource_id').where('id', '=', 'ABO-2026-001').executeTakeFirstOrThrow();
  t.equal(stored.resource_id, RES_P1, 'nothing moved');
});

t.test('an id already used by the publisher is a 409; another publisher may use it', async (t) => {
  const { post } = await setup(t);
  t.equal((await post(valid())).statusCode, 201);
  const again = await post(valid());
  t.equal(again.statusCode, 409);
  t.match(again.json().detail, /ABO-2026-001/);
  const other = await post({ ...valid(), resourceId: RES_P2 }, P2);
  t.equal(other.statusCode, 201);
});

t.test('update: everything but the UAI may change', async (t) => {
  const { app, post } = await setup(t);
  await post(valid());
  const put = (body: unknown, caller: Record<string, unknown> = P1, id = 'ABO-2026-001') =>
    app.inject({ method: 'PUT', url: `/v1/subscriptions/${id}`, headers: bearer(app, caller), payload: body as object });
  const changed = await put({ ...valid(), assignmentType: 'ETABL', licences: { global: 100 }, comment: 'élargi' });
  t.equal(changed.statusCode, 200, changed.body);
  t.match(changed.json(), { assignmentType: 'ETABL', licences: { global: 100 }, comment: 'élargi' });
  t.notOk('pupils' in changed.json().licences, 'the old form is replaced');

  const moved = await put({ ...valid(), uai: UAI_B });
  t.equal(moved.statusCode, 409);
  t.same(moved.json().errors.map((e: { path: string }) => e.path), ['body/uai']);

  const renamed = await put({ ...valid(), id: 'OTHER' });
  t.equal(renamed.statusCode, 400);
  const { id: _id, ...withoutId } = valid();
  t.equal((await put(withoutId, P1, 'NOPE')).statusCode, 404);
  t.equal((await put({ ...valid(), licences: {} })).statusCode, 400, 'the same rules as on create');
});

t.test("another publisher's subscription is invisible", async (t) => {
  const { app, post } = await setup(t);
  await post(valid());
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    const res = await app.inject({
      method,
      url: '/v1/subscriptions/ABO-2026-001',
      headers: bearer(app, P2),
      ...(method === 'PUT' ? { payload: { ...valid(), resourceId: RES_P2 } } : {}),
    });
    t.equal(res.statusCode, 404, `${method} by P2`);
  }
  const list = await app.inject({ method: 'GET', url: '/v1/subscriptions', headers: bearer(app, P2) });
  t.same(list.json().items, []);
  const ent = await app.inject({ method: 'GET', url: '/v1/subscriptions', headers: bearer(app, { sub: 'e', role: 'ent', entId: 'Z0' }) });
  t.equal(ent.statusCode, 403, 'not for ENT tokens');
});

t.test('delete removes the subscription and its assignments', async (t) => {
  const { app, post, database } = await setup(t);
  const { db } = database;
  await post({ ...valid(), licences: { global: 'unlimited' } });
  const sub = await db.selectFrom('subscriptions').select('pk').where('id', '=', 'ABO-2026-001').executeTakeFirstOrThrow();
  await insertAssignment(db, { subscriptionPk: sub.pk, uai: UAI_A, type: 'establishment' });
  const res = await app.inject({ method: 'DELETE', url: '/v1/subscriptions/ABO-2026-001', headers: bearer(app, P1) });
  t.equal(res.statusCode, 204);
  const left = await db.selectFrom('assignments').select('id').execute();
  t.same(left, []);
  t.equal((await app.inject({ method: 'GET', url: '/v1/subscriptions/ABO-2026-001', headers: bearer(app, P1) })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/subscriptions/ABO-2026-001', headers: bearer(app, P1) })).statusCode, 404);
});

t.test('list filters by UAI, resource, assignment type and audience, with paging', async (t) => {
  const { app, post, database } = await setup(t);
  const { insertResource } = await import('./factories.js');
  await insertResource(database.db, { id: 'ark:/12345/histoire', publisherId: 'P1' });
  await post({ ...valid(), id: 'A1' });
  await post({ ...valid(), id: 'A2', uai: UAI_B, audiences: ['DOCUMENTALISTE'] });
  await post({ ...valid(), id: 'A3', resourceId: 'ark:/12345/histoire', assignmentType: 'ETABL' });
  const ids = async (query: string) => {
    const res = await app.inject({ method: 'GET', url: `/v1/subscriptions?${query}`, headers: bearer(app, P1) });
    t.equal(res.statusCode, 200, query);
    return res.json().items.map((s: { id: string }) => s.id);
  };
  t.same(await ids(''), ['A1', 'A2', 'A3']);
  t.same(await ids(`uai=${UAI_B}`), ['A2']);
  t.same(await ids(`resourceId=${encodeURIComponent('ark:/12345/histoire')}`), ['A3']);
  t.same(await ids('assignmentType=ETABL'), ['A3']);
  t.same(await ids('audience=ENSEIGNANT'), ['A1', 'A3']);
  t.same(await ids(`audience=ENSEIGNANT&uai=${UAI_A}&assignmentType=INDIV`), ['A1']);
  const first = await app.inject({ method: 'GET', url: '/v1/subscriptions?limit=2', headers: bearer(app, P1) });
  t.same(first.json().items.map((s: { id: string }) => s.id), ['A1', 'A2']);
  t.equal(first.json().next, 'A2');
  t.same(await ids('limit=2&after=A2'), ['A3']);
  const bad = await app.inject({ method: 'GET', url: '/v1/subscriptions?audience=PARENT', headers: bearer(app, P1) });
  t.equal(bad.statusCode, 400);
});

t.test('usage counts distinct present people per audience, and the global form', async (t) => {
  const { app, post, database } = await setup(t);
  const { db } = database;
  await post({ ...valid(), licences: { global: 3 } });
  const sub = await db.selectFrom('subscriptions').select('pk').where('id', '=', 'ABO-2026-001').executeTakeFirstOrThrow();
  const div = await insertGroup(db, { uai: UAI_A, code: '3A' });
  const pupils = [];
  for (const id of ['E1', 'E2']) {
    const p = await insertPerson(db, { personId: id, uai: UAI_A, profiles: ['National_elv'] });
    await addMember(db, div, p);
    pupils.push(p);
  }
  const head = await insertPerson(db, { personId: 'D1', uai: UAI_A, profiles: ['National_dir'] });
  await addMember(db, div, head);
  await insertAssignment(db, { subscriptionPk: sub.pk, uai: UAI_A, type: 'division', groupId: div });
  await insertAssignment(db, { subscriptionPk: sub.pk, uai: UAI_A, type: 'person', personId: pupils[0]! });
  const usage = async () =>
    (await app.inject({ method: 'GET', url: '/v1/subscriptions/ABO-2026-001', headers: bearer(app, P1) })).json().usage;
  t.same(await usage(), {
    enforced: true,
    total: 3,
    used: 2,
    left: 1,
    audiences: [
      { audience: 'ELEVE', used: 2 },
      { audience: 'ENSEIGNANT', used: 0 },
    ],
  }, 'E1 once though assigned twice; the head is outside the audiences');
  await db.updateTable('people').set({ gone_at: new Date() }).where('id', '=', pupils[1]!).execute();
  t.match(await usage(), { used: 1, left: 2 }, 'a gone pupil frees the licence');
});

t.test('an id with URL-special characters is reachable URL-encoded', async (t) => {
  const { app, post } = await setup(t);
  const id = 'ABO/2026:é?1';
  t.equal((await post({ ...valid(), id })).statusCode, 201);
  const got = await app.inject({ method: 'GET', url: `/v1/subscriptions/${encodeURIComponent(id)}`, headers: bearer(app, P1) });
  t.equal(got.statusCode, 200, got.body);
  t.equal(got.json().id, id);
});
