import t from 'tap';
import pg from 'pg';
import { sql } from 'kysely';
import { buildTestApp, bearer } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, UAI_A } from './factories.js';

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test(
  'database faults: 503 during the fault (never 500), /ready says so, service returns by itself, no assertion without its log row',
  { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: set DATABASE_URL to run the database fault test' },
  async (t) => {
    const { app, database } = await buildTestApp(t);
    await world(database.db);
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(database.db);
    const dbName = rows[0]!.name;

    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    t.teardown(async () => {
      await admin.query(`alter database "${dbName}" allow_connections true`).catch(() => {});
      await admin.end();
    });
    const cut = () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName]);

    const headers = bearer(app, ent);
    const outcomes: Array<{ status: number; phase: string; responseId?: string; type?: string; contentType: string }> = [];
    let phase = 'before';
    let running = true;
    const worker = async (n: number) => {
      while (running) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/sso',
          headers,
          payload: { uai: UAI_A, personId: n % 2 ? 'E1' : 'T1', resourceId: RES_P1 },
        });
        const contentType = String(res.headers['content-type']);
        if (res.statusCode === 200) {
          const xml = Buffer.from(res.json().samlResponse, 'base64').toString('utf8');
          outcomes.push({ status: 200, phase, responseId: /<samlp:Response [^>]*ID="([^"]+)"/.exec(xml)?.[1], contentType });
        } else {
          outcomes.push({ status: res.statusCode, phase, type: contentType.startsWith('application/problem+json') ? res.json().type : undefined, contentType });
          await sleep(5);
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, n) => worker(n));
    const ready = () => app.inject({ method: 'GET', url: '/ready' }).then((r) => ({ status: r.statusCode, type: String(r.headers['content-type']) }));

    await sleep(500);
    // Phase 1: connections cut again and again while requests run.
    phase = 'cutting';
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      await cut();
      await sleep(20);
    }
    // Phase 2: the database refuses connections altogether.
    phase = 'down';
    await admin.query(`alter database "${dbName}" allow_connections false`);
    await cut();
    const readyDown: Array<{ status: number; type: string }> = [];
    for (let i = 0; i < 5; i++) {
      await cut();
      readyDown.push(await ready());
      await sleep(300);
    }
    // Phase 3: the database is back; nothing is restarted.
    await admin.query(`alter database "${dbName}" allow_connections true`);
    phase = 'back';
    const backAt = Date.now();
    let readyBack = await ready();
    while (readyBack.status !== 200 && Date.now() - backAt < 15_000) {
      await sleep(100);
      readyBack = await ready();
    }
    const recoveredIn = Date.now() - backAt;
    await sleep(1000);
    running = false;
    await Promise.all(workers);

    const count = (p: string, status?: number) => outcomes.filter((o) => o.phase === p && (status === undefined || o.status === status)).length;
    t.comment(
      `requests: ${outcomes.length}; before ${count('before', 200)} ok; cutting ${count('cutting', 200)} ok / ${count('cutting', 503)} 503; ` +
        `down ${count('down', 200)} ok / ${count('down', 503)} 503; back ${count('back', 200)} ok / ${count('back', 503)} 503; ready again after ${recoveredIn} ms`,
    );
    const unexpected = outcomes.filter((o) => o.status !== 200 && o.status !== 503);
    t.same(unexpected.map((o) => `${o.phase}:${o.status}`), [], 'only 200 or 503, never 500');
    const badProblems = outcomes.filter((o) => o.status === 503 && o.type !== 'urn:gar-broker:problem:unavailable');
    t.equal(badProblems.length, 0, 'every 503 is an "unavailable" problem+json');
    t.ok(count('before', 200) > 0, 'served before the fault');
    t.ok(count('cutting', 503) + count('down', 503) > 0, 'the fault was felt');
    t.ok(count('down', 503) > 0, 'while the database refuses connections, requests fail with 503');
    t.same(readyDown.map((r) => r.status), [503, 503, 503, 503, 503], '/ready says 503 while the database is unreachable');
    t.ok(readyDown.every((r) => r.type.startsWith('application/problem+json')));
    t.equal(readyBack.status, 200, `/ready is 200 again by itself (${recoveredIn} ms)`);
    const lastBack = outcomes.filter((o) => o.phase === 'back').slice(-12);
    t.ok(lastBack.length > 0 && lastBack.every((o) => o.status === 200), 'SSO is served again without a restart');

    const issued = outcomes.filter((o) => o.status === 200);
    t.ok(issued.every((o) => o.responseId), 'every 200 carries a Response ID');
    const logged = await database.db
      .selectFrom('access_log')
      .select('response_id')
      .where('outcome', '=', 'granted')
      .execute();
    const loggedIds = new Set(logged.map((r) => r.response_id));
    const missing = issued.filter((o) => !loggedIds.has(o.responseId!));
    t.equal(missing.length, 0, `each of the ${issued.length} issued assertions has its access-log row`);
    t.ok(logged.length >= issued.length, `granted rows ${logged.length} >= assertions issued ${issued.length}`);
  },
);
