/*
 * Feed isolation benchmark (not part of `npm test`): does a large directory feed slow SSO down?
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/feed-isolation.ts
 *
 * Starts the built broker on the SSO dataset (bench/sso-dataset.ts), then offers POST /v1/sso at a
 * fixed rate (open loop: requests leave on schedule whether or not earlier ones have answered) and
 * prints p50/p99: idle, then while four 16–18 MiB feeds are sent back to back (bench/feed-bodies.ts:
 * two valid snapshots, one nested 9 M levels deep, one with 150,000 memberships naming unknown
 * people). Peak RSS of the broker is read from /proc. The load generator's own event-loop delay is
 * printed too: a late request is counted as latency, so a stall on this side would be blamed on the
 * broker.
 * The nightly-archive import rate and its peak RSS: bench/feed-export.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildSsoDataset, benchDatabaseUrl, startBrokerServer } from './sso-dataset.js';
import { largeFeeds } from './feed-bodies.js';

const PORT = 3391;
const RATE = Number(process.env.RATE ?? 100);
const url = benchDatabaseUrl();

function rssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

type Sample = { at: number; ms: number };

/** Offers SSO requests at RATE per second until `until` resolves; returns each request's schedule (epoch ms) and latency. */
async function openLoop(token: string, work: unknown[], until: Promise<unknown>): Promise<Sample[]> {
  const samples: Sample[] = [];
  const pending: Promise<void>[] = [];
  let done = false;
  void until.then(() => (done = true));
  let i = 0;
  const start = performance.now();
  while (!done) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = JSON.stringify(work[i++ % work.length]);
    const sent = due; // latency from the scheduled time: waiting to be sent counts (no coordinated omission)
    const at = performance.timeOrigin + due;
    pending.push(
      fetch(`http://127.0.0.1:${PORT}/v1/sso`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
        .then((r) => r.arrayBuffer())
        .then(() => void samples.push({ at, ms: performance.now() - sent })),
    );
  }
  await Promise.all(pending);
  return samples;
}

const pct = (samples: Sample[], p: number) => {
  const xs = samples.map((x) => x.ms).sort((a, b) => a - b);
  return Math.round(xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! * 10) / 10;
};


const METRICS = 'bench-metrics-token-0123456789';

/**
 * The broker's own event-loop delay since the last read (prom-client's histogram, reset at each
 * scrape): tells a stalled event loop from a machine short of CPU.
 */
async function brokerLoopDelay(): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
  const read = (name: string) => Math.round(Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 10_000) / 10;
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}

type FeedResult = { feed: string; MiB: number; status: number; ms: number; from: number; to: number };

/**
 * The child's side: builds the four bodies, says it is ready, waits for the go (a line on stdin), then
 * sends the feeds back to back and prints what each got.
 */
async function sendFeeds(token: string, uai: string): Promise<void> {
  const bodies = largeFeeds(uai).map((f) => ({ name: f.name, body: Buffer.from(f.body) }));
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const results: FeedResult[] = [];
  for (const f of bodies) {
    const t0 = performance.now();
    const from = Date.now();
    const r = await fetch(`http://127.0.0.1:${PORT}/v1/establishments/${uai}/directory`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: f.body,
    });
    await r.arrayBuffer();
    results.push({ feed: f.name, MiB: Math.round((f.body.length / 1048576) * 10) / 10, status: r.status, ms: Math.round(performance.now() - t0), from, to: Date.now() });
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
}

/**
 * The feeds leave from a process of their own, as they would from an ENT's machine: building and
 * sending 18 MiB bodies in the load generator's process would delay its requests (counted as the
 * broker's latency). That process stands for another machine, so it runs at a lower priority
 * (nice 10) and is started, and its bodies built, before the measurement; `go()` starts the sending.
 */
async function feedSender(token: string, uai: string): Promise<{ go: () => Promise<FeedResult[]> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'send-feeds', token, uai], { stdio: ['pipe', 'pipe', 'inherit'] });
  setPriority(child.pid!, 10);
  let out = '';
  const exited = new Promise<FeedResult[]>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('\n') + 1)) as FeedResult[]) : reject(new Error(`feed sender exited ${code}`)))),
  );
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    }),
  );
  return { go: () => (child.stdin.write('go\n'), exited) };
}

async function main() {
  console.log('building dataset…');
  const work = await buildSsoDataset(url);
  // CPU_PROF_DIR=dir: the broker writes V8 profiles there (main thread and feed threads) when it stops.
  const profiling = [
    ...(process.env.CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.CPU_PROF_DIR] : []),
    // BROKER_NODE_ARGS: node options for the broker (e.g. V8 GC flags), to compare settings.
    ...(process.env.BROKER_NODE_ARGS ? process.env.BROKER_NODE_ARGS.split(' ') : []),
  ];
  const broker = await startBrokerServer(url, PORT, { RATE_LIMIT_PER_MINUTE: '0', METRICS_TOKEN: METRICS }, profiling);
  try {
    const token = broker.entToken;
    await openLoop(token, work, new Promise((r) => setTimeout(r, 3000))); // warm-up
    const idle = await openLoop(token, work, new Promise((r) => setTimeout(r, 15_000)));
    const uai = (work[0] as { uai: string }).uai;
    const sender = await feedSender(token, uai);
    await brokerLoopDelay(); // read (and reset) before the busy phase
    const sendFeeds = sender.go();
    const clientDelay = monitorEventLoopDelay({ resolution: 5 });
    clientDelay.enable();
    const busy = await openLoop(token, work, sendFeeds);
    clientDelay.disable();
    const brokerLoop = await brokerLoopDelay();
    if (process.env.SLOW_LOG) {
      const fs = await sendFeeds;
      const t0 = fs[0]!.from;
      console.log('feeds', fs.map((f) => [f.feed, f.from - t0, f.to - t0]));
      console.log('slow', busy.filter((x) => x.ms > 40).map((x) => [Math.round(x.at - t0), Math.round(x.ms)]));
    }
    console.log(JSON.stringify({
      rate: RATE,
      idle: { n: idle.length, p50: pct(idle, 50), p99: pct(idle, 99) },
      underFeeds: { n: busy.length, p50: pct(busy, 50), p99: pct(busy, 99) },
      ratioP99: Math.round((pct(busy, 99) / pct(idle, 99)) * 100) / 100,
      // Where the slow answers fell: SSO p99 while each feed was being sent and answered.
      feeds: (await sendFeeds).map(({ from, to, ...f }) => {
        const during = busy.filter((x) => x.at >= from && x.at < to);
        return { ...f, sso: during.length ? { n: during.length, p99: pct(during, 99), max: pct(during, 100) } : undefined };
      }),
      peakRssMiB: rssMiB(broker.process.pid!),
      brokerLoopDelayMs: brokerLoop,
      loadGeneratorLoopDelayMs: { p99: Math.round(clientDelay.percentile(99) / 1e5) / 10, max: Math.round(clientDelay.max / 1e5) / 10 },
    }, null, 1));
  } finally {
    broker.stop();
  }
}

if (process.argv[2] === 'send-feeds') await sendFeeds(process.argv[3]!, process.argv[4]!);
else await main();
