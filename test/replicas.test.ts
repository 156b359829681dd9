import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createSigner } from 'fast-jwt';
import { connectPostgres } from '../src/db/connect.js';
import { performRetention } from '../src/modules/maintenance/maintenance.service.js';
import { testCertificate } from './keys.js';
import { freshDatabase, postgresUrlOf, TEST_JWT_SECRET } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, UAI_A } from './factories.js';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

t.test(
  'two server processes on one database serve SSO side by side; the daily retention runs once',
  { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: set DATABASE_URL to run the two-replica test' },
  async (t) => {
    const database = await freshDatabase(t);
    await world(database.db);
    const url = await postgresUrlOf(database.db);

    // Everything a replica needs comes from the environment, the same for all.
    const signing = testCertificate('replica test IdP');
    const shared = {
      DATABASE_URL: url,
      JWT_SECRET: TEST_JWT_SECRET,
      SAML_SIGNING_KEY: signing.keyPem,
      SAML_SIGNING_CERT: signing.certPem,
      IDO_SECRET: 'c3'.repeat(32),
      BROKER_BASE_URL: 'https://broker.test',
      HOST: '127.0.0.1',
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '4',
    };
    const ports = [await freePort(), await freePort()];
    const stderr = ports.map(() => '');
    const children: ChildProcess[] = ports.map((port, n) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
        env: { PATH: process.env.PATH, ...shared, PORT: String(port) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (d: Buffer) => (stderr[n] += d.toString()));
      return child;
    });
    t.teardown(async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
    });
    // Started side by side: both create their partitions and prepare at once.
    for (const [n, port] of ports.entries()) {
      let ready = false;
      for (let i = 0; i < 1200 && !ready && children[n]!.exitCode === null; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      if (!t.ok(ready, `replica on port ${port} is ready`)) {
        t.comment(`exit code ${children[n]!.exitCode}; stderr: ${stderr[n]!.slice(0, 2000)}`);
        return;
      }
    }

    const token = createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })({ sub: 'ent-z0', role: 'ent', entId: 'Z0' });
    const answers: Array<{ port: number; status: number; responseId?: string; issuer?: string; nameId?: string }> = [];
    for (let i = 0; i < 40; i++) {
      const port = ports[i % 2]!;
      const res = await fetch(`http://127.0.0.1:${port}/v1/sso`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ uai: UAI_A, personId: i % 4 < 2 ? 'E1' : 'T1', resourceId: RES_P1 }),
      });
      const body = (await res.json()) as { samlResponse?: string };
      const xml = body.samlResponse ? Buffer.from(body.samlResponse, 'base64').toString('utf8') : '';
      answers.push({
        port,
        status: res.status,
        responseId: /<samlp:Response [^>]*ID="([^"]+)"/.exec(xml)?.[1],
        issuer: /<saml:Issuer[^>]*>([^<]+)</.exec(xml)?.[1],
        nameId: /<saml:NameID[^>]*>([^<]+)</.exec(xml)?.[1],
      });
    }
    t.same(answers.map((a) => a.status), Array(40).fill(200), 'all granted, on both replicas');
    t.equal(new Set(answers.map((a) => a.issuer)).size, 1, 'one IdP entity across replicas');
    const idoOf = (port: number, even: boolean) =>
      new Set(answers.filter((a, i) => a.port === port && (i % 4 < 2) === even).map((a) => a.nameId));
    t.same([...idoOf(ports[0]!, true)], [...idoOf(ports[1]!, true)], 'a person gets the same IDO from either replica');
    t.equal(idoOf(ports[0]!, true).size, 1);

    const logged = await database.db.selectFrom('access_log').select(['response_id', 'outcome']).execute();
    const ids = new Set(logged.filter((r) => r.outcome === 'granted').map((r) => r.response_id));
    t.equal(logged.length, 40, 'one log row per decision');
    t.ok(answers.every((a) => a.responseId && ids.has(a.responseId)), 'every assertion has its row');
    t.equal(new Set(answers.map((a) => a.responseId)).size, 40, 'Response IDs unique across replicas');

    // The daily job, as two replicas ticking at the same moment run it: once.
    const quiet = { info: () => {}, error: () => {} };
    const config = { accessLogRetentionMonths: 12, subscriptionGraceDays: 90 };
    const a = connectPostgres(url, 2);
    const b = connectPostgres(url, 2);
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    const since = new Date(Date.now() - 23 * 3_600_000);
    const reports = await Promise.all([a, b].map((h) => performRetention(h.db, config, new Date(), quiet, false, since)));
    t.same(reports.map((r) => r.skipped).sort(), [false, true], 'one replica runs, the other skips');
    const again = await performRetention(b.db, config, new Date(), quiet, false, since);
    t.ok(again.skipped, 'a replica arriving just after the run skips too (checked under the lock)');
    const runs = await database.db.selectFrom('retention_runs').select('id').where('dry_run', '=', false).execute();
    t.equal(runs.length, 1, 'one run recorded');
  },
);
