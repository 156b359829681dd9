/*
 * bench/sso.ts — throughput and latency of POST /v1/sso against PostgreSQL, with the server's own
 * CPU time, and the raw RSA-2048 signing rate of this machine in the same run.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/sso.ts
 *
 * Builds the dataset (10,000 people in 20 schools, 50 resources, assignments through classes),
 * starts dist/src/server.js as a child process (run `npm run build` first), loads it with
 * autocannon at 64 connections, and prints: responses/s, p50/p99 saturated and at half that rate,
 * server CPU seconds, F (RSA signatures/s on one core with a KeyObject) and the ratio
 * (responses per server CPU-second) / (F / 2).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { benchDatabaseUrl, buildSsoDataset, signingRate, startBrokerServer } from './sso-dataset.js';

const url = benchDatabaseUrl();
const DURATION = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const PORT = 3999;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

async function main(): Promise<void> {
  console.log('building dataset…');
  const work = await buildSsoDataset(url);
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // Saturation is the point here: the per-caller limit is off.
  const broker = await startBrokerServer(url, PORT, { RATE_LIMIT_PER_MINUTE: '0' }, nodeArgs);
  const server = broker.process;
  const token = broker.entToken;
  let i = 0;
  const load = (duration: number, overallRate?: number) =>
    autocannon({
      ...(overallRate ? { overallRate } : {}),
      url: `http://127.0.0.1:${PORT}/v1/sso`,
      connections: CONNECTIONS,
      duration,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(work[i++ % work.length]) }) }],
    });
  await load(3); // warm-up: JIT, pool, caches
  const cpu0 = cpuSeconds(server.pid!);
  const result = await load(DURATION);
  const cpu = cpuSeconds(server.pid!) - cpu0;
  // Saturated, a closed loop of 64 connections only queues (latency = connections / throughput);
  // the same 64 connections at half that rate show the latency of the service itself.
  const halfRate = Math.round(result.requests.average / 2);
  const half = await load(DURATION, halfRate);
  broker.stop();

  const F = signingRate(broker.signingKeyPem);
  const ok = result['2xx'];
  const perCpuSecond = ok / cpu;
  console.log(JSON.stringify({
    connections: CONNECTIONS,
    durationSeconds: DURATION,
    responses2xx: ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    requestsPerSecond: Math.round(result.requests.average),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    atHalfRate: {
      requestsPerSecond: halfRate,
      responses2xx: half['2xx'],
      non2xx: half.non2xx,
      latencyMs: { p50: half.latency.p50, p99: half.latency.p99, max: half.latency.max },
    },
    serverCpuSeconds: Number(cpu.toFixed(2)),
    responsesPerServerCpuSecond: Math.round(perCpuSecond),
    rsaSignaturesPerSecondOneCore_F: Math.round(F),
    ratio: Number((perCpuSecond / (F / 2)).toFixed(3)),
  }, null, 2));
}

await main();
process.exit(0);
