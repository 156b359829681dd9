/*
 * bench/profile-saml-idp.ts — where one SP-initiated SAML answer spends its CPU: the same request
 * as bench/saml-idp.ts, served N times in-process (app.inject, no sockets), under the V8 profiler.
 * Prints CPU microseconds per answer, SQL statements per answer, and the top functions by self time.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/profile-saml-idp.ts [N]
 */
import { Session } from 'node:inspector/promises';
import { buildApp } from '../src/app.js';
import { connectPostgres } from '../src/db/connect.js';
import { createSelfSignedCertificate } from '../src/saml/self-signed.js';
import { testConfig } from '../test/helper.js';
import { openSession } from '../test/browser-session.js';
import { authnRequestPath, benchDatabaseUrl, buildSsoDataset, countStatements } from './sso-dataset.js';

const N = Number(process.argv[2] ?? 2000);
const url = benchDatabaseUrl();
const targets = await buildSsoDataset(url);
const database = connectPostgres(url, 4);
const idpKeys = createSelfSignedCertificate('bench IdP');
const app = await buildApp(
  testConfig({ databaseUrl: url, samlSigningKey: idpKeys.keyPem, samlSigningCert: idpKeys.certPem, logLevel: 'warn', rateLimitPerMinute: 0 }),
  { database, ownsDatabase: true },
);
const work: Array<{ path: string; cookie: string }> = [];
for (const [n, t] of targets.slice(0, 200).entries()) {
  const { cookie } = await openSession(app, { entId: 'Z0', personId: t.personId, uaiHint: t.uai });
  work.push({ path: authnRequestPath(`_p${n}`, t.resourceId), cookie });
}
const serve = async (k: number) => {
  const r = work[k % work.length]!;
  const res = await app.inject({ url: r.path, headers: { cookie: r.cookie } });
  if (res.statusCode !== 200) throw new Error(`answer ${res.statusCode}: ${res.body.slice(0, 200)}`);
};
for (let k = 0; k < 300; k++) await serve(k); // warm-up (JIT, caches)

const statements = countStatements();

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROFILE_INTERVAL_US ?? 1000) });
await session.post('Profiler.start');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let k = 0; k < N; k++) await serve(k);
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const { profile } = await session.post('Profiler.stop');
await app.close();

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
const self = new Map<string, number>();
const hits = new Map<number, number>();
for (const s of profile.samples ?? []) hits.set(s, (hits.get(s) ?? 0) + 1);
let total = 0;
for (const node of profile.nodes as Node[]) {
  const h = hits.get(node.id) ?? 0;
  if (!h || node.callFrame.functionName === '(idle)') continue;
  total += h;
  const key = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + h);
}
console.log(
  JSON.stringify(
    {
      answers: N,
      cpuMicrosecondsPerAnswer: Math.round((cpu.user + cpu.system) / N),
      wallMicrosecondsPerAnswer: Math.round((wall * 1000) / N),
      sqlStatementsPerAnswer: Number((statements.count() / N).toFixed(2)),
    },
    null,
    2,
  ),
);
for (const [key, h] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((h / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
process.exit(0);
