/*
 * bench/soak.ts — POST /v1/sso at a steady rate for a long time, to see whether latency or the
 * server's memory drift. Not part of `npm test`.
 *
 *   npm run build
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/soak.ts [--rate 400] [--minutes 10]
 *
 * The rate should be half the maximum `bench/sso.ts` measured on the same machine. Builds the
 * bench/sso.ts dataset, starts dist/src/server.js with the default per-caller limits, loads it in
 * one-minute rounds of autocannon at the given overall rate, and prints per minute: requests,
 * p50/p99/max, errors (non-2xx answers, socket errors, timeouts: must be 0) and the server's RSS
 * (sampled every 5 s from /proc: it must stay flat once warm). Exits 1 if any error occurred.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { benchDatabaseUrl, buildSsoDataset, startBrokerServer } from './sso-dataset.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '400' },
    minutes: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    port: { type: 'string', default: '3998' },
  },
});
const RATE = Number(values.rate);
const MINUTES = Number(values.minutes);
const CONNECTIONS = Number(values.connections);
if (!(RATE > 0) || !(MINUTES > 0) || !(CONNECTIONS > 0)) throw new Error('--rate, --minutes and --connections must be positive numbers');

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
};

interface Round {
  minute: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  rssMiB: { min: number; max: number; end: number };
}

async function main(): Promise<void> {
  const url = benchDatabaseUrl();
  console.log('building dataset…');
  const work = await buildSsoDataset(url);
  const broker = await startBrokerServer(url, Number(values.port));
  const pid = broker.process.pid!;
  console.log(`server pid ${pid}, RSS at start ${rssMiB(pid)} MiB; ${RATE} req/s for ${MINUTES} min over ${CONNECTIONS} connections`);

  let i = 0;
  const rounds: Round[] = [];
  // The last round may be a part-minute.
  const roundSeconds = Array.from({ length: Math.ceil(MINUTES) }, (_, k) => Math.min(60, Math.round((MINUTES - k) * 60)));
  for (const [k, seconds] of roundSeconds.entries()) {
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssMiB(pid)), 5000);
    const r = await autocannon({
      url: `http://127.0.0.1:${broker.port}/v1/sso`,
      connections: CONNECTIONS,
      overallRate: RATE,
      duration: seconds,
      method: 'POST',
      headers: { authorization: `Bearer ${broker.entToken}`, 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(work[i++ % work.length]) }) }],
    });
    clearInterval(sampler);
    const end = rssMiB(pid);
    samples.push(end);
    const round: Round = {
      minute: k + 1,
      requests: r.requests.total,
      perSecond: Math.round(r.requests.average),
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      errors: r.non2xx + r.errors + r.timeouts,
      rssMiB: { min: Math.min(...samples), max: Math.max(...samples), end },
    };
    rounds.push(round);
    console.log(
      `minute ${String(round.minute).padStart(2)}: ${round.requests} req (${round.perSecond}/s)  p50 ${round.p50} ms  p99 ${round.p99} ms  ` +
        `max ${round.max} ms  errors ${round.errors}  RSS ${round.rssMiB.min}–${round.rssMiB.max} MiB (end ${round.rssMiB.end})`,
    );
  }
  broker.stop();

  const errors = rounds.reduce((n, r) => n + r.errors, 0);
  const ends = rounds.map((r) => r.rssMiB.end);
  // The first minute is warm-up (JIT, pool, prepared statements, the first major GC): growth from
  // the end of the second minute to the end is what would be a leak.
  const growth = ends.length > 2 ? Math.round((ends[ends.length - 1]! - ends[1]!) * 10) / 10 : null;
  console.log(
    JSON.stringify(
      {
        rate: RATE,
        minutes: MINUTES,
        connections: CONNECTIONS,
        requests: rounds.reduce((n, r) => n + r.requests, 0),
        errors,
        p99PerMinuteMs: rounds.map((r) => r.p99),
        p50PerMinuteMs: rounds.map((r) => r.p50),
        rssEndOfMinuteMiB: ends,
        rssGrowthFromMinute2MiB: growth,
      },
      null,
      2,
    ),
  );
  process.exit(errors === 0 ? 0 : 1);
}

await main();
