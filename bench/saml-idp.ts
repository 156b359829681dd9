/*
 * bench/saml-idp.ts — SP-initiated SAML with a live browser session: GET
 * /idp/profile/SAML2/Redirect/SSO (AuthnRequest inflate and parse, SP lookup, session lookup, the
 * one access decision, Response with two RSA-2048 signatures, access-log row).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/saml-idp.ts
 *
 * The broker runs in this process (so that browser sessions can be opened for it as the tests do)
 * and the load in a child process, so this process's CPU time is the server's alone. Prints
 * responses/s saturated (autocannon), p50/p99 at half that rate, server CPU seconds, F (RSA-2048
 * signatures/s, one core, KeyObject) and the ratio (responses per server CPU-second) / (F / 2).
 *
 * Half rate is offered paced: one request every 1/rate s on up to BENCH_CONNECTIONS keep-alive
 * sockets, latency counted from when the request was due (a late start counts). autocannon's
 * overallRate is also run, for comparison with the earlier figures, but it is not a fixed rate:
 * each connection sends its share of the second back to back when the second starts, then waits,
 * so the server sees a saturating burst every second; and its coordinated-omission correction takes
 * 1/rate as milliseconds (rate per connection per second: an expected interval of 1 ms), adding a
 * synthetic sample per millisecond of every slow answer. The server's event-loop delay and GC
 * pauses during the paced run say where its tail comes from.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { buildApp } from '../src/app.js';
import { connectPostgres } from '../src/db/connect.js';
import { createSelfSignedCertificate } from '../src/saml/self-signed.js';
import { testConfig } from '../test/helper.js';
import { openSession } from '../test/browser-session.js';
import { authnRequestPath, benchDatabaseUrl, buildSsoDataset, countStatements, signingRate } from './sso-dataset.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PORT = 3998;
const WORK = '/tmp/garb-idp-bench.json';

type Req = { path: string; cookie: string };

type Percentiles = { p50: number; p99: number; max: number };
type LoadResult = { ok: number; non2xx: number; errors: number; rps: number; latency: Percentiles; sendLag?: Percentiles };

const percentiles = (values: number[]): Percentiles => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
};

/** Open loop: request k is due at k/rate s; its latency runs from then, so queueing in the client counts too. */
async function paced(work: Req[], rate: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  // How late the generator itself sent (its own process starved of CPU): part of the latency above.
  const lags: number[] = [];
  let ok = 0, non2xx = 0, errors = 0, sent = 0, done = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const finished = (due: number, status: number | null) => {
      latencies.push(performance.now() - due);
      if (status === null) errors++;
      else if (status >= 200 && status < 300) ok++;
      else non2xx++;
      if (++done === total) resolve();
    };
    const fire = (due: number) => {
      lags.push(performance.now() - due);
      const r = work[sent % work.length]!;
      const req = http.get({ agent, host: '127.0.0.1', port: PORT, path: r.path, headers: { cookie: r.cookie } }, (res) => {
        res.resume();
        res.on('end', () => finished(due, res.statusCode ?? 0));
      });
      req.on('error', () => finished(due, null));
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + (sent * 1000) / rate <= now) fire(t0 + (sent++ * 1000) / rate);
      if (sent < total) setTimeout(tick, Math.max(0, t0 + (sent * 1000) / rate - performance.now()));
    };
    tick();
  });
  agent.destroy();
  return { ok, non2xx, errors, rps: (ok * 1000) / (performance.now() - t0), latency: percentiles(latencies), sendLag: percentiles(lags) };
}

// --- the load generator, in its own process ---
if (process.argv[2] === 'load' || process.argv[2] === 'paced') {
  const [, , mode, rateArg, durationArg] = process.argv;
  const work = JSON.parse((await import('node:fs')).readFileSync(WORK, 'utf8')) as Req[];
  if (mode === 'paced') {
    process.stdout.write(JSON.stringify(await paced(work, Number(rateArg), Number(durationArg))));
    process.exit(0);
  }
  let i = 0;
  const rate = Number(rateArg);
  const result = await autocannon({
    url: `http://127.0.0.1:${PORT}`,
    connections: CONNECTIONS,
    duration: Number(durationArg),
    ...(rate > 0 ? { overallRate: rate } : {}),
    requests: [{ setupRequest: (req) => { const r = work[i++ % work.length]!; return { ...req, method: 'GET', path: r.path, headers: { cookie: r.cookie } }; } }],
  });
  process.stdout.write(JSON.stringify({ ok: result['2xx'], non2xx: result.non2xx, errors: result.errors, rps: result.requests.average, latency: result.latency }));
  process.exit(0);
}

const load = (rate: number, duration: number, mode: 'load' | 'paced' = 'load'): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, mode, String(rate), String(duration)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
  });

