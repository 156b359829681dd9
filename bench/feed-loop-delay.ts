/*
 * How long do the four large feeds of bench/feed-isolation.ts block the event loop? (Not part of
 * `npm test`.) In one process: the app on PostgreSQL, the feeds sent through app.inject, and
 * perf_hooks' event-loop delay histogram sampled meanwhile (idle first, for reference). Delays are
 * far less sensitive to the machine's load than SSO latencies: they count the time the loop could not
 * turn. CPU_PROFILE=file.cpuprofile also writes a profile of the feed part (open in Chrome devtools).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/feed-loop-delay.ts
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { bearer, buildTestApp } from '../test/helper.js';
import { UAI_A, entZ0, onboard } from '../test/directory-fixtures.js';
import { largeFeeds } from './feed-bodies.js';

if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL (the server of the test databases)');


const ms = (ns: number) => Math.round(ns / 1e5) / 10;
const summary = (h: ReturnType<typeof monitorEventLoopDelay>) => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), samples: h.count });

async function main() {
  const teardowns: Array<() => unknown> = [];
  const { app } = await buildTestApp({ teardown: (fn: () => unknown) => void teardowns.push(fn) } as never);
  await onboard(app);
  const idle = monitorEventLoopDelay({ resolution: 5 });
  idle.enable();
  await new Promise((r) => setTimeout(r, 2000));
  idle.disable();

  const session = process.env.CPU_PROFILE ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const bodies = largeFeeds(UAI_A); // built before measuring: the client's work is not the server's
  const busy = monitorEventLoopDelay({ resolution: 5 });
  // Stalls of the loop, measured directly: a 5 ms timer that fires late by more than 50 ms.
  const stalls: number[] = [];
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    if (now - last > 55) stalls.push(Math.round(now - last - 5));
    last = now;
  }, 5);
  busy.enable();
  const results = [];
  for (const f of bodies) {
    const t0 = performance.now();
    const r = await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: { ...bearer(app, entZ0), 'content-type': 'application/json' }, payload: f.body });
    results.push({ feed: f.name, status: r.statusCode, ms: Math.round(performance.now() - t0) });
  }
  busy.disable();
  clearInterval(tick);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(process.env.CPU_PROFILE!, JSON.stringify(profile));
  }
  stalls.sort((a, b) => b - a);
  console.log(JSON.stringify({ idle: summary(idle), underFeeds: summary(busy), stallsOver50ms: { count: stalls.length, totalMs: stalls.reduce((a, b) => a + b, 0), longest: stalls.slice(0, 8) }, feeds: results }, null, 1));
  for (const fn of teardowns.reverse()) await fn();
  process.exit(0);
}

await main();
