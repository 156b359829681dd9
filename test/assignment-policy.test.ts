import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { establishmentClaimsFor } from '../src/modules/directory/assignment-managers.js';
import { TEST_JWT_SECRET, bearer, buildTestApp, operator, postgresUrlOf } from './helper.js';
import { RES_P1, UAI_A, UAI_B, baseWorld, insertAssignmentManager, insertPerson, insertSubscription } from './factories.js';

const run = promisify(execFile);

/**
 * Project Z0: UAI_A (secondary) and UAI_B (made a primary school). RespAff RA1 named for UAI_A;
 * at UAI_A head H1, librarian D1, teacher T1; at UAI_B teacher T2 and head H2. A subscription at each.
 */
async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t);
  const { db } = ctx.database;
  await baseWorld(db);
  await db.updateTable('establishments').set({ degree: 1 }).where('uai', '=', UAI_B).execute();
  await insertAssignmentManager(db, { personId: 'RA1', uais: [UAI_A] });
  for (const [id, uai, profile] of [
    ['H1', UAI_A, 'National_dir'],
    ['D1', UAI_A, 'National_doc'],
    ['T1', UAI_A, 'National_ens'],
    ['T2', UAI_B, 'National_ens'],
    ['H2', UAI_B, 'National_dir'],
    ['E1', UAI_A, 'National_elv'],
  ] as const) {
    await insertPerson(db, { personId: id, uai, profiles: [profile] });
  }
  await insertSubscription(db, { id: 'ABO-A', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A, audiences: ['ELEVE'] });
  await insertSubscription(db, { id: 'ABO-B', publisherId: 'P1', resourceId: RES_P1, uai: UAI_B, audiences: ['ENSEIGNANT'] });
  const as = (sub: string, uai: string) => ({ sub, role: 'establishment', uais: [uai] });
  const list = (sub: string, uai: string) => ctx.app.inject({ method: 'GET', url: `/v1/establishments/${uai}/subscriptions`, headers: bearer(ctx.app, as(sub, uai)) });
  const setPolicy = (policy: unknown, entId = 'Z0') =>
    ctx.app.inject({ method: 'PUT', url: `/v1/ent-projects/${entId}/assignment-policy`, headers: bearer(ctx.app, operator), payload: { assignmentPolicy: policy } });
  return { ...ctx, list, setPolicy, as };
}

t.test('default policy: only the people the RespAff feed names; anyone else is a 403 with the reason', async (t) => {
  const { app, list } = await setup(t);
  const project = await app.inject({ method: 'GET', url: '/v1/ent-projects/Z0', headers: bearer(app, operator) });
  t.same(project.json().assignmentPolicy, ['respaff'], 'the default');

  t.equal((await list('RA1', UAI_A)).statusCode, 200, 'the named RespAff');
  for (const who of ['H1', 'D1', 'T1', 'E1', 'NOBODY']) {
    const res = await list(who, UAI_A);
    t.equal(res.statusCode, 403, `${who} is refused`);
    t.equal(res.json().reason, 'not_allowed_to_assign');
    t.match(res.json().detail, new RegExp(`${who} may not assign resources at ${UAI_A}.*policy of ENT project Z0 \\(respaff\\)`));
  }
  t.equal((await list('RA1', UAI_B)).statusCode, 403, 'named for UAI_A only, not UAI_B');
});

t.test('heads: National_dir and National_doc present at the school; primary-teachers: every teacher of a primary school', async (t) => {
  const { app, database, list, setPolicy } = await setup(t);
  const heads = await setPolicy(['respaff', 'heads']);
  t.equal(heads.statusCode, 200, heads.body);
  t.same(heads.json().assignmentPolicy, ['respaff', 'heads']);
  t.equal((await list('H1', UAI_A)).statusCode, 200, 'head');
  t.equal((await list('D1', UAI_A)).statusCode, 200, 'librarian');
  t.equal((await list('RA1', UAI_A)).statusCode, 200, 'RespAff still');
  t.equal((await list('T1', UAI_A)).statusCode, 403, 'teacher, secondary');
  t.equal((await list('T2', UAI_B)).statusCode, 403, 'teacher, primary, not in this policy');

  t.equal((await setPolicy(['primary-teachers'])).statusCode, 200);
  t.equal((await list('T2', UAI_B)).statusCode, 200, 'every teacher of a primary school');
  t.equal((await list('T1', UAI_A)).statusCode, 403, 'not at a secondary school');
  t.equal((await list('RA1', UAI_A)).statusCode, 403, 'RespAff not in this policy');
  t.equal((await list('H2', UAI_B)).statusCode, 403, 'a head is not a teacher');

  // The verdict is taken at each request: a teacher who leaves loses the right at once.
  const t2 = await database.db.selectFrom('people').select('id').where('person_id', '=', 'T2').executeTakeFirstOrThrow();
  await database.db.updateTable('establishment_people').set({ gone_at: new Date() }).where('person_id', '=', t2.id).execute();
  t.equal((await list('T2', UAI_B)).statusCode, 403, 'gone from the school');

  for (const bad of [[], ['everyone'], ['heads', 'heads']]) {
    t.equal((await setPolicy(bad)).statusCode, 400, `refused: ${JSON.stringify(bad)}`);
  }
  t.equal((await setPolicy(['heads'], 'NOPE')).statusCode, 404);
  const created = await app.inject({
    method: 'POST',
    url: '/v1/ent-projects',
    headers: bearer(app, operator),
    payload: { id: 'Z9', name: 'ENT 1D', kind: 'ent', assignmentPolicy: ['respaff', 'primary-teachers'] },
  });
  t.same(created.json().assignmentPolicy, ['respaff', 'primary-teachers'], 'set at creation');
});

