import t from 'tap';
import { buildTestApp, bearer, operator } from './helper.js';
import {
  addMember,
  addTeaching,
  baseWorld,
  insertAssignmentManager,
  insertGroup,
  insertPerson,
  insertSubscription,
  RES_P1,
  RES_P2,
  UAI_A,
  UAI_B,
} from './factories.js';

const HEAD_A = { sub: 'resp-1', role: 'establishment', uais: [UAI_A] } as const;
const HEAD_B = { sub: 'resp-2', role: 'establishment', uais: [UAI_B] } as const;

/**
 * At UAI_A: pupils E1, E2, E3 in division 3A; E1 and E4 in group LAT; teacher T1 teaches 3A;
 * librarian D1; head H1. Subscriptions of P1 on RES_P1:
 *   PUPILS3  INDIV, ELEVE, 3 pupil licences
 *   STAFF    INDIV, ENSEIGNANT + DOCUMENTALISTE, unlimited
 *   WHOLE    ETABL, ELEVE
 *   OLD      INDIV, ELEVE, ended
 */
async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t, { now: '2026-11-25T09:00:00Z' });
  const { db } = ctx.database;
  await baseWorld(db);
  const people: Record<string, number> = {};
  for (const [id, profile] of [['E1', 'National_elv'], ['E2', 'National_elv'], ['E3', 'National_elv'], ['E4', 'National_elv'], ['T1', 'National_ens'], ['D1', 'National_doc'], ['H1', 'National_dir']] as const) {
    people[id] = await insertPerson(db, { personId: id, uai: UAI_A, profiles: [profile] });
  }
  // The establishment tokens' people are named by Z0's RespAff feed (the default assignment policy).
  await insertAssignmentManager(db, { personId: HEAD_A.sub, uais: [UAI_A] });
  await insertAssignmentManager(db, { personId: HEAD_B.sub, uais: [UAI_B] });
  const div = await insertGroup(db, { uai: UAI_A, code: '3A', kind: 'DIVISION' });
  const lat = await insertGroup(db, { uai: UAI_A, code: 'LAT', kind: 'GROUPE' });
  for (const p of ['E1', 'E2', 'E3']) await addMember(db, div, people[p]!);
  for (const p of ['E1', 'E4']) await addMember(db, lat, people[p]!);
  await addTeaching(db, div, people.T1!);
  const base = { publisherId: 'P1', resourceId: RES_P1, uai: UAI_A, startsAt: '2026-09-01T00:00:00Z', endsAt: '2027-09-01T00:00:00Z' };
  await insertSubscription(db, { ...base, id: 'PUPILS3', audiences: ['ELEVE'], licences: { pupils: 3, teachers: 0, librarians: 0, otherStaff: 0 } });
  await insertSubscription(db, { ...base, id: 'STAFF', audiences: ['ENSEIGNANT', 'DOCUMENTALISTE'], licences: { global: 'unlimited' } });
  await insertSubscription(db, { ...base, id: 'WHOLE', audiences: ['ELEVE'], assignmentType: 'ETABL' });
  await insertSubscription(db, { ...base, id: 'OLD', audiences: ['ELEVE'], startsAt: '2025-09-01T00:00:00Z', endsAt: '2026-09-01T00:00:00Z' });
  const assign = (body: object, caller: Record<string, unknown> = HEAD_A, uai = UAI_A) =>
    ctx.app.inject({ method: 'POST', url: `/v1/establishments/${uai}/assignments`, headers: bearer(ctx.app, caller), payload: body });
  const revoke = (id: string, caller: Record<string, unknown> = HEAD_A, uai = UAI_A) =>
    ctx.app.inject({ method: 'DELETE', url: `/v1/establishments/${uai}/assignments/${id}`, headers: bearer(ctx.app, caller) });
  const usage = async (id: string) => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/subscriptions`, headers: bearer(ctx.app, HEAD_A) });
    return res.json().items.find((s: { id: string }) => s.id === id).usage;
  };
  return { ...ctx, people, assign, revoke, usage };
}

t.test('licences run out with a 409 that says how many are left, and come back on revoke', async (t) => {
  const { assign, revoke, usage } = await setup(t);
  const e4 = await assign({ subscriptionId: 'PUPILS3', target: { type: 'person', id: 'E4' } });
  t.equal(e4.statusCode, 201, e4.body);
  t.match(e4.json(), { subscriptionId: 'PUPILS3', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A, target: { type: 'person', id: 'E4' }, createdBy: 'resp-1' });

  const tooMany = await assign({ subscriptionId: 'PUPILS3', target: { type: 'division', id: '3A' } });
  t.equal(tooMany.statusCode, 409);
  t.match(tooMany.json(), { audience: 'ELEVE', left: 2, needed: 3 });
  t.match(tooMany.json().detail, /needs 3 ELEVE licence\(s\) but only 2 are left/);

  t.equal((await revoke(e4.json().id)).statusCode, 204);
  t.match(await usage('PUPILS3'), { used: 0, left: 3 }, 'the licence is back');

  const div = await assign({ subscriptionId: 'PUPILS3', target: { type: 'division', id: '3A' } });
  t.equal(div.statusCode, 201, 'now the whole class fits');
  t.same(await usage('PUPILS3'), {
    enforced: true,
    total: 3,
    used: 3,
    left: 0,
    audiences: [{ audience: 'ELEVE', used: 3, total: 3, left: 0 }],
  });
  const grp = await assign({ subscriptionId: 'PUPILS3', target: { type: 'group', id: 'LAT' } });
  t.equal(grp.statusCode, 409, 'LAT adds E4, one too many');
  t.match(grp.json(), { left: 0, needed: 1 });
  const e1 = await assign({ subscriptionId: 'PUPILS3', target: { type: 'person', id: 'E1' } });
  t.equal(e1.statusCode, 201, 'E1 is already covered by 3A: no extra licence');
  t.match(await usage('PUPILS3'), { used: 3 });
});

t.test('each target kind, within the audiences', async (t) => {
  const { assign, usage, app } = await setup(t);
  const profile = await assign({ subscriptionId: 'STAFF', target: { type: 'profile', id: 'national_ENS' } });
  t.equal(profile.statusCode, 201, profile.body);
  t.same(profile.json().target, { type: 'profile', id: 'National_ens' }, 'stored canonical');
  t.match(await usage('STAFF'), { used: 1, audiences: [{ audience: 'ENSEIGNANT', used: 1 }, { audience: 'DOCUMENTALISTE', used: 0 }] });

  const whole = await assign({ subscriptionId: 'STAFF', target: { type: 'establishment' } });
  t.equal(whole.statusCode, 201);
  t.match(await usage('STAFF'), { used: 2 }, 'T1 and D1; pupils and the head are outside the audiences');

  const div = await assign({ subscriptionId: 'STAFF', target: { type: 'division', id: '3A' } });
  t.equal(div.statusCode, 201, 'a division: its teacher is in the audience, its pupils are not counted');
  t.same(div.json().target, { type: 'division', id: '3A', name: 'Groupe 3A' });
  const grp = await assign({ subscriptionId: 'PUPILS3', target: { type: 'group', id: 'LAT' } });
  t.equal(grp.statusCode, 201);
  const person = await assign({ subscriptionId: 'STAFF', target: { type: 'person', id: 'D1' } });
  t.equal(person.statusCode, 201);

  const list = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/assignments?subscriptionId=STAFF`, headers: bearer(app, HEAD_A) });
  t.equal(list.statusCode, 200);
  t.same(list.json().items.map((a: { target: { type: string } }) => a.target.type), ['profile', 'establishment', 'division', 'person']);
  const paged = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/assignments?limit=3`, headers: bearer(app, HEAD_A) });
  t.equal(paged.json().items.length, 3);
  t.ok(paged.json().next);
  const rest = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/assignments?after=${paged.json().next}`, headers: bearer(app, HEAD_A) });
  t.equal(rest.json().items.length, 2);
});

