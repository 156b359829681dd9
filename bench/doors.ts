/*
 * bench/doors.ts — CAS ticket validation and OpenID code-to-userinfo throughput, per server CPU-second.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/doors.ts
 *
 * The broker runs in this process on a fresh test database (the SSO test world); the load comes from
 * bench/doors-load.ts in a child process, so process.cpuUsage() here is the server's (and its
 * database client's) CPU, not the load generator's. Tickets and codes are prepared in batches
 * (a ticket lives 10 s, a code 60 s), and only the timed phase is counted:
 *   CAS:  GET /p3/serviceValidate for each ticket (one DELETE … RETURNING, one XML document);
 *   OIDC: POST /oidc/oidcAccessToken (client_secret_basic, PKCE) then GET /oidc/oidcProfile.
 * PostgreSQL runs on the same machine and its CPU is not counted (it is in the other figures too).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { buildTestApp } from '../test/helper.js';
import { world } from '../test/sso-world.js';
import { installShim } from '../test/doors-shim.js';
import { RES_P1, RES_P2, UAI_A } from '../test/factories.js';
import { saveCasServices } from '../src/doors/cas/cas.registration.js';
import { saveOidcClient } from '../src/doors/oidc/oidc.clients.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 400);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SERVICE = 'https://app.p1.test/cas/';
const REDIRECT = 'http://localhost/cb';

const cleanups: Array<() => unknown> = [];
const port = 3998;
const base = `http://127.0.0.1:${port}`;
const { app } = await buildTestApp({ teardown: (fn) => cleanups.push(fn) }, { config: { brokerBaseUrl: base, logLevel: 'silent' } });
await world(app.db);
await saveCasServices(app.db, RES_P1, [{ url: SERVICE, isPrefix: true, origin: new URL(SERVICE).origin }], true);
const client = (await saveOidcClient(app.db, RES_P1, { redirectUris: [REDIRECT] }, app.config.idoSecret, new Date()))!;
void RES_P2;
const sessions = installShim(app)!;
await app.listen({ port, host: '127.0.0.1' });
void (app.server.address() as AddressInfo);
const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });

function load(job: object): Promise<{ ok: number; failed: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--import', 'tsx', new URL('./doors-load.ts', import.meta.url).pathname], { maxBuffer: 1 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout)),
    );
    child.stdin!.end(JSON.stringify(job));
  });
}

async function timed(job: object) {
  const c0 = process.cpuUsage();
  const r = await load(job);
  const c = process.cpuUsage(c0);
  return { ...r, cpu: (c.user + c.system) / 1e6 };
}

async function casBatch() {
  const items = [];
  for (let i = 0; i < BATCH; i++) {
    const res = await app.inject({ url: `/login?service=${encodeURIComponent(SERVICE)}`, headers: { cookie } });
    const ticket = new URL(res.headers.location as string).searchParams.get('ticket')!;
    items.push({ url: `${base}/p3/serviceValidate?service=${encodeURIComponent(SERVICE)}&ticket=${ticket}` });
  }
  return timed({ kind: 'cas', concurrency: CONCURRENCY, items });
}

async function code(): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const jar = new Map<string, string>([['gar_session', cookie.split('=')[1]!]]);
  let url = `${base}/oidc/oidcAuthorize?${new URLSearchParams({ client_id: client.clientId, response_type: 'code', scope: 'openid scope.gar', redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', idRessource: RES_P1 })}`;
  for (let i = 0; i < 6 && !url.startsWith(REDIRECT); i++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      jar.set(pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1));
    }
    await res.body?.cancel();
    url = new URL(res.headers.get('location')!, url).href;
  }
  return { code: new URL(url).searchParams.get('code')!, verifier };
}

async function oidcBatch() {
  const authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret!)}`).toString('base64')}`;
  const items = [];
  for (let i = 0; i < Math.min(BATCH, 200); i++) {
    const { code: c, verifier } = await code();
    items.push({
      tokenUrl: `${base}/oidc/oidcAccessToken`,
      body: new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: REDIRECT, code_verifier: verifier }).toString(),
      authorization,
      userinfoUrl: `${base}/oidc/oidcProfile`,
    });
  }
  return timed({ kind: 'oidc', concurrency: CONCURRENCY, items });
}

const sum = (rs: Array<{ ok: number; failed: number; seconds: number; cpu: number }>) =>
  rs.reduce((a, r) => ({ ok: a.ok + r.ok, failed: a.failed + r.failed, seconds: a.seconds + r.seconds, cpu: a.cpu + r.cpu }), { ok: 0, failed: 0, seconds: 0, cpu: 0 });

await casBatch(); // warm-up
const cas = [];
for (let i = 0; i < BATCHES; i++) cas.push(await casBatch());
await oidcBatch(); // warm-up
const oidc = [];
for (let i = 0; i < BATCHES; i++) oidc.push(await oidcBatch());
const C = sum(cas);
const O = sum(oidc);
console.log(JSON.stringify({
  concurrency: CONCURRENCY,
  casValidate: { ok: C.ok, failed: C.failed, perSecond: Math.round(C.ok / C.seconds), serverCpuSeconds: Number(C.cpu.toFixed(2)), perServerCpuSecond: Math.round(C.ok / C.cpu) },
  oidcCodeToUserinfo: { ok: O.ok, failed: O.failed, perSecond: Math.round(O.ok / O.seconds), serverCpuSeconds: Number(O.cpu.toFixed(2)), perServerCpuSecond: Math.round(O.ok / O.cpu) },
}, null, 2));
await app.close();
for (const fn of cleanups.reverse()) await fn();
process.exit(0);
