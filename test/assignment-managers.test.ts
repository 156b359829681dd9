import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NotAManagerError, establishmentClaimsFor } from '../src/modules/directory/assignment-managers.js';
import { TEST_JWT_SECRET, bearer, buildTestApp, postgresUrlOf } from './helper.js';
import { UAI_A, UAI_B, UAI_OTHER_ENT, baseWorld } from './factories.js';

const run = promisify(execFile);

async function managers(t: Parameters<typeof buildTestApp>[0]) {
  const built = await buildTestApp(t);
  const db = built.database.db;
  await baseWorld(db);
  // A RespAff file of project Z0 naming two of its schools, and one of project Z1's.
  await db
    .insertInto('assignment_managers')
    .values({ ent_id: 'Z0', person_id: 'RA1', last_name: 'Roux', first_name: 'Anne', email: 'anne.roux@ac-test.fr', uais: [UAI_A, UAI_B, UAI_OTHER_ENT] })
    .execute();
  await db
    .insertInto('assignment_managers')
    .values({ ent_id: 'Z0', person_id: 'RA2', last_name: 'Blanc', first_name: 'Luc', email: 'luc.blanc@ac-test.fr', uais: [UAI_OTHER_ENT] })
    .execute();
  return built;
}

t.test("establishment tokens go to responsables d'affectation, for their own project's schools only", async (t) => {
  const { app, database } = await managers(t);
  const db = database.db;
  const claims = await establishmentClaimsFor(db, 'Z0', 'RA1');
  t.same(claims, { sub: 'RA1', role: 'establishment', uai: [UAI_A, UAI_B].sort() }, "another project's UAI named by the feed is left out");
  t.same((await establishmentClaimsFor(db, 'Z0', 'RA1', [UAI_B, UAI_B])).uai, [UAI_B], 'narrowed on request');

  const refused = async (entId: string, personId: string, wanted: string[], message: RegExp) => {
    const err = await establishmentClaimsFor(db, entId, personId, wanted).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, NotAManagerError, `${entId}/${personId} ${wanted.join(',')}`);
    t.match((err as Error).message, message);
  };
  await refused('Z0', 'NOBODY', [], /not a responsable d'affectation of ENT project Z0/);
  await refused('Z1', 'RA1', [], /not a responsable d'affectation of ENT project Z1/);
  await refused('Z0', 'RA2', [], /manages no establishment attached/);
  await refused('Z0', 'RA1', [UAI_A, UAI_OTHER_ENT], new RegExp(`does not manage ${UAI_OTHER_ENT}`));

  const own = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/subscriptions`, headers: bearer(app, { ...claims }) });
  t.equal(own.statusCode, 200, own.body);
  const other = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_OTHER_ENT}/subscriptions`, headers: bearer(app, { ...claims }) });
  t.equal(other.statusCode, 403, 'the token acts on its UAIs only');
});

t.test(
  'npm run token -- --manager: prints a working token, or says why not',
  { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: the script reads the database the test app uses' },
  async (t) => {
    const { app, database } = await managers(t);
    const env = { ...process.env, DATABASE_URL: await postgresUrlOf(database.db), JWT_SECRET: TEST_JWT_SECRET };
    const token = async (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], { env }).then(
        ({ stdout }) => ({ ok: true, out: stdout.trim() }),
        (err: { stderr: string; code: number }) => ({ ok: false, out: err.stderr, code: err.code }),
      );

    const issued = await token('--manager', 'RA1', '--entId', 'Z0', '--uai', UAI_B);
    t.ok(issued.ok, issued.ok ? 'a token is printed' : issued.out);
    const headers = { authorization: `Bearer ${issued.out}` };
    t.equal((await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/subscriptions`, headers })).statusCode, 200, 'accepted for UAI_B');
    t.equal((await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/subscriptions`, headers })).statusCode, 403, 'narrowed: not UAI_A');

    const stranger = await token('--manager', 'NOBODY', '--entId', 'Z0');
    t.match(stranger, { ok: false, code: 2, out: /not a responsable d'affectation/ });
    const noProject = await token('--manager', 'RA1');
    t.match(noProject, { ok: false, code: 2, out: /needs --entId/ });
    const wrongRole = await token('--manager', 'RA1', '--entId', 'Z0', '--role', 'publisher');
    t.match(wrongRole, { ok: false, code: 2, out: /establishment tokens only/ });
  },
);
