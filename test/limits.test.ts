import t from 'tap';
import { connect } from 'node:net';
import { buildTestApp, bearer, operator } from './helper.js';
import { world } from './sso-world.js';
import { baseWorld, RES_P1, UAI_A } from './factories.js';

const problemType = /^application\/problem\+json/;
const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;

t.test('body limits: 16 KiB for SSO, 1 MiB for JSON, 20 MiB for the directory feeds', async (t) => {
  const { app } = await buildTestApp(t);
  const post = (url: string, caller: Record<string, unknown>, payload: string, type = 'application/json', method: 'POST' | 'PUT' = 'POST') =>
    app.inject({ method, url, headers: { ...bearer(app, caller), 'content-type': type }, payload });

  const sso = await post('/v1/sso', ent, JSON.stringify({ uai: UAI_A, personId: 'x'.repeat(17 * 1024), resourceId: RES_P1 }));
  t.equal(sso.statusCode, 413, 'SSO: 17 KiB refused');
  t.match(sso.headers['content-type'], problemType);
  t.equal(sso.json().type, 'urn:gar-broker:problem:payload-too-large');
  const ssoSmall = await post('/v1/sso', ent, JSON.stringify({ uai: UAI_A, personId: 'x'.repeat(15 * 1024), resourceId: RES_P1 }));
  t.equal(ssoSmall.statusCode, 400, 'SSO: 15 KiB reaches validation');

  const publisher = { sub: 'pub', role: 'publisher', publisherId: 'P1' };
  const json = await post('/v1/resources', publisher, JSON.stringify({ name: 'x'.repeat(1024 * 1024) }));
  t.equal(json.statusCode, 413, 'an ordinary JSON route: above 1 MiB refused');

  // The feed's scope is checked before its body is read: the school must be the caller's for the size to matter.
  await baseWorld(app.db);
  const snapshot = (size: number) => JSON.stringify({ people: [], padding: 'x'.repeat(size) });
  const feedOk = await post(`/v1/establishments/${UAI_A}/directory`, ent, snapshot(2 * 1024 * 1024), 'application/json', 'PUT');
  t.not(feedOk.statusCode, 413, 'JSON snapshot: 2 MiB is read');
  const feedBig = await post(`/v1/establishments/${UAI_A}/directory`, ent, snapshot(21 * 1024 * 1024), 'application/json', 'PUT');
  t.equal(feedBig.statusCode, 413, 'JSON snapshot: 21 MiB refused');

  const xml = (size: number) => `<?xml version="1.0"?><men:GAR-ENT xmlns:men="http://data.education.fr/ns/gar"><!--${'x'.repeat(size)}--></men:GAR-ENT>`;
  const xmlOk = await post('/v1/feed/gar-ent', ent, xml(2 * 1024 * 1024), 'application/xml');
  t.not(xmlOk.statusCode, 413, 'XML feed: 2 MiB is read');
  t.ok(xmlOk.statusCode < 500, `XML feed answer ${xmlOk.statusCode}`);
  const xmlBig = await post('/v1/feed/gar-ent', ent, xml(21 * 1024 * 1024), 'application/xml');
  t.equal(xmlBig.statusCode, 413, 'XML feed: 21 MiB refused');
  t.match(xmlBig.headers['content-type'], problemType);
});

t.test('rate limits: per token subject and role, a larger budget for ENT, else per address', async (t) => {
  const { app, database } = await buildTestApp(t, { config: { rateLimitPerMinute: 5, rateLimitEntPerMinute: 8 } });
  await world(database.db);
  const get = (headers: Record<string, string> = {}, url = '/v1/attributes', remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'GET', url, headers, remoteAddress });

  const op = bearer(app, operator);
  for (let i = 1; i <= 5; i++) {
    const r = await get(op);
    t.equal(r.statusCode, 200, `operator request ${i}`);
    t.equal(r.headers['x-ratelimit-remaining'], String(5 - i));
  }
  const limited = await get(op);
  t.equal(limited.statusCode, 429, 'the sixth in the minute is refused');
  t.match(limited.headers['content-type'], problemType);
  t.equal(limited.json().type, 'urn:gar-broker:problem:too-many-requests');
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60, `retry-after ${limited.headers['retry-after']}`);

  t.equal((await get(bearer(app, { sub: 'op-2', role: 'operator' }))).statusCode, 200, 'another subject has its own budget');
  t.equal((await get(bearer(app, { sub: 'op-1', role: 'ministry' }))).statusCode, 200, 'the same subject in another role too');

  const e = bearer(app, ent);
  const statuses: number[] = [];
  for (let i = 0; i < 9; i++) {
    const r = await app.inject({ method: 'POST', url: '/v1/sso', headers: e, payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
    statuses.push(r.statusCode);
  }
  t.same(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 429], 'ENT: 8 per minute here, the ninth refused');
  const granted = await database.db.selectFrom('access_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(granted.n), 8, 'a refused-for-rate request is not a decision: no log row');

  // Without a token (or with a refused one) the client address is the key.
  for (let i = 0; i < 5; i++) t.equal((await get({}, '/saml/metadata', '10.0.0.7')).statusCode, 200);
  t.equal((await get({}, '/saml/metadata', '10.0.0.7')).statusCode, 429, 'anonymous: per address');
  t.equal((await get({ authorization: 'Bearer forged' }, '/v1/attributes', '10.0.0.7')).statusCode, 429, 'bad tokens count against their address');
  t.equal((await get({}, '/saml/metadata', '10.0.0.8')).statusCode, 200, 'another address is not affected');
  for (let i = 0; i < 10; i++) t.equal((await get({}, '/health', '10.0.0.7')).statusCode, 200, 'probes are never limited');

});

