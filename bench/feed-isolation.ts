/*
 * Feed isolation benchmark (not part of `npm test`): does a large directory feed slow SSO down?
 *
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/feed-isolation.ts
 *
 * Starts the built broker on the SSO dataset (bench/sso-dataset.ts), then offers POST /v1/sso at a
 * fixed rate (open loop: requests leave on schedule whether or not earlier ones have answered) and
 * prints p50/p99: idle, then while four ~20 MiB feeds are sent back to back (two valid snapshots,
 * one nested 4 M levels deep, one with 150,000 memberships naming unknown people). Peak RSS of the
 * broker is read from /proc.
 * The nightly-archive import rate and its peak RSS: bench/feed-export.ts.
 */
import { readFileSync } from 'node:fs';
import { buildSsoDataset, benchDatabaseUrl, startBrokerServer } from './sso-dataset.js';

const PORT = 3391;
const RATE = Number(process.env.RATE ?? 100);
const url = benchDatabaseUrl();

function rssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Offers SSO requests at RATE per second until `until` resolves; returns sorted latencies in ms. */
async function openLoop(token: string, work: unknown[], until: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
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
    pending.push(
      fetch(`http://127.0.0.1:${PORT}/v1/sso`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
        .then((r) => r.arrayBuffer())
        .then(() => void latencies.push(performance.now() - sent)),
    );
  }
  await Promise.all(pending);
  return latencies.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => Math.round(xs[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! * 10) / 10;

function feeds(uai: string): Array<{ name: string; body: string }> {
  const filler = 'x'.repeat(480);
  const people = Array.from({ length: 17_000 }, (_, i) => ({ id: `F-${i}`, lastName: filler, firstName: 'Bench', profiles: [{ uai, profile: 'National_elv' }] }));
  const valid = JSON.stringify({ people, groups: [], memberships: [] });
  const nested = `{"people":[],"x":${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}}`;
  const badRefs = JSON.stringify({
    people: people.slice(0, 1000),
    groups: [{ code: '3A', name: '3A', kind: 'DIVISION' }],
    memberships: Array.from({ length: 150_000 }, (_, i) => ({ personId: `nobody-${i}-${filler.slice(0, 40)}`, groupCode: '3A' })),
  });
  return [
    { name: 'valid', body: valid },
    { name: 'nested 4M', body: nested },
    { name: 'valid again', body: valid },
    { name: '150k bad refs', body: badRefs },
  ];
}

async function main() {
  console.log('building dataset…');
  const work = await buildSsoDataset(url);
  const broker = await startBrokerServer(url, PORT, { RATE_LIMIT_PER_MINUTE: '0' });
  try {
    const token = broker.entToken;
    await openLoop(token, work, new Promise((r) => setTimeout(r, 3000))); // warm-up
    const idle = await openLoop(token, work, new Promise((r) => setTimeout(r, 15_000)));
    const uai = (work[0] as { uai: string }).uai;
    const results: Array<{ feed: string; MiB: number; status: number; ms: number }> = [];
    const sendFeeds = (async () => {
      for (const f of feeds(uai)) {
        const t0 = performance.now();
        const r = await fetch(`http://127.0.0.1:${PORT}/v1/establishments/${uai}/directory`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: f.body,
        });
        await r.arrayBuffer();
        results.push({ feed: f.name, MiB: Math.round((f.body.length / 1048576) * 10) / 10, status: r.status, ms: Math.round(performance.now() - t0) });
      }
    })();
    const busy = await openLoop(token, work, sendFeeds);
    console.log(JSON.stringify({
      rate: RATE,
      idle: { n: idle.length, p50: pct(idle, 50), p99: pct(idle, 99) },
      underFeeds: { n: busy.length, p50: pct(busy, 50), p99: pct(busy, 99) },
      ratioP99: Math.round((pct(busy, 99) / pct(idle, 99)) * 100) / 100,
      feeds: results,
      peakRssMiB: rssMiB(broker.process.pid!),
    }, null, 1));
  } finally {
    broker.stop();
  }
}

await main();
