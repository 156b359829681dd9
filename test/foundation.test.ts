import t from 'tap';
import { buildTestApp, bearer, operator, ministry, tokenFor } from './helper.js';
import { sql } from 'kysely';
import { compilePendingSchemas, pendingSchemaCount } from '../src/lib/schema-compilers.js';

const problemType = 'application/problem+json';

t.test('health, readiness and the API document are public', async (t) => {
  const { app } = await buildTestApp(t);
  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(ready.statusCode, 200);
  const doc = await app.inject({ method: 'GET', url: '/openapi.yaml' });
  t.equal(doc.statusCode, 200);
  t.match(doc.headers['content-type'], /application\/yaml/);
  t.match(doc.body, /openapi: 3\.1\.0/);
});

t.test('route schemas are compiled on first use, and every one of them compiles', async (t) => {
  const { app } = await buildTestApp(t);
  t.ok(pendingSchemaCount() > 100, `${pendingSchemaCount()} schemas wait for their first request`);
  const before = pendingSchemaCount();
  const bad = await app.inject({ method: 'POST', url: '/v1/ent-projects', headers: bearer(app, operator), payload: { nope: true } });
  t.equal(bad.statusCode, 400, 'a deferred validator still refuses');
  t.match(bad.json(), { errors: [{}] }, 'and names what it refused');
  t.ok(pendingSchemaCount() < before, 'the route compiled its schema when it was first used');
  t.ok((await compilePendingSchemas()) > 0, 'the rest compile');
  t.equal(pendingSchemaCount(), 0, 'none left');
});

t.test('/ready is 503 while a migration on disk is not applied to the database', async (t) => {
  const { app } = await buildTestApp(t);
  const { rows } = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name desc limit 1`.execute(app.db);
  const newest = rows[0]!;
  await sql`delete from kysely_migration where name = ${newest.name}`.execute(app.db);
  const res = await app.inject({ method: 'GET', url: '/ready' });
  await sql`insert into kysely_migration (name, timestamp) values (${newest.name}, ${newest.timestamp})`.execute(app.db);
  t.equal(res.statusCode, 503);
  t.match(res.json(), { detail: '1 migration(s) not applied' });
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'ready once it is applied');
});

t.test('a /v1 route without a token is 401 problem+json', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/v1/ent-projects' });
  t.equal(res.statusCode, 401);
  t.match(res.headers['content-type'], problemType);
  t.match(res.json(), { status: 401, title: 'Unauthorized', type: /unauthorized$/ });
  t.ok(res.json().requestId, 'carries the request id');
});

t.test('a token of the wrong role is 403 problem+json', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/v1/ent-projects', headers: bearer(app, ministry) });
  t.equal(res.statusCode, 403);
  t.match(res.headers['content-type'], problemType);
  t.match(res.json().detail, /operator/);
});

t.test('a bad token is 401, a good one passes', async (t) => {
  const { app } = await buildTestApp(t);
  const bad = await app.inject({ method: 'GET', url: '/v1/ent-projects', headers: { authorization: 'Bearer abc.def.ghi' } });
  t.equal(bad.statusCode, 401);
  const noScope = await app.inject({
    method: 'GET',
    url: '/v1/ent-projects',
    headers: { authorization: `Bearer ${tokenFor(app, { sub: 'x', role: 'publisher' })}` },
  });
  t.equal(noScope.statusCode, 401, 'a publisher token without publisherId is not a valid token');
  const ok = await app.inject({ method: 'GET', url: '/v1/ent-projects', headers: bearer(app, operator) });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { items: [] });
});

t.test('malformed JSON is 400, an unknown route 404, a huge body 413', async (t) => {
  const { app } = await buildTestApp(t);
  const malformed = await app.inject({
    method: 'POST',
    url: '/v1/ent-projects',
    headers: { ...bearer(app, operator), 'content-type': 'application/json' },
    payload: '{"id": "Z0", ',
  });
  t.equal(malformed.statusCode, 400);
  t.match(malformed.headers['content-type'], problemType);

  const unknown = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.headers['content-type'], problemType);

  const huge = await app.inject({
    method: 'POST',
    url: '/v1/ent-projects',
    headers: { ...bearer(app, operator), 'content-type': 'application/json' },
    payload: JSON.stringify({ id: 'Z0', name: 'x'.repeat(2 * 1024 * 1024), kind: 'ent' }),
  });
  t.equal(huge.statusCode, 413);
  t.match(huge.headers['content-type'], problemType);
});

t.test('validation lists every failing field', async (t) => {
  const { app } = await buildTestApp(t);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/ent-projects',
    headers: bearer(app, operator),
    payload: { id: 'bad id!', kind: 'school' },
  });
  t.equal(res.statusCode, 400);
  const paths = res.json().errors.map((e: { path: string }) => e.path);
  t.ok(paths.includes('body/id'), 'bad id reported');
  t.ok(paths.includes('body/name'), 'missing name reported');
  t.ok(paths.some((p: string) => p.startsWith('body/kind')), 'bad kind reported');
});
