import t from 'tap';
import { buildTestApp, bearer, operator } from './helper.js';
import { UAI_A, UAI_B, UAI_OTHER, UNKNOWN_UAI, dumpDirectory, entZ0, entZ1, onboard, sampleSnapshot } from './directory-fixtures.js';

const put = (app: Parameters<typeof bearer>[0], uai: string, payload: unknown, caller: Parameters<typeof bearer>[1] = entZ0) =>
  app.inject({ method: 'PUT', url: `/v1/establishments/${uai}/directory`, headers: bearer(app, caller), payload: payload as object });

t.test('a snapshot is stored, profiles in canonical form, and read back without birth date', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const res = await put(app, UAI_A, sampleSnapshot());
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().people, { created: 4, updated: 0, unchanged: 0, gone: 0 });
  t.same(res.json().groups, { created: 2, updated: 0, unchanged: 0, deleted: 0 });
  t.same(res.json().memberships, { added: 3, removed: 0 });
  t.same(res.json().teachings, { added: 2, updated: 0, removed: 0 });

  const summary = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0) });
  t.equal(summary.statusCode, 200);
  t.match(summary.json(), {
    uai: UAI_A,
    entId: 'Z0',
    name: 'Collège Jean Moulin',
    people: { active: 4, gone: 0, activeByProfile: { National_elv: 2, National_ens: 1, National_doc: 1 } },
    groups: { divisions: 1, groups: 1 },
    memberships: 3,
    teachings: 2,
    subjects: 2,
    mefs: 1,
  });

  const person = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/E1-000123`, headers: bearer(app, operator) });
  t.equal(person.statusCode, 200);
  t.match(person.json(), {
    id: 'E1-000123',
    lastName: 'Martin',
    civility: 'Mme',
    profiles: ['National_elv'],
    mefs: ['10310019110'],
    subjects: ['030201'],
    groups: [{ code: '3A', kind: 'DIVISION' }, { code: 'LAT3', kind: 'GROUPE' }],
    goneAt: null,
  });
  t.notOk(person.body.includes('2012-03-04'), 'the birth date is never returned');
  t.notOk('birthDate' in person.json());

  const doc = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/E1-000950`, headers: bearer(app, entZ0) });
  t.same(doc.json().profiles, ['National_doc'], 'national_doc is stored as National_doc');
  const teacher = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/E1-000900`, headers: bearer(app, entZ0) });
  t.same(teacher.json().teachings, [
    { groupCode: '3A', subjects: ['030201'] },
    { groupCode: 'LAT3', subjects: ['020700'] },
  ]);
  t.same(teacher.json().emails, ['paul.bernard@ac-toulouse.fr']);
  const missing = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/nobody`, headers: bearer(app, entZ0) });
  t.equal(missing.statusCode, 404);
});

t.test('an invalid snapshot lists every invalid item with its path, and stores nothing', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const body = sampleSnapshot();
  body.people[0]!.profiles[0]!.profile = 'National_xyz';
  body.people[1]!.profiles.push({ uai: '0650001A', profile: 'National_elv' });
  body.people[2]!.profiles[1]!.uai = UAI_OTHER;
  body.people[3]!.lastName = 'x'.repeat(501);
  (body.people[3] as Record<string, unknown>).civility = 'Dr';
  body.people.push({ ...body.people[0]!, profiles: [{ uai: UAI_A, profile: 'National_elv' }] });
  body.groups[0]!.kind = 'GROUPE'; // LAT3 now points at a GROUPE
  body.memberships.push({ personId: 'ghost', groupCode: '3A' }, { personId: 'E1-000124', groupCode: 'NOPE' });
  const res = await put(app, UAI_A, body);
  t.equal(res.statusCode, 400);
  t.match(res.headers['content-type'], 'application/problem+json');
  const paths = (res.json().errors as Array<{ path: string }>).map((e) => e.path).sort();
  t.same(paths, [
    '/groups/1/divisions/0',
    '/memberships/3/personId',
    '/memberships/4/groupCode',
    '/people/0/profiles/0/profile',
    '/people/1/profiles/1/uai',
    '/people/2/profiles/1/uai',
    '/people/3/civility',
    '/people/3/lastName',
    '/people/4/id',
  ].sort());
  const dump = await dumpDirectory(database.db, UAI_A);
  t.same(dump.people, [], 'nothing stored');
  t.same(dump.groups, []);
});