t.test('targets are refused with a clear problem', async (t) => {
  const { assign } = await setup(t);
  const cases: Array<[string, object, number, RegExp | string]> = [
    ['profile outside the audiences', { subscriptionId: 'PUPILS3', target: { type: 'profile', id: 'National_ens' } }, 400, 'body/target/id'],
    ['unknown profile', { subscriptionId: 'PUPILS3', target: { type: 'profile', id: 'National_xyz' } }, 400, 'body/target/id'],
    ['person outside the audiences', { subscriptionId: 'PUPILS3', target: { type: 'person', id: 'T1' } }, 400, 'body/target/id'],
    ['establishment with an id', { subscriptionId: 'STAFF', target: { type: 'establishment', id: 'x' } }, 400, 'body/target/id'],
    ['person without id', { subscriptionId: 'STAFF', target: { type: 'person' } }, 400, 'body/target/id'],
    ['a group called a division', { subscriptionId: 'PUPILS3', target: { type: 'division', id: 'LAT' } }, 400, 'body/target/type'],
    ['unknown target type', { subscriptionId: 'PUPILS3', target: { type: 'class', id: '3A' } }, 400, 'body/target/type'],
    ['ETABL needs no assignment', { subscriptionId: 'WHOLE', target: { type: 'person', id: 'E1' } }, 400, 'body/subscriptionId'],
    ['unknown person', { subscriptionId: 'PUPILS3', target: { type: 'person', id: 'NOBODY' } }, 404, /person/],
    ['unknown division', { subscriptionId: 'PUPILS3', target: { type: 'division', id: '6Z' } }, 404, /division/],
    ['unknown subscription', { subscriptionId: 'NONE', target: { type: 'establishment' } }, 404, /subscription/],
    ['expired subscription', { subscriptionId: 'OLD', target: { type: 'person', id: 'E1' } }, 409, /ended/],
  ];
  for (const [name, body, status, expect] of cases) {
    const res = await assign(body);
    t.equal(res.statusCode, status, `${name}: ${status}`);
    t.match(res.headers['content-type'], 'application/problem+json');
    if (typeof expect === 'string') {
      t.ok(res.json().errors?.some((e: { path: string }) => e.path.startsWith(expect)), `${name}: reports ${expect}`);
    } else {
      t.match(res.json().detail, expect, name);
    }
  }
  t.equal((await assign({ subscriptionId: 'STAFF', target: { type: 'person', id: 'T1' } })).statusCode, 201);
  const twice = await assign({ subscriptionId: 'STAFF', target: { type: 'person', id: 'T1' } });
  t.equal(twice.statusCode, 409, 'the same target twice');
});

