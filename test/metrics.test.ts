import t from 'tap';
import { buildTestApp, bearer } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, RES_P2, UAI_A } from './factories.js';
import { performRetention } from '../src/modules/maintenance/maintenance.service.js';

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const TOKEN = 'metrics-token-0123456789-abcdef';
const quiet = { info: () => {}, error: () => {} };

/** The value of one sample line, e.g. `name{a="b"} 3`. */
const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
};

t.test('metrics: requests by route and status, SSO decisions, access-log writes, pool, retention', async (t) => {
  const { app, database, clock } = await buildTestApp(t, { config: { metricsToken: TOKEN } });
  await world(database.db);
  const sso = (resourceId: string) =>
    app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId } });
  t.equal((await sso(RES_P1)).statusCode, 200);
  t.equal((await sso(RES_P1)).statusCode, 200);
  t.equal((await sso(RES_P2)).statusCode, 403);
  await app.inject({ method: 'GET', url: '/v1/nothing/no-such-thing-zq' });
  await performRetention(database.db, app.config, clock.now, quiet);

  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  t.equal(sample(text, 'gar_broker_http_request_duration_seconds_count', { route: '/v1/sso', status: '200', method: 'POST' }), 2);
  t.equal(sample(text, 'gar_broker_http_request_duration_seconds_count', { route: '/v1/sso', status: '403' }), 1);
  t.equal(sample(text, 'gar_broker_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }), 1, 'unknown URLs share one label');
  t.notMatch(text, /no-such-thing-zq/, 'raw URLs never become labels');
  t.equal(sample(text, 'gar_broker_sso_decisions_total', { door: 'api_sso', outcome: 'granted', reason: 'none' }), 2);
  const refused = text.split('\n').filter((l) => l.startsWith('gar_broker_sso_decisions_total{door="api_sso",outcome="refused"'));
  t.equal(refused.length, 1, refused.join('\n'));
  t.match(refused[0], /reason="[a-z_]+"\} 1$/);
  t.equal(sample(text, 'gar_broker_access_log_rows_total', { result: 'ok' }), 3, 'three decisions, three rows');
  t.ok((sample(text, 'gar_broker_access_log_write_seconds_count', { result: 'ok' }) ?? 0) >= 1, 'commit durations observed');
  t.ok(sample(text, 'gar_broker_db_pool_connections', { state: 'total' }) !== undefined, 'pool gauge');
  t.ok(sample(text, 'gar_broker_db_pool_connections', { state: 'waiting' }) === 0);
  const last = sample(text, 'gar_broker_retention_last_run_timestamp_seconds', { result: 'success' });
  t.ok(last !== undefined && Math.abs(last - Date.now() / 1000) < 600, `retention last run ${last}`);
  t.equal(sample(text, 'gar_broker_retention_last_run_timestamp_seconds', { result: 'error' }), undefined);
});

t.test('metrics protection: token, loopback in embedded mode, closed with a database and no token', async (t) => {
  const { app: withToken } = await buildTestApp(t, { config: { metricsToken: TOKEN } });
  t.equal((await withToken.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'no token');
  const wrong = await withToken.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } });
  t.equal(wrong.statusCode, 401, 'wrong token');
  t.match(wrong.headers['content-type'], /problem\+json/);
  const operatorJwt = await withToken.inject({ method: 'GET', url: '/metrics', headers: bearer(withToken, { sub: 'op', role: 'operator' }) });
  t.equal(operatorJwt.statusCode, 401, 'a JWT is not the metrics token');
  t.equal((await withToken.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);

  const { app: embedded } = await buildTestApp(t, { config: { databaseUrl: undefined, metricsToken: undefined } });
  t.equal((await embedded.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200, 'embedded: loopback');
  t.equal((await embedded.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1' })).statusCode, 200, 'embedded: loopback v6');
  t.equal((await embedded.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' })).statusCode, 404, 'embedded: others');
  const spoof = await embedded.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '127.0.0.1' } });
  t.equal(spoof.statusCode, 404, 'a forwarded-for header does not make a caller local');

  const { app: production } = await buildTestApp(t, { config: { databaseUrl: 'postgres://x@db/garb', metricsToken: undefined } });
  const closed = await production.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
  t.equal(closed.statusCode, 404, 'with DATABASE_URL and no token, /metrics does not exist');
  t.match(closed.headers['content-type'], /problem\+json/);
});

t.test('each app has its own registry; process metrics on request', async (t) => {
  const { app: a } = await buildTestApp(t, { config: { metricsToken: TOKEN }, deps: { processMetrics: true } });
  const { app: b } = await buildTestApp(t, { config: { metricsToken: TOKEN } });
  await a.inject({ method: 'GET', url: '/health' });
  const get = async (app: typeof a) => (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).body;
  const ta = await get(a);
  const tb = await get(b);
  t.equal(sample(ta, 'gar_broker_http_request_duration_seconds_count', { route: '/health' }), 1);
  t.equal(sample(tb, 'gar_broker_http_request_duration_seconds_count', { route: '/health' }), undefined, 'b did not see a’s request');
  t.ok((sample(ta, 'process_resident_memory_bytes') ?? 0) > 0, 'RSS in a');
  t.equal(sample(tb, 'process_resident_memory_bytes'), undefined);
});
