import t from 'tap';
import { buildTestApp, bearer, ministry, operator } from './helper.js';
import { RES_P1, RES_P2, UAI_A, addMember, insertPerson } from './factories.js';
import { world } from './sso-world.js';

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' };

t.test('restriction and objection: SSO refused and logged while they hold, the person stays in the directory', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const sso = () => app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
  const url = '/v1/people/Z0/E1/restriction';

  const restricted = await app.inject({ method: 'POST', url, headers: bearer(app, operator), payload: {} });
  t.equal(restricted.statusCode, 200);
  t.ok(restricted.json().restrictedAt);
  const refused = await sso();
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().reason, 'restricted');
  const last = await database.db.selectFrom('access_log').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
  t.match(last, { outcome: 'refused', reason: 'restricted' }, 'the refusal is logged');
  const stillThere = await database.db.selectFrom('people').select('person_id').where('person_id', '=', 'E1').execute();
  t.equal(stillThere.length, 1, 'restriction deletes nothing');

  t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(app, operator) })).statusCode, 200);
  t.equal((await sso()).statusCode, 200, 'lifted: granted again');

  t.equal((await app.inject({ method: 'POST', url, headers: bearer(app, operator), payload: { kind: 'objection' } })).statusCode, 200);
  t.equal((await sso()).json().reason, 'objected');
  t.equal((await app.inject({ method: 'DELETE', url: `${url}?kind=objection`, headers: bearer(app, operator) })).statusCode, 200);
  t.equal((await sso()).statusCode, 200);

  const audit = await app.inject({ method: 'GET', url: '/v1/audit?objectType=people.restriction', headers: bearer(app, operator) });
  t.equal(audit.json().items.length, 4, 'every restriction action is audited');

  t.equal((await app.inject({ method: 'POST', url: '/v1/people/Z0/NOBODY/restriction', headers: bearer(app, operator), payload: {} })).statusCode, 404);
  t.equal((await app.inject({ method: 'POST', url, headers: bearer(app, ministry), payload: {} })).statusCode, 403);
});

t.test('the export lists the directory record and exactly the attribute names that were released', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const granted = await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
  t.equal(granted.statusCode, 200);
  await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P2 } });

  const res = await app.inject({ method: 'GET', url: '/v1/people/Z0/E1/export', headers: bearer(app, operator) });
  t.equal(res.statusCode, 200);
  const data = res.json();
  t.equal(data.directory.lastName, 'Martin & <Fils>');
  t.same(data.establishments.map((e: { uai: string }) => e.uai).sort(), ['0650001Y', '0650002Z']);
  t.same(data.memberships.map((m: { code: string }) => m.code).sort(), ['3A', '5C', 'LAT3']);
  t.equal(data.accesses.length, 2);
  t.same(data.accesses[0].attributes, granted.json().attributes, 'exactly the names released');
  t.match(data.accesses[0], { resourceId: RES_P1, publisherId: 'P1', outcome: 'granted' });
  t.match(data.accesses[1], { resourceId: RES_P2, outcome: 'refused', attributes: [] });
  const audit = await app.inject({ method: 'GET', url: '/v1/audit?objectType=people.export', headers: bearer(app, operator) });
  t.equal(audit.json().items.length, 1, 'the export itself is audited');
  t.equal((await app.inject({ method: 'GET', url: '/v1/people/Z0/NOBODY/export', headers: bearer(app, operator) })).statusCode, 404);
  t.equal(data.assignmentManager, null, 'not a responsable d’affectation');

  await database.db
    .insertInto('assignment_managers')
    .values({ ent_id: 'Z0', person_id: 'E1', last_name: 'Martin', first_name: 'Léa', email: 'lea.martin@ac-test.fr', uais: [UAI_A], seen_at: '2026-11-20T02:00:00Z' })
    .execute();
  const asManager = (await app.inject({ method: 'GET', url: '/v1/people/Z0/E1/export', headers: bearer(app, operator) })).json();
  t.same(asManager.assignmentManager, { lastName: 'Martin', firstName: 'Léa', email: 'lea.martin@ac-test.fr', uais: [UAI_A], lastNamedAt: '2026-11-20T02:00:00.000Z' }, 'the RespAff record is part of the export');
});

t.test('the register of processing: approved attributes with purposes, accesses over twelve months, publishers see their own lines', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  for (let i = 0; i < 3; i++) {
    await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
  }
  const all = await app.inject({ method: 'GET', url: '/v1/register', headers: bearer(app, ministry) });
  t.equal(all.statusCode, 200);
  const line = all.json().items.find((l: { resourceId: string }) => l.resourceId === RES_P1);
  t.equal(line.accessesLast12Months, 3);
  t.same(line.attributes.map((a: { code: string }) => a.code).sort(), ['DIV', 'GRO', 'NOM', 'PRE', 'PRO', 'P_MEL', 'UAI']);
  t.match(line.attributes[0], { purpose: 'p', reviewerRole: 'ministry' });
  t.equal(all.json().items.length, 2);
  const own = await app.inject({ method: 'GET', url: '/v1/register', headers: bearer(app, { sub: 'p2', role: 'publisher', publisherId: 'P2' }) });
  t.same(own.json().items.map((l: { resourceId: string }) => l.resourceId), [RES_P2]);
  t.equal((await app.inject({ method: 'GET', url: '/v1/register', headers: bearer(app, ent) })).statusCode, 403);
});

t.test('an objection outlives the directory data: applied when the ENT sends the person again (issue 11, item 11)', async (t) => {
  const { app, database } = await buildTestApp(t);
  const db = database.db;
  await world(db);
  const sso = () => app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
  t.equal((await app.inject({ method: 'POST', url: '/v1/people/Z0/E1/restriction', headers: bearer(app, operator), payload: { kind: 'objection' } })).statusCode, 200);
  const kept = await db.selectFrom('rights_records').selectAll().execute();
  t.match(kept, [{ ent_id: 'Z0', kind: 'objection', recorded_by: 'op-1' }], 'a minimal separate record');
  t.notMatch(kept[0]!.person_hash, /E1/, 'the person id only as an HMAC');

  // The person leaves and retention deletes them, as it does three months later.
  await db.deleteFrom('people').where('ent_id', '=', 'Z0').where('person_id', '=', 'E1').execute();
  // The ENT sends them again, in their class.
  const back = await insertPerson(db, { personId: 'E1', uai: UAI_A, profiles: ['National_elv'] });
  const div3a = await db.selectFrom('groups').select('id').where('uai', '=', UAI_A).where('code', '=', '3A').executeTakeFirstOrThrow();
  await addMember(db, div3a.id, back);
  const refused = await sso();
  t.equal(refused.statusCode, 403, refused.body);
  t.equal(refused.json().reason, 'objected', 'the kept objection applies');

  t.equal((await app.inject({ method: 'DELETE', url: '/v1/people/Z0/E1/restriction?kind=objection', headers: bearer(app, operator) })).statusCode, 200);
  t.same(await db.selectFrom('rights_records').selectAll().execute(), [], 'lifting removes the record');
  t.equal((await sso()).statusCode, 200, 'granted once lifted');
});
