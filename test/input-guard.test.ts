import t from 'tap';
import { request } from 'node:http';
import { unacceptableValues } from '../src/plugins/input-guard.js';
import { bearer, buildTestApp, operator } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, UAI_A } from './factories.js';

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const publisher = { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' } as const;

t.test('text with NUL or a lone surrogate and non-finite numbers are found at any depth, without recursion', async (t) => {
  t.same(unacceptableValues({ a: ['x', 1, { b: 'ok' }] }, 'body'), []);
  t.same(unacceptableValues({ a: [{ b: 'x\u0000y' }] }, 'body'), [{ path: 'body/a/0/b', message: 'text must not contain the NUL character (U+0000)' }]);
  t.same(unacceptableValues({ a: '\uD800' }, 'body').map((e) => e.path), ['body/a']);
  t.same(unacceptableValues({ 'k\u0000': 1 }, 'body').map((e) => e.path), ['body/k\u0000']);
  t.same(unacceptableValues('👩‍👩‍👧‍👦 \u202E', 'body'), [], 'emoji and RTL marks are text');
  t.same(unacceptableValues({ limit: Infinity, n: -Infinity, z: NaN }, 'querystring').map((e) => e.path), ['querystring/limit', 'querystring/n', 'querystring/z']);
  const deep = JSON.parse('{"a":'.repeat(10_000) + '"\\u0000"' + '}'.repeat(10_000));
  const found = unacceptableValues(deep, 'body');
  t.equal(found.length, 1);
  t.equal(found[0]!.path.split('/').length, 10_001);
  t.equal(unacceptableValues(Array.from({ length: 100 }, () => '\u0000'), 'body').length, 20, 'at most 20 reported');
});

t.test('the service answers them 400, before any query (PostgreSQL would have failed with a 500)', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const cases: Array<[string, string, string, unknown?]> = [
    ['GET', '/v1/ent-projects?limit=1e309', 'querystring/limit'],
    ['GET', '/v1/resources?limit=-Infinity', 'querystring/limit'],
    ['GET', '/v1/people/Z0/E1%00/export', 'params/personId'],
    ['GET', '/v1/subscriptions/%00', 'params/id'],
    ['POST', '/v1/sso', 'body/personId', { uai: UAI_A, personId: 'E1\u0000', resourceId: RES_P1 }],
    ['POST', '/v1/sso', 'body/relayState', { uai: UAI_A, personId: 'E1', resourceId: RES_P1, relayState: 'a\uDC00' }],
  ];
  for (const [method, url, path, payload] of cases) {
    const caller = url === '/v1/sso' ? ent : url.startsWith('/v1/subscriptions') ? publisher : operator;
    const res = await app.inject({ method: method as 'GET', url, headers: bearer(app, caller), payload: payload as object });
    t.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.same(res.json().errors.map((e: { path: string }) => e.path), [path]);
  }
  t.equal(Number((await database.db.selectFrom('access_log').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 0, 'no SSO decision logged');
});

t.test('router refusals are problems too: a bad escape (400), a too long parameter (414); an ARK of 200 characters is routed', async (t) => {
  const { app } = await buildTestApp(t);
  const h = bearer(app, operator);
  for (const url of ['/v1/resources/%zz', '/v1/publishers/%C0%AF', '/v1/subscriptions/%E0%A4%A']) {
    const res = await app.inject({ url, headers: h });
    t.equal(res.statusCode, 400, url);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json(), { type: 'urn:gar-broker:problem:bad-request', title: 'Bad request', status: 400 });
    t.notMatch(res.body, url, 'the path is not echoed');
  }
  const long = await app.inject({ url: `/v1/publishers/${'p'.repeat(1025)}`, headers: h });
  t.equal(long.statusCode, 414);
  t.match(long.json(), { type: 'urn:gar-broker:problem:uri-too-long', status: 414 });
  const ark = encodeURIComponent(`ark:/12345/${'a'.repeat(200)}`);
  const res = await app.inject({ url: `/v1/resources/${ark}`, headers: h });
  t.equal(res.statusCode, 404, 'looked up, not refused by the router');
});

t.test('a dot segment in a path parameter stays a value: it never climbs to another route', async (t) => {
  // Over a socket the router sees the raw path. (app.inject resolves dot segments as a browser
  // would, so the fuzz test leaves them out and this test sends them for real.)
  const { app } = await buildTestApp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const get = (path: string, caller: Record<string, unknown>) =>
    new Promise<{ status: number; type: string }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path, headers: bearer(app, caller) }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']) }));
      });
      req.on('error', reject);
      req.end();
    });
  for (const segment of ['..', '%2e%2e', '%2E.', '.']) {
    const path = `/v1/establishments/${segment}/subscriptions`;
    // GET /v1/subscriptions would answer a publisher 200; the establishment route refuses it.
    t.match(await get(path, publisher), { status: 403, type: /^application\/problem\+json/ }, `${path}: publisher refused`);
    t.match(await get(path, operator), { status: 400, type: /^application\/problem\+json/ }, `${path}: not a UAI`);
  }
});
