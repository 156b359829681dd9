import t from 'tap';
import { ConfigError, loadSettings } from '../src/config.js';
import { withEmbeddedSecrets } from '../src/embedded.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCertificate } from './keys.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadSettings(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

t.test('defaults with an empty environment (embedded mode)', async (t) => {
  const s = loadSettings({});
  t.equal(s.port, 3000);
  t.equal(s.host, '127.0.0.1');
  t.equal(s.databaseUrl, undefined);
  t.equal(s.brokerBaseUrl, 'http://127.0.0.1:3000');
  t.equal(s.accessLogRetentionMonths, 12);
});

t.test('with DATABASE_URL, every missing secret is named at once', async (t) => {
  const problems = problemsOf({ DATABASE_URL: 'postgres://x@h/db' });
  t.equal(problems.length, 1);
  t.match(problems[0], /JWT_SECRET/);
  t.match(problems[0], /SAML_SIGNING_KEY/);
  t.match(problems[0], /IDO_SECRET/);
});

t.test('every bad value is reported in one pass', async (t) => {
  const problems = problemsOf({ PORT: 'abc', LOG_LEVEL: 'loud', ACCESS_LOG_RETENTION_MONTHS: '24', JWT_SECRET: 'short', IDO_SECRET: 'zz' });
  t.equal(problems.length, 5, problems.join('\n'));
  t.ok(problems.some((p) => p.includes('ACCESS_LOG_RETENTION_MONTHS')), 'retention above 12 months refused');
});

t.test('NAME_FILE reads a secret from a file', async (t) => {
  const s = loadSettings({ JWT_SECRET_FILE: '/secrets/jwt' }, { readFile: () => 'x'.repeat(40) + '\n' });
  t.equal(s.jwtSecret, 'x'.repeat(40));
  const problems = problemsOf({ IDO_SECRET_FILE: '/nope/nothing-here' });
  t.match(problems[0], /IDO_SECRET_FILE: cannot read/);
});

t.test('embedded mode generates secrets once and keeps them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'garb-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = withEmbeddedSecrets(loadSettings({ DATA_DIR: dir }));
  t.same(first.generated.sort(), ['IDO_SECRET', 'JWT_SECRET', 'SAML_SIGNING_CERT', 'SAML_SIGNING_KEY']);
  const second = withEmbeddedSecrets(loadSettings({ DATA_DIR: dir }));
  t.equal(second.config.jwtSecret, first.config.jwtSecret);
  t.equal(second.config.samlSigningCert, first.config.samlSigningCert);
  const own = withEmbeddedSecrets(loadSettings({ DATA_DIR: dir, JWT_SECRET: 'y'.repeat(32) }));
  t.equal(own.config.jwtSecret, 'y'.repeat(32));
  t.notOk(own.generated.includes('JWT_SECRET'));
});

t.test('limits and metrics settings: defaults, bounds, METRICS_TOKEN_FILE', async (t) => {
  const s = loadSettings({});
  t.equal(s.rateLimitPerMinute, 600);
  t.equal(s.rateLimitEntPerMinute, 60_000);
  t.equal(s.requestTimeoutSeconds, 30);
  t.equal(s.trustProxyHops, 0);
  t.equal(s.metricsToken, undefined);
  t.equal(s.databaseStatementTimeoutMs, 30_000);
  t.equal(loadSettings({ RATE_LIMIT_PER_MINUTE: '0' }).rateLimitPerMinute, 0, '0 turns limits off');
  t.equal(loadSettings({ DATABASE_STATEMENT_TIMEOUT_MS: '0' }).databaseStatementTimeoutMs, 0, '0 turns the statement timeout off');
  const problems = problemsOf({
    RATE_LIMIT_PER_MINUTE: '-1',
    RATE_LIMIT_ENT_PER_MINUTE: '0',
    REQUEST_TIMEOUT_SECONDS: '0',
    TRUST_PROXY_HOPS: 'x',
    METRICS_TOKEN: 'short',
    DATABASE_STATEMENT_TIMEOUT_MS: '-5',
    RATE_LIMIT_REDIS_URL: 'http://cache:6379',
  });
  t.equal(problems.length, 7, problems.join('\n'));
  t.ok(problems.some((p) => p.startsWith('RATE_LIMIT_REDIS_URL')));
  t.equal(s.rateLimitRedisUrl, undefined, 'counters per process by default');
  const shared = loadSettings({ RATE_LIMIT_REDIS_URL_FILE: '/secrets/redis' }, { readFile: () => 'rediss://:pw@cache:6380/2\n' });
  t.equal(shared.rateLimitRedisUrl, 'rediss://:pw@cache:6380/2', 'from a file, as it may carry a password');
  t.ok(problems.some((p) => p.startsWith('DATABASE_STATEMENT_TIMEOUT_MS')));
  t.ok(problems.some((p) => p.startsWith('METRICS_TOKEN')));
  const fromFile = loadSettings({ METRICS_TOKEN_FILE: '/secrets/metrics' }, { readFile: () => 'm'.repeat(32) + '\n' });
  t.equal(fromFile.metricsToken, 'm'.repeat(32));
});

t.test('GAR_WS_PORT: TLS material all or nothing, or a proxy', async (t) => {
  const { certPem, keyPem } = testCertificate('ws.broker.test');
  t.match(problemsOf({ GAR_WS_PORT: '8443' }), [/TRUST_PROXY_HOPS > 0/]);
  t.match(problemsOf({ GAR_WS_PORT: '8443', GAR_WS_TLS_CERT: certPem }), [/go together/]);
  t.match(problemsOf({ GAR_WS_PORT: '0' }), [/GAR_WS_PORT must be an integer/, /TRUST_PROXY_HOPS/]);
  t.match(problemsOf({ GAR_WS_PORT: '8443', GAR_WS_TLS_CERT: 'x', GAR_WS_TLS_KEY: 'y', GAR_WS_CLIENT_CA: certPem }), [/GAR_WS_TLS_CERT must be/, /GAR_WS_TLS_KEY must be/]);
  const s = loadSettings({ GAR_WS_PORT: '8443', GAR_WS_TLS_CERT: certPem, GAR_WS_TLS_KEY: keyPem, GAR_WS_CLIENT_CA: certPem });
  t.equal(s.garWsPort, 8443);
  t.equal(s.garWsClientCa, certPem);
  t.equal(loadSettings({ GAR_WS_PORT: '8080', TRUST_PROXY_HOPS: '1' }).garWsTlsCert, undefined, 'plain HTTP behind a proxy');
  t.equal(loadSettings({}).garWsPort, undefined);
});
