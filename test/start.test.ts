import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadSettings } from '../src/config.js';
import { devSigner } from '../scripts/lib/dev-token.js';

/*
 * `npm start` as a newcomer runs it: scripts/start.mjs serves the esbuild build of the sources, with
 * kysely, TypeBox and the embedded dialect bundled beside it (scripts/vendor-bundle.mjs). The rest
 * of the suite loads the TypeScript sources; this checks that the build a user starts works too.
 */

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

t.test('npm start serves the API from its build, embedded, and stops cleanly', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'garb-start-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', BROKER_BASE_URL: `http://127.0.0.1:${port}` };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['scripts/start.mjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let ready = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    ready = await fetch(`${base}/ready`).then((r) => r.status, () => 0);
    if (ready === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!t.equal(ready, 200, '/ready answers 200')) t.comment(output.slice(-2000));
  t.ok(existsSync('node_modules/.cache/gar-broker/run/node_modules/kysely/index.js'), 'kysely is bundled beside the build');

  const anonymous = await fetch(`${base}/v1/ent-projects`);
  t.equal(anonymous.status, 401);
  t.match(anonymous.headers.get('content-type'), 'application/problem+json');

  const sign = devSigner(loadSettings({ DATA_DIR: dataDir }, { requireSecrets: false }));
  const operator = { authorization: `Bearer ${sign({ sub: 'op-1', role: 'operator' })}`, 'content-type': 'application/json' };
  const created = await fetch(`${base}/v1/ent-projects`, { method: 'POST', headers: operator, body: JSON.stringify({ id: 'Z9', name: 'ENT de démarrage', kind: 'ent' }) });
  t.equal(created.status, 201, 'an operator creates an ENT project: a write through the bundled query builder');
  const listed = await fetch(`${base}/v1/ent-projects`, { headers: operator });
  t.equal(listed.status, 200);
  t.match(JSON.stringify(await listed.json()), /"id":"Z9".*"name":"ENT de démarrage"|"name":"ENT de démarrage".*"id":"Z9"/, 'and reads it back');

  const metadata = await fetch(`${base}/idp/metadata`);
  t.equal(metadata.status, 200);
  t.match(await metadata.text(), /EntityDescriptor/);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM ends it cleanly');
  t.notMatch(output, /"level":(50|60)/, 'no error in its log');
});