t.test('gone people cannot be assigned and do not hold licences', async (t) => {
  const { assign, usage, database, people } = await setup(t);
  t.equal((await assign({ subscriptionId: 'PUPILS3', target: { type: 'division', id: '3A' } })).statusCode, 201);
  t.equal((await assign({ subscriptionId: 'PUPILS3', target: { type: 'person', id: 'E4' } })).statusCode, 409);
  await database.db.updateTable('establishment_people').set({ gone_at: new Date() }).where('person_id', '=', people.E2!).execute();
  t.match(await usage('PUPILS3'), { used: 2, left: 1 });
  t.equal((await assign({ subscriptionId: 'PUPILS3', target: { type: 'person', id: 'E4' } })).statusCode, 201, 'the freed licence is usable');
  const gone = await assign({ subscriptionId: 'PUPILS3', target: { type: 'person', id: 'E2' } });
  t.equal(gone.statusCode, 404);
});

t.test('ETABL subscriptions report everyone of their audiences, unenforced', async (t) => {
  const { usage } = await setup(t);
  t.match(await usage('WHOLE'), { enforced: false, used: 4, total: 'unlimited' });
});

t.test('two simultaneous assignments cannot both take the last licence', async (t) => {
  const { assign, usage, database } = await setup(t);
  await database.db
    .updateTable('subscriptions')
    .set({ licences: JSON.stringify({ pupils: 1, teachers: 0, librarians: 0, otherStaff: 0 }) })
    .where('id', '=', 'PUPILS3')
    .execute();
  const results = await Promise.all(
    ['E1', 'E2', 'E3', 'E4'].map((id) => assign({ subscriptionId: 'PUPILS3', target: { type: 'person', id } })),
  );
  const codes = results.map((r) => r.statusCode).sort();
  t.same(codes, [201, 409, 409, 409]);
  t.match(await usage('PUPILS3'), { used: 1, left: 0 });
});

