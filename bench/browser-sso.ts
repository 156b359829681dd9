/*
 * bench/browser-sso.ts — the ENT door end to end: GET /domaineGar → 302 with a signed AuthnRequest →
 * the ENT IdP's Response (built and signed here, in the load generator, like an ENT would: only the
 * Assertion signed, RSA-SHA1) → POST /saml/sp/acs → decision → 302/303 to the resource's URL. Then
 * the session-reuse path: GET /domaineGar with the broker session cookie → decision → 302.
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/browser-sso.ts
 *
 * Open loop at a fixed offered rate (BENCH_FULL_RATE journeys/s, BENCH_REUSE_RATE requests/s) for
 * BENCH_SECONDS each; prints completed journeys per server CPU-second and p50/p99 latency of a
 * whole journey (two broker round trips plus the IdP's signing here) and of each broker step.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import pg from 'pg';
import { buildSsoDataset, benchDatabaseUrl, startBrokerServer, type SsoTarget } from './sso-dataset.js';
import { b64, newTestIdp, sign, unsignedResponse } from '../test/idps/ent-idp.js';

const url = benchDatabaseUrl();
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const FULL_RATE = Number(process.env.BENCH_FULL_RATE ?? 30);
const REUSE_RATE = Number(process.env.BENCH_REUSE_RATE ?? 150);
const PORT = 3998;
const BASE = `http://127.0.0.1:${PORT}`;
const SP_ENTITY = `${BASE}/saml/sp/metadata`;
const ACS = `${BASE}/saml/sp/acs`;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1)) : null;
};
const b64s = (s: string) => Buffer.from(s).toString('base64');
const entryLink = (t: SsoTarget) => `/domaineGar?idENT=${b64s('Z0')}&idEtab=${b64s(t.uai)}&idRessource=${encodeURIComponent(t.resourceId)}`;

const idp = newTestIdp('bench-ent', 'https://ent.bench.test/auth/saml/sso');

/** One whole journey; returns the session cookie and the time of each broker step. */
async function journey(t: SsoTarget): Promise<{ ok: boolean; cookie?: string; entryMs: number; acsMs: number }> {
  const t0 = performance.now();
  const entry = await fetch(BASE + entryLink(t), { redirect: 'manual' });
  await entry.arrayBuffer();
  const t1 = performance.now();
  const location = entry.headers.get('location') ?? '';
  if (entry.status !== 302 || !location.startsWith(idp.ssoUrl)) return { ok: false, entryMs: t1 - t0, acsMs: 0 };
  const q = new URL(location).searchParams;
  const authn = inflateRawSync(Buffer.from(q.get('SAMLRequest')!, 'base64')).toString();
  const requestId = /ID="([^"]+)"/.exec(authn)![1]!;
  const xml = sign(unsignedResponse({ requestId, acsUrl: ACS, spEntityId: SP_ENTITY, audience: ACS, now: new Date(), idEnt: 'Z0', personId: t.personId, issuer: idp.entityId }), idp, { assertion: true, alg: 'sha1' });
  const body = new URLSearchParams({ SAMLResponse: b64(xml), RelayState: q.get('RelayState')! }).toString();
  const t2 = performance.now();
  const acs = await fetch(ACS, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  await acs.arrayBuffer();
  const t3 = performance.now();
  const setCookie = acs.headers.getSetCookie().find((c) => c.startsWith('gar_session='));
  const ok = (acs.status === 303 || acs.status === 302) && (acs.headers.get('location') ?? '').startsWith('https://');
  return { ok, cookie: setCookie?.split(';')[0], entryMs: t1 - t0, acsMs: t3 - t2 };
}

async function reuse(t: SsoTarget, cookie: string): Promise<{ ok: boolean; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(BASE + entryLink(t), { redirect: 'manual', headers: { cookie } });
  await r.arrayBuffer();
  return { ok: r.status === 302 && (r.headers.get('location') ?? '').startsWith('https://'), ms: performance.now() - t0 };
}

/** Starts `rate` operations per second for `seconds`, whatever the answers' pace (open loop). */
async function openLoop<T>(rate: number, seconds: number, op: (i: number) => Promise<T>): Promise<T[]> {
  const out: Promise<T>[] = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    out.push(op(i));
  }
  return Promise.all(out);
}

async function main(): Promise<void> {
  console.log('building dataset…');
  const work = await buildSsoDataset(url);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(
    `insert into ent_idps (ent_id, entity_id, sso_url, sso_binding, signing_certificates) values ('Z0', $1, $2, 'HTTP-Redirect', $3)`,
    [idp.entityId, idp.ssoUrl, [idp.certPem]],
  );
  // GAR's way: every resource has a landing page the browser is sent to.
  await c.query(`update resources set resource_url = 'https://' || replace(id, ':', '-') || '.pub.test/'`);
  await c.end();
  const broker = await startBrokerServer(url, PORT, { RATE_LIMIT_PER_MINUTE: '0', BROKER_BASE_URL: BASE });
  const pid = broker.process.pid!;

  await openLoop(5, 2, (i) => journey(work[i]!)); // warm-up
  let cpu0 = cpuSeconds(pid);
  const full = await openLoop(FULL_RATE, SECONDS, (i) => journey(work[100 + i]!));
  const fullCpu = cpuSeconds(pid) - cpu0;

  // Sessions from the full journeys, each reused for another resource of the same school.
  const sessions = full.map((j, i) => ({ j, t: work[100 + i]! })).filter((x) => x.j.ok && x.j.cookie);
  const others = new Map<string, string[]>();
  for (const w of work) others.set(w.uai, [...(others.get(w.uai) ?? []), w.resourceId]);
  cpu0 = cpuSeconds(pid);
  const reused = await openLoop(REUSE_RATE, SECONDS, (i) => {
    const s = sessions[i % sessions.length]!;
    const list = others.get(s.t.uai)!;
    return reuse({ ...s.t, resourceId: list[i % list.length]! }, s.j.cookie!);
  });
  const reuseCpu = cpuSeconds(pid) - cpu0;
  broker.stop();

  const okFull = full.filter((j) => j.ok);
  const okReuse = reused.filter((r) => r.ok);
  console.log(
    JSON.stringify(
      {
        fullDoor: {
          offeredJourneysPerSecond: FULL_RATE,
          seconds: SECONDS,
          journeys: full.length,
          completed: okFull.length,
          serverCpuSeconds: Number(fullCpu.toFixed(2)),
          journeysPerServerCpuSecond: Math.round(okFull.length / fullCpu),
          entryLinkMs: { p50: pct(okFull.map((j) => j.entryMs), 50), p99: pct(okFull.map((j) => j.entryMs), 99) },
          acsMs: { p50: pct(okFull.map((j) => j.acsMs), 50), p99: pct(okFull.map((j) => j.acsMs), 99) },
          brokerTimePerJourneyMs: {
            p50: pct(okFull.map((j) => j.entryMs + j.acsMs), 50),
            p99: pct(okFull.map((j) => j.entryMs + j.acsMs), 99),
          },
        },
        sessionReuse: {
          offeredRequestsPerSecond: REUSE_RATE,
          seconds: SECONDS,
          requests: reused.length,
          completed: okReuse.length,
          serverCpuSeconds: Number(reuseCpu.toFixed(2)),
          requestsPerServerCpuSecond: Math.round(okReuse.length / reuseCpu),
          latencyMs: { p50: pct(okReuse.map((r) => r.ms), 50), p99: pct(okReuse.map((r) => r.ms), 99) },
        },
      },
      null,
      2,
    ),
  );
}

await main();
process.exit(0);