t.test('the assignment and the audit trail name the person who assigned, and the rule that let them', async (t) => {
  const { app, setPolicy, as } = await setup(t);
  await setPolicy(['primary-teachers']);
  const res = await app.inject({
    method: 'POST',
    url: `/v1/establishments/${UAI_B}/assignments`,
    headers: bearer(app, as('T2', UAI_B)),
    payload: { subscriptionId: 'ABO-B', target: { type: 'person', id: 'T2' } },
  });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), { createdBy: 'T2', createdAs: 'primary-teachers' });
  const byOperator = await app.inject({
    method: 'POST',
    url: `/v1/establishments/${UAI_B}/assignments`,
    headers: bearer(app, operator),
    payload: { subscriptionId: 'ABO-B', target: { type: 'profile', id: 'National_ens' } },
  });
  t.match(byOperator.json(), { createdBy: operator.sub, createdAs: 'operator' });
  const audit = await app.inject({ method: 'GET', url: '/v1/audit?limit=50', headers: bearer(app, operator) });
  const rows = audit.json().items.filter((i: { action: string }) => i.action === 'POST /v1/establishments/:uai/assignments');
  t.same(rows.map((r: { actorSub: string; actorRole: string }) => `${r.actorRole}:${r.actorSub}`).sort(), ['establishment:T2', 'operator:op-1'], 'audit names the person');
});

t.test('establishmentClaimsFor (npm run token -- --manager) follows the same policy', async (t) => {
  const { database, setPolicy } = await setup(t);
  const db = database.db;
  t.same((await establishmentClaimsFor(db, 'Z0', 'RA1')).uai, [UAI_A]);
  await t.rejects(establishmentClaimsFor(db, 'Z0', 'T2'), /T2 is not a responsable d'affectation of ENT project Z0/);
  await setPolicy(['respaff', 'heads', 'primary-teachers']);
  t.same((await establishmentClaimsFor(db, 'Z0', 'T2')).uai, [UAI_B], 'a primary teacher gets their school');
  t.same((await establishmentClaimsFor(db, 'Z0', 'H1')).uai, [UAI_A], 'a head gets theirs');
  await t.rejects(establishmentClaimsFor(db, 'Z0', 'T1'), /not a responsable d'affectation .* nor allowed by its assignment policy/);
  await t.rejects(establishmentClaimsFor(db, 'Z0', 'H1', [UAI_B]), new RegExp(`does not manage ${UAI_B}`));
});

t.test(
  'npm run token -- --manager refuses a teacher outside the policy and issues for one inside it',
  { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: the script reads the database the test app uses' },
  async (t) => {
    const { app, database, setPolicy } = await setup(t);
    const env = { ...process.env, DATABASE_URL: await postgresUrlOf(database.db), JWT_SECRET: TEST_JWT_SECRET };
    const token = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], { env }).then(
        ({ stdout }) => ({ ok: true, out: stdout.trim() }),
        (err: { stderr: string; code: number }) => ({ ok: false, out: err.stderr, code: err.code }),
      );
    t.match(await token('--manager', 'T2', '--entId', 'Z0'), { ok: false, code: 2, out: /not a responsable d'affectation/ });
    await setPolicy(['primary-teachers']);
    const issued = await token('--manager', 'T2', '--entId', 'Z0');
    t.ok(issued.ok, issued.out);
    const res = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/subscriptions`, headers: { authorization: `Bearer ${issued.out}` } });
    t.equal(res.statusCode, 200, res.body);
  },
);