t.test('rate limits off when RATE_LIMIT_PER_MINUTE is 0', async (t) => {
  const { app } = await buildTestApp(t, { config: { rateLimitPerMinute: 0 } });
  const op = bearer(app, operator);
  for (let i = 0; i < 30; i++) {
    const r = await app.inject({ method: 'GET', url: '/v1/attributes', headers: op });
    if (r.statusCode !== 200) t.fail(`request ${i}: ${r.statusCode}`);
    t.equal(r.headers['x-ratelimit-limit'], undefined);
  }
});

t.test('security headers on every answer; HSTS only behind https', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const check = (r: Awaited<ReturnType<typeof app.inject>>, what: string) => {
    t.equal(r.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
    t.equal(r.headers['referrer-policy'], 'no-referrer', `${what}: referrer-policy`);
    t.equal(r.headers['strict-transport-security'], 'max-age=31536000', `${what}: HSTS`);
    t.ok(r.headers['x-request-id'], `${what}: request id`);
  };
  const json = await app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, operator) });
  check(json, '/v1 JSON');
  t.equal(json.headers['cache-control'], 'no-store');
  t.equal(json.headers['x-frame-options'], 'DENY');
  t.match(String(json.headers['content-security-policy']), /default-src 'none'/);
  const problem = await app.inject({ method: 'GET', url: '/v1/attributes' });
  check(problem, '/v1 problem');
  t.equal(problem.headers['cache-control'], 'no-store');
  const missing = await app.inject({ method: 'GET', url: '/nowhere' });
  check(missing, '404');

  const page = await app.inject({
    method: 'POST',
    url: '/v1/sso',
    headers: { ...bearer(app, ent), accept: 'text/html' },
    payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 },
  });
  t.equal(page.statusCode, 200);
  check(page, 'SSO page');
  const csp = String(page.headers['content-security-policy']);
  t.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/, 'the page keeps its own CSP');
  t.match(csp, /form-action https:\/\/sp\.test/);
  t.match(csp, /frame-ancestors 'none'/);
  t.equal(page.headers['cache-control'], 'no-store');
  t.equal(page.headers['x-frame-options'], 'DENY');

  const metadata = await app.inject({ method: 'GET', url: '/saml/metadata' });
  check(metadata, 'metadata');
  t.match(metadata.headers['cache-control'], /public/, 'metadata keeps its own caching');

  const { app: plain } = await buildTestApp(t, { config: { brokerBaseUrl: 'http://127.0.0.1:3000' } });
  const r = await plain.inject({ method: 'GET', url: '/health' });
  t.equal(r.headers['strict-transport-security'], undefined, 'no HSTS over plain http');
  t.equal(r.headers['x-content-type-options'], 'nosniff');
});

t.test('a client that does not finish its request in time is cut off (headers or body)', async (t) => {
  const { app } = await buildTestApp(t, { config: { requestTimeoutSeconds: 1 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const slow = (text: string) =>
    new Promise<{ answer: string; elapsed: number }>((resolve, reject) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1', () => socket.write(text));
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('close', () => resolve({ answer, elapsed: Date.now() - started }));
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`still open after 10 s: ${answer.slice(0, 80)}`));
      }, 10_000).unref();
    });
  // Headers that never end (slow-loris).
  const headers = await slow('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n');
  t.match(headers.answer, /^HTTP\/1\.1 408/, 'headers: 408 Request Timeout');
  t.ok(headers.elapsed >= 900 && headers.elapsed < 5000, `headers: closed after ${headers.elapsed} ms`);
  // A body that never ends, on an authorised route.
  const auth = bearer(app, ent).authorization;
  const body = await slow(`POST /v1/sso HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"uai"`);
  t.match(body.answer, /^HTTP\/1\.1 408/, 'body: 408');
  t.match(body.answer, /application\/problem\+json/);
  t.ok(body.elapsed >= 900 && body.elapsed < 5000, `body: closed after ${body.elapsed} ms`);
});

t.test('a body refused before it is read (415, 413) leaves no timer behind to fire later', async (t) => {
  // Found by the fuzz test on a slow run: the body timer outlived the answer and destroyed an
  // unread stream 30 s later, an uncaught exception that would stop a real server.
  const { app } = await buildTestApp(t, { config: { requestTimeoutSeconds: 1 } });
  const uncaught: unknown[] = [];
  const monitor = (err: unknown) => uncaught.push(err);
  process.on('uncaughtExceptionMonitor', monitor);
  t.teardown(() => void process.off('uncaughtExceptionMonitor', monitor));
  const big = 'x'.repeat(256 * 1024);
  const auth = bearer(app, ent);
  const unsupported = await app.inject({ method: 'POST', url: '/v1/sso', headers: { ...auth, 'content-type': 'application/x-unknown' }, payload: big });
  t.equal(unsupported.statusCode, 415, unsupported.body);
  const tooLarge = await app.inject({ method: 'POST', url: '/v1/sso', headers: { ...auth, 'content-type': 'application/json' }, payload: big });
  t.equal(tooLarge.statusCode, 413, tooLarge.body);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.same(uncaught, [], 'nothing thrown after the answers');
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'still serving');
});