t.test('an establishment token acts only on its UAIs; operators on any', async (t) => {
  const { app, assign, revoke } = await setup(t);
  const mine = await assign({ subscriptionId: 'STAFF', target: { type: 'establishment' } });
  t.equal(mine.statusCode, 201);
  const id = mine.json().id;
  const headers = bearer(app, HEAD_B);
  for (const [method, url] of [
    ['GET', `/v1/establishments/${UAI_A}/subscriptions`],
    ['GET', `/v1/establishments/${UAI_A}/assignments`],
    ['DELETE', `/v1/establishments/${UAI_A}/assignments/${id}`],
  ] as const) {
    t.equal((await app.inject({ method, url, headers })).statusCode, 403, `${method} ${url} by another school`);
  }
  t.equal((await assign({ subscriptionId: 'STAFF', target: { type: 'person', id: 'T1' } }, HEAD_B)).statusCode, 403);
  t.equal((await revoke(id, HEAD_B, UAI_B)).statusCode, 404, 'an assignment of another UAI is not found through your own UAI');
  const own = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/subscriptions`, headers });
  t.same(own.json(), { items: [] }, "UAI_B sees none of UAI_A's subscriptions");
  const pub = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/assignments`, headers: bearer(app, { sub: 'p', role: 'publisher', publisherId: 'P1' }) });
  t.equal(pub.statusCode, 403, 'not for publishers');

  const op = await assign({ subscriptionId: 'STAFF', target: { type: 'person', id: 'T1' } }, operator);
  t.equal(op.statusCode, 201, 'an operator may assign');
  t.equal((await revoke(id, operator)).statusCode, 204);
  t.equal((await revoke(id, operator)).statusCode, 404, 'revoked once');
  const unknown = await app.inject({ method: 'GET', url: '/v1/establishments/0690038S/subscriptions', headers: bearer(app, operator) });
  t.equal(unknown.statusCode, 404);
  const badLetter = await app.inject({ method: 'GET', url: '/v1/establishments/0650001A/subscriptions', headers: bearer(app, operator) });
  t.equal(badLetter.statusCode, 400);
});

t.test('a subscription id used by two publishers at one UAI needs the publisherId', async (t) => {
  const { assign, database } = await setup(t);
  await insertSubscription(database.db, { id: 'STAFF', publisherId: 'P2', resourceId: RES_P2, uai: UAI_A, audiences: ['ENSEIGNANT'] });
  const ambiguous = await assign({ subscriptionId: 'STAFF', target: { type: 'person', id: 'T1' } });
  t.equal(ambiguous.statusCode, 400);
  t.match(ambiguous.json().errors[0], { path: 'body/publisherId' });
  const chosen = await assign({ subscriptionId: 'STAFF', publisherId: 'P2', target: { type: 'person', id: 'T1' } });
  t.equal(chosen.statusCode, 201);
  t.equal(chosen.json().resourceId, RES_P2);
});