t.test('a bad item leaves the stored directory exactly as it was', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  t.equal((await put(app, UAI_A, sampleSnapshot())).statusCode, 200);
  const before = await dumpDirectory(database.db, UAI_A);

  const body = sampleSnapshot();
  body.people[0]!.lastName = 'Renamed';
  body.people.splice(1, 1); // would mark E1-000124 gone
  body.memberships = body.memberships.filter((m) => m.personId !== 'E1-000124');
  body.groups.push({ code: '3B', name: '3e B', kind: 'DIVISION' });
  body.teachings.push({ personId: 'E1-000900', groupCode: '4C', subjects: ['030201'] }); // the bad item
  const res = await put(app, UAI_A, body);
  t.equal(res.statusCode, 400);
  t.same(res.json().errors, [{ path: '/teachings/2/groupCode', message: 'no group "4C" in this directory' }]);
  t.same(await dumpDirectory(database.db, UAI_A), before, 'unchanged');
});

t.test('the same snapshot twice changes nothing', async (t) => {
  const { app, database, clock } = await buildTestApp(t);
  await onboard(app);
  t.equal((await put(app, UAI_A, sampleSnapshot())).statusCode, 200);
  const rows = () =>
    database.db
      .selectFrom('people')
      .innerJoin('establishment_people', 'establishment_people.person_id', 'people.id')
      .select(['people.person_id', 'people.updated_at as p', 'establishment_people.updated_at as ep'])
      .orderBy('people.person_id')
      .execute();
  const before = await rows();
  clock.advance(3_600_000);
  const again = await put(app, UAI_A, sampleSnapshot());
  t.equal(again.statusCode, 200);
  t.same(again.json(), {
    uai: UAI_A,
    people: { created: 0, updated: 0, unchanged: 4, gone: 0 },
    groups: { created: 0, updated: 0, unchanged: 2, deleted: 0 },
    memberships: { added: 0, removed: 0 },
    teachings: { added: 0, updated: 0, removed: 0 },
    subjects: { upserted: 0, deleted: 0 },
    mefs: { upserted: 0, deleted: 0 },
  });
  t.same(await rows(), before, 'no row rewritten');

  const changed = sampleSnapshot();
  changed.people[1]!.firstName = 'Thomas';
  changed.people[3]!.mefs = ['10310019110'];
  const third = await put(app, UAI_A, changed);
  t.same(third.json().people, { created: 0, updated: 2, unchanged: 2, gone: 0 });
});

t.test('people absent from a snapshot are gone at once, and come back when present again', async (t) => {
  const { app, clock } = await buildTestApp(t);
  await onboard(app);
  t.equal((await put(app, UAI_A, sampleSnapshot())).statusCode, 200);
  // The teacher also works at B.
  const atB = {
    people: [{ ...sampleSnapshot().people[2]! }],
    groups: [{ code: '5B', name: '5e B', kind: 'DIVISION' }],
    teachings: [{ personId: 'E1-000900', groupCode: '5B', subjects: ['030201'] }],
  };
  t.equal((await put(app, UAI_B, atB)).statusCode, 200);

  clock.set('2026-12-01T08:00:00Z');
  const without = sampleSnapshot();
  without.people = without.people.filter((p) => p.id !== 'E1-000123' && p.id !== 'E1-000900');
  without.memberships = without.memberships.filter((m) => m.personId !== 'E1-000123');
  without.teachings = [];
  without.groups = without.groups.filter((g) => g.code !== 'LAT3');
  const res = await put(app, UAI_A, without);
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().people, { created: 0, updated: 0, unchanged: 2, gone: 2 });
  t.same(res.json().groups.deleted, 1);

  const get = (uai: string, id: string) => app.inject({ method: 'GET', url: `/v1/establishments/${uai}/people/${id}`, headers: bearer(app, entZ0) });
  const pupil = (await get(UAI_A, 'E1-000123')).json();
  t.equal(pupil.goneAt, '2026-12-01T08:00:00.000Z');
  t.equal(pupil.personGoneAt, '2026-12-01T08:00:00.000Z', 'no establishment left: gone project-wide');
  t.same(pupil.groups, [], 'classes and groups taken away at once');
  const teacherA = (await get(UAI_A, 'E1-000900')).json();
  t.equal(teacherA.goneAt, '2026-12-01T08:00:00.000Z');
  t.same(teacherA.teachings, []);
  t.equal(teacherA.personGoneAt, null, 'still active at B');
  t.same((await get(UAI_B, 'E1-000900')).json().teachings, [{ groupCode: '5B', subjects: ['030201'] }], 'B untouched');

  const summary = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0) });
  t.match(summary.json().people, { active: 2, gone: 2, goneByProfile: { National_elv: 1, National_ens: 1 } });

  clock.set('2026-12-02T08:00:00Z');
  const back = await put(app, UAI_A, sampleSnapshot());
  t.same(back.json().people, { created: 0, updated: 2, unchanged: 2, gone: 0 });
  const revived = (await get(UAI_A, 'E1-000123')).json();
  t.equal(revived.goneAt, null);
  t.equal(revived.personGoneAt, null);
  t.same(revived.groups.map((g: { code: string }) => g.code), ['3A', 'LAT3']);
});

