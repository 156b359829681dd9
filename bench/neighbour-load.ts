/*
 * How much does a neighbour at the lowest CPU priority slow SSO on this machine? (Not part of
 * `npm test`; the control experiment for bench/feed-isolation.ts.) Starts the built broker on the SSO
 * dataset, offers POST /v1/sso at 100/s (open loop), idle, then while another process runs at nice
 * 19 doing one kind of work: `cpu` (a bare loop), `young` (small objects that die young), `fresh`
 * (64 MiB buffers allocated again and again), `warm` (one 64 MiB buffer written again and again),
 * `mem` (a V8 heap of millions of objects rebuilt again and again: old-generation garbage collection,
 * what parsing and applying a large feed does). Prints p50 / p99 / p99.9 in ms for each.
 *
 *   npm run build && MODES=cpu,mem DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/neighbour-load.ts
 */
import { spawn } from 'node:child_process';
import { benchDatabaseUrl, buildSsoDataset, startBrokerServer } from './sso-dataset.js';
const PORT = 3392;
const url = benchDatabaseUrl();
async function openLoop(token: string, work: unknown[], ms: number): Promise<number[]> {
  const lat: number[] = []; const pending: Promise<void>[] = [];
  const start = performance.now(); let i = 0;
  while (performance.now() - start < ms) {
    const due = start + i * 10; const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = JSON.stringify(work[i++ % work.length]);
    pending.push(fetch(`http://127.0.0.1:${PORT}/v1/sso`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body }).then((r) => r.arrayBuffer()).then(() => void lat.push(performance.now() - due)));
  }
  await Promise.all(pending);
  return lat.sort((a, b) => a - b);
}
const p = (xs: number[], q: number) => Math.round(xs[Math.floor(xs.length * q)]! * 10) / 10;
const work = await buildSsoDataset(url);
const broker = await startBrokerServer(url, PORT, { RATE_LIMIT_PER_MINUTE: '0' });
await openLoop(broker.entToken, work, 3000);
const idle = await openLoop(broker.entToken, work, 10000);
console.log('idle', p(idle, 0.5), p(idle, 0.99), p(idle, 0.999));
for (const mode of (process.env.MODES ?? 'cpu,young,fresh,warm,mem').split(',')) {
  const codes: Record<string, string> = {
    cpu: 'for(;;){}',
    mem: 'for(;;){ const a=[]; for(let i=0;i<2e6;i++) a.push({i, s: "x"+i}); }',
    young: 'for(;;){ let a=[]; for(let i=0;i<1000;i++) a.push({i, s: "x"+i}); }',
    fresh: 'for(;;){ const b = Buffer.alloc(64*1024*1024, 1); }',
    warm: 'const b = Buffer.alloc(64*1024*1024); for(;;){ b.fill(1); }',
  };
  const code = codes[mode];
  if (!code) throw new Error(`unknown mode ${mode} (one of ${Object.keys(codes).join(', ')})`);
  const burner = spawn('nice', ['-n', '19', process.execPath, '-e', code], { stdio: 'ignore' });
  const busy = await openLoop(broker.entToken, work, 10000);
  burner.kill();
  console.log(mode, 'nice19 burner', p(busy, 0.5), p(busy, 0.99), p(busy, 0.999));
}
broker.stop();
process.exit(0);