const ms = (ns: number) => Math.round(ns / 1e5) / 10;

async function main(): Promise<void> {
  const url = benchDatabaseUrl();
  console.log('building dataset…');
  const targets = await buildSsoDataset(url);
  const database = connectPostgres(url, 16);
  const idpKeys = createSelfSignedCertificate('bench IdP');
  const app = await buildApp(
    testConfig({ databaseUrl: url, samlSigningKey: idpKeys.keyPem, samlSigningCert: idpKeys.certPem, logLevel: 'warn', rateLimitPerMinute: 0, brokerBaseUrl: `http://127.0.0.1:${PORT}` }),
    { database, ownsDatabase: true },
  );
  await app.listen({ port: PORT, host: '127.0.0.1' });

  // One session per person, one AuthnRequest per (person, resource): unsigned, as most SPs send them.
  const cookies = new Map<string, string>();
  const work: Req[] = [];
  for (const [n, t] of targets.slice(0, 5000).entries()) {
    let cookie = cookies.get(t.personId);
    if (!cookie) {
      cookie = (await openSession(app, { entId: 'Z0', personId: t.personId, uaiHint: t.uai })).cookie;
      cookies.set(t.personId, cookie);
    }
    work.push({ path: authnRequestPath(`_b${n}`, t.resourceId), cookie });
  }
  writeFileSync(WORK, JSON.stringify(work));
  const probe = await app.inject({ url: work[0]!.path, headers: { cookie: work[0]!.cookie } });
  if (probe.statusCode !== 200 || !probe.body.includes('SAMLResponse')) throw new Error(`the probe was not answered: ${probe.statusCode} ${probe.body.slice(0, 300)}`);

  await load(0, 3); // warm-up
  // Statements during the saturated run (group commits share theirs).
  const statements = countStatements();
  const cpu0 = process.cpuUsage();
  const saturated = await load(0, DURATION);
  const cpu = process.cpuUsage(cpu0);
  statements.stop();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const halfRate = Math.round(saturated.rps / 2);
  const halfBursts = await load(halfRate, DURATION);
  // The paced run, watched from the server: event-loop delay and GC pauses.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const gcPauses: number[] = [];
  const gcByKind: Record<string, number> = {};
  const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  const gc = new PerformanceObserver((list) =>
    list.getEntries().forEach((e) => {
      gcPauses.push(e.duration);
      const kind = GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      gcByKind[kind] = Math.round(((gcByKind[kind] ?? 0) + e.duration) * 10) / 10;
    }),
  );
  gc.observe({ entryTypes: ['gc'] });
  // Server-side time of each answer (headers read → last byte written), to tell the server's tail from the client's.
  const serverMs: number[] = [];
  const timeAnswer = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const t = performance.now();
    res.once('finish', () => serverMs.push(performance.now() - t));
  };
  app.server.on('request', timeAnswer);
  loopDelay.enable();
  const half = await load(halfRate, DURATION, 'paced');
  loopDelay.disable();
  gc.disconnect();
  app.server.off('request', timeAnswer);

  await app.close();
  const F = signingRate(idpKeys.keyPem);
  const perCpuSecond = saturated.ok / cpuSeconds;
  console.log(
    JSON.stringify(
      {
        connections: CONNECTIONS,
        durationSeconds: DURATION,
        responses2xx: saturated.ok,
        non2xx: saturated.non2xx,
        errors: saturated.errors,
        requestsPerSecond: Math.round(saturated.rps),
        latencyMs: saturated.latency && { p50: saturated.latency.p50, p99: saturated.latency.p99 },
        atHalfRate: {
          requestsPerSecond: halfRate,
          responses2xx: half.ok,
          non2xx: half.non2xx,
          errors: half.errors,
          latencyMs: half.latency,
          generatorSendLagMs: half.sendLag,
          serverSideMs: percentiles(serverMs),
          serverEventLoopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
          serverGcPausesMs: { count: gcPauses.length, total: Math.round(gcPauses.reduce((a, b) => a + b, 0)), max: Math.round(Math.max(0, ...gcPauses) * 10) / 10, msByKind: gcByKind },
        },
        atHalfRateAutocannonOverallRate: { responses2xx: halfBursts.ok, latencyMs: { p50: halfBursts.latency.p50, p99: halfBursts.latency.p99, max: halfBursts.latency.max } },
        serverCpuSeconds: Number(cpuSeconds.toFixed(2)),
        responsesPerServerCpuSecond: Math.round(perCpuSecond),
        sqlStatementsPerAnswerSaturated: Number((statements.count() / saturated.ok).toFixed(2)),
        rsaSignaturesPerSecondOneCore_F: Math.round(F),
        ratio: Number((perCpuSecond / (F / 2)).toFixed(3)),
      },
      null,
      2,
    ),
  );
}

await main();
process.exit(0);