t.test('an ENT feeds and reads only the establishments of its own project', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  t.equal((await put(app, UAI_A, sampleSnapshot())).statusCode, 200);
  const before = await dumpDirectory(database.db, UAI_A);

  const other = await put(app, UAI_A, { people: [] }, entZ1);
  t.equal(other.statusCode, 403, 'another project’s establishment');
  t.same(await dumpDirectory(database.db, UAI_A), before, 'nothing changed');
  t.equal((await put(app, UNKNOWN_UAI, { people: [] }, entZ1)).statusCode, 403, 'an unknown UAI is the same 403');
  const delta = await app.inject({
    method: 'POST',
    url: `/v1/establishments/${UAI_A}/directory/changes`,
    headers: bearer(app, entZ1),
    payload: { removals: { people: ['E1-000123'] } },
  });
  t.equal(delta.statusCode, 403);
  t.same(await dumpDirectory(database.db, UAI_A), before, 'nothing changed');

  for (const url of [`/v1/establishments/${UAI_A}/directory`, `/v1/establishments/${UAI_A}/people/E1-000123`]) {
    t.equal((await app.inject({ method: 'GET', url, headers: bearer(app, entZ1) })).statusCode, 403, url);
    t.equal((await app.inject({ method: 'GET', url, headers: bearer(app, operator) })).statusCode, 200, `operator ${url}`);
  }
  t.equal((await app.inject({ method: 'GET', url: `/v1/establishments/${UNKNOWN_UAI}/directory`, headers: bearer(app, operator) })).statusCode, 404);
  const publisher = { sub: 'p', role: 'publisher', publisherId: 'P1' };
  t.equal((await put(app, UAI_A, sampleSnapshot(), publisher)).statusCode, 403, 'wrong role');
  t.equal((await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, publisher) })).statusCode, 403);
  t.equal((await put(app, UAI_A, sampleSnapshot(), operator)).statusCode, 403, 'the operator does not feed');
  const badUai = await put(app, '0650001A', sampleSnapshot());
  t.equal(badUai.statusCode, 400, 'UAI with a wrong check letter');
});

t.test('a delta upserts and removes, referring to what is stored', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  t.equal((await put(app, UAI_A, sampleSnapshot())).statusCode, 200);
  const post = (payload: unknown) =>
    app.inject({ method: 'POST', url: `/v1/establishments/${UAI_A}/directory/changes`, headers: bearer(app, entZ0), payload: payload as object });

  const res = await post({
    upserts: {
      people: [{ id: 'E1-000125', lastName: 'Roux', firstName: 'Inès', profiles: [{ uai: UAI_A, profile: 'NATIONAL_ELV' }] }],
      groups: [{ code: '3B', name: '3e B', kind: 'DIVISION' }],
      memberships: [
        { personId: 'E1-000125', groupCode: '3A' },
        { personId: 'E1-000124', groupCode: '3B' },
      ],
    },
    removals: { people: ['E1-000123', 'not-there'], memberships: [{ personId: 'E1-000124', groupCode: '3A' }] },
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { people: { created: 1, updated: 0, unchanged: 0, gone: 1 }, memberships: { added: 2, removed: 3 } });
  const dump = await dumpDirectory(database.db, UAI_A);
  t.same(dump.members, [
    { code: '3A', person_id: 'E1-000125' },
    { code: '3B', person_id: 'E1-000124' },
  ]);
  t.same((dump.people as Array<{ person_id: string; profiles: string[] }>).find((p) => p.person_id === 'E1-000125')?.profiles, ['National_elv']);

  const bad = await post({
    upserts: { memberships: [{ personId: 'E1-000123', groupCode: '3A' }, { personId: 'E1-000124', groupCode: 'ZZ' }], groups: [{ code: 'G1', name: 'g', kind: 'GROUPE', divisions: ['3B'] }] },
    removals: { groups: ['3B'] },
  });
  t.equal(bad.statusCode, 400);
  t.same((bad.json().errors as Array<{ path: string }>).map((e) => e.path).sort(), [
    '/upserts/groups/0/divisions/0',
    '/upserts/memberships/0/personId',
    '/upserts/memberships/1/groupCode',
  ]);
  t.same(await dumpDirectory(database.db, UAI_A), dump, 'nothing changed');
});
