import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { buildApp } from '../src/app.js';
import { bearer, freshDatabase, testConfig } from './helper.js';

// The machine's Redis (CI starts it with PostgreSQL). REDIS_URL points elsewhere if needed.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function replica(t: Parameters<typeof freshDatabase>[0], database: Awaited<ReturnType<typeof freshDatabase>>, redisUrl: string, log?: string[]) {
  const logStream = log
    ? new Writable({
        write(chunk, _enc, done) {
          log.push(chunk.toString());
          done();
        },
      })
    : undefined;
  // A generous Redis timeout: past it a request passes uncounted by design, and a loaded test
  // process (PGlite's queries run on its event loop) can stall longer than the default 250 ms.
  const app = await buildApp(testConfig({ rateLimitPerMinute: 5, rateLimitRedisUrl: redisUrl, rateLimitRedisTimeoutMs: 5_000, ...(log ? { logLevel: 'warn' } : {}) }), {
    database,
    ...(logStream ? { logStream } : {}),
  });
  t.teardown(() => app.close());
  await app.ready();
  return app;
}

t.test('with RATE_LIMIT_REDIS_URL, replicas share one count per caller', async (t) => {
  const database = await freshDatabase(t);
  const [a, b] = [await replica(t, database, REDIS_URL), await replica(t, database, REDIS_URL)];
  // A subject of its own: runs of this test never share a counter.
  const caller = { sub: `op-${randomUUID()}`, role: 'operator' } as const;
  const get = (app: typeof a) => app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, caller) });
  const statuses = [];
  for (const app of [a, b, a, b, a]) statuses.push((await get(app)).statusCode);
  t.same(statuses, [200, 200, 200, 200, 200], 'five requests across both replicas');
  const sixth = await get(b);
  t.equal(sixth.statusCode, 429, 'the sixth is refused whichever replica takes it');
  t.equal(sixth.json().type, 'urn:gar-broker:problem:too-many-requests');
  t.equal((await get(a)).statusCode, 429, 'and on the other one too');
  const other = { sub: `op-${randomUUID()}`, role: 'operator' } as const;
  t.equal((await a.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(a, other) })).statusCode, 200, 'another caller has its own budget');
});

t.test('Redis out of reach: requests pass, the operator is told, nothing fails', async (t) => {
  const database = await freshDatabase(t);
  const log: string[] = [];
  // Port 1 on loopback: connection refused at once.
  const app = await replica(t, database, 'redis://127.0.0.1:1', log);
  const caller = { sub: `op-${randomUUID()}`, role: 'operator' } as const;
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, caller) })).statusCode);
  t.same(statuses, Array(8).fill(200), 'no 429 and no 500 without the counters');
  t.ok(
    log.some((line) => /Redis/.test(line) && /"level":40/.test(line)),
    'a warning says the limits are not applied',
  );
});
