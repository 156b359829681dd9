/**
 * Two ENTs on POST /v1/sso: Z0 floods (64 requests always in flight), Z1 sends a modest 20/s. Prints
 * Z1's p50/p99 and Z0's throughput with fair share off and on. In-process (app.inject) on the test
 * database (PostgreSQL with DATABASE_URL, else PGlite):
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/fair-share.ts [seconds]
 * Z1 names Z0's school, so it is refused (establishment_out_of_scope) after the same decision query
 * and access-log write as a grant: its latency is what the flood does to it.
 */
import { buildTestApp, tokenFor } from '../test/helper.js';
import { world } from '../test/sso-world.js';
import { RES_P1, UAI_A } from '../test/factories.js';

const seconds = Number(process.argv[2] ?? 8);
const teardowns: Array<() => unknown> = [];
const ctx = { teardown: (fn: () => unknown) => teardowns.push(fn) };

async function run(fairShare: boolean) {
  const { app, database } = await buildTestApp(ctx, { config: { fairShareMaxInFlight: fairShare ? 32 : 0, databasePoolSize: 10 } });
  await world(database.db);
  const auth = (entId: string) => ({ authorization: `Bearer ${tokenFor(app, { sub: `ent-${entId}`, role: 'ent', entId }, { expiresIn: '1h' })}` });
  const z0 = auth('Z0');
  const z1 = auth('Z1');
  const payload = { uai: UAI_A, personId: 'E1', resourceId: RES_P1 };
  const end = Date.now() + seconds * 1000;
  let floodDone = 0;
  let flood503 = 0;
  const flooders = Array.from({ length: 64 }, async () => {
    while (Date.now() < end) {
      const r = await app.inject({ method: 'POST', url: '/v1/sso', headers: z0, payload });
      if (r.statusCode === 503) flood503++;
      floodDone++;
    }
  });
  const lat: number[] = [];
  const other: Promise<void>[] = [];
  while (Date.now() < end) {
    other.push(
      (async () => {
        const t0 = performance.now();
        await app.inject({ method: 'POST', url: '/v1/sso', headers: z1, payload });
        lat.push(performance.now() - t0);
      })(),
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all([...flooders, ...other]);
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(1);
  console.log(
    `fair share ${fairShare ? 'on ' : 'off'}: Z1 n=${lat.length} p50=${q(0.5)} ms p99=${q(0.99)} ms | Z0 ${(floodDone / seconds).toFixed(0)} req/s, ${flood503} x 503`,
  );
  await app.close();
}

await run(false);
await run(true);
for (const fn of teardowns.reverse()) await fn();
