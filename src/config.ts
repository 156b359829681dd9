import { readFileSync } from 'node:fs';
import { createPublicKey, createPrivateKey, X509Certificate } from 'node:crypto';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Secrets the service cannot run without; embedded mode may generate them. */
export interface Secrets {
  jwtSecret?: string;
  jwtPublicKey?: string;
  samlSigningKey: string;
  samlSigningCert: string;
  idoSecret: string;
}

export interface Config extends Secrets {
  port: number;
  host: string;
  /** Unset: embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  brokerBaseUrl: string;
  samlNextSigningCert?: string;
  /** Validity window of an issued assertion, in seconds. */
  samlAssertionLifetimeSeconds: number;
  logLevel: LogLevel;
  accessLogRetentionMonths: number;
  migrateOnStart: boolean;
  /** Days an ended subscription and its assignments are kept (publishers' renewals, usage reports). */
  subscriptionGraceDays: number;
  /** Pool size for PostgreSQL. */
  databasePoolSize: number;
  /** Longest a single SQL statement may run on the request path (PostgreSQL only); 0 turns it off. */
  databaseStatementTimeoutMs: number;
  /** Requests per minute per caller (token subject and role, else client IP); 0 turns limits off. */
  rateLimitPerMinute: number;
  /** The same for `ent` tokens, whose SSO traffic peaks when lessons start. */
  rateLimitEntPerMinute: number;
  /** Redis holding the rate-limit counters, shared by every replica; unset: counters per process. */
  rateLimitRedisUrl?: string;
  /** How long a counter may take in Redis before the request passes uncounted (fail-open). */
  rateLimitRedisTimeoutMs: number;
  /** Time a client has to send a whole request (headers and body). */
  requestTimeoutSeconds: number;
  /** Proxy hops whose X-Forwarded-For is trusted for the client IP (0: none). */
  trustProxyHops: number;
  /** Bearer token that opens GET /metrics; unset: see README (loopback in embedded mode, else closed). */
  metricsToken?: string;
  /** A browser session unused this long ends (minutes). */
  sessionIdleMinutes: number;
  /** A browser session ends this long after the ENT login, used or not (hours). */
  sessionAbsoluteHours: number;
  /** The broker's own key as SAML SP of the ENT IdPs; unset: the IdP signing key serves both. */
  samlSpSigningKey?: string;
  samlSpSigningCert?: string;
  /** How long an entry link waits for the ENT IdP's answer. */
  entryRequestMinutes: number;
  /** Longest accepted token lifetime (exp - iat), for people. */
  jwtMaxLifetimeSeconds: number;
  /** The same for the machine clients below (ENT servers, publishers' back ends). */
  jwtMachineMaxLifetimeSeconds: number;
  /** Token `sub` values of declared machine clients. */
  jwtMachineClients: string[];
  /** Requests in flight at once on fair-share routes, all callers together; 0 turns fair share off. */
  fairShareMaxInFlight: number;
  /** Requests in flight at once per caller on fair-share routes. */
  fairSharePerCaller: number;
  /** Requests waiting per caller before a fast 503. */
  fairShareQueuePerCaller: number;
  /** Longest wait in the queue before a 503. */
  fairShareMaxWaitMs: number;
  /** OpenID provider signing key (RSA, RS256); unset: the SAML signing key signs the ID tokens. */
  oidcSigningKey?: string;
  /** Published in /oidc/jwks but not used yet (rollover: announce it before it signs). */
  oidcNextSigningKey?: string;
  /** Published in /oidc/jwks but no longer used (rollover: tokens it signed still verify). */
  oidcPreviousSigningKey?: string;
  /** Port of the client-certificate listener serving GAR's web services at GAR's paths; unset: not started. */
  garWsPort?: number;
  /** Its server certificate chain, key and the CA bundle of accepted client certificates (PEM); unset: plain HTTP behind a proxy. */
  garWsTlsCert?: string;
  garWsTlsKey?: string;
  garWsClientCa?: string;
  /** Largest nightly export archive accepted by POST /v1/feed/gar-ent/exports (bytes); default 512 MiB. */
  feedExportMaxBytes?: number;
  /** Export jobs run at once in one process (one per ENT project at a time); default 2. */
  feedJobsParallel?: number;
  /** Where archives wait for their job (shared by replicas that may resume each other's); default DATA_DIR/feed-exports. */
  feedExportDir?: string;
}

/** What the environment gives before embedded mode fills in missing secrets. */
export type Settings = Omit<Config, keyof Secrets> & Partial<Secrets>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const SECRET_NAMES = [
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'SAML_SIGNING_KEY',
  'SAML_SIGNING_CERT',
  'SAML_NEXT_SIGNING_CERT',
  'IDO_SECRET',
  'DATABASE_URL',
  'METRICS_TOKEN',
  'RATE_LIMIT_REDIS_URL',
  'SAML_SP_SIGNING_KEY',
  'SAML_SP_SIGNING_CERT',
  'OIDC_SIGNING_KEY',
  'OIDC_NEXT_SIGNING_KEY',
  'OIDC_PREVIOUS_SIGNING_KEY',
  'GAR_WS_TLS_CERT',
  'GAR_WS_TLS_KEY',
  'GAR_WS_CLIENT_CA',
] as const;

/**
 * Reads and validates the environment. Every problem is collected and reported at once, so an
 * operator fixes a broken deployment in one pass instead of one restart per variable.
 */
export interface LoadOptions {
  readFile?: (path: string) => string;
  /** Tools that need only the database (migrate) start without secrets. */
  requireSecrets?: boolean;
}

export function loadSettings(env: Env, options: LoadOptions = {}): Settings {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const problems: string[] = [];
  const values: Env = { ...env };

  for (const name of SECRET_NAMES) {
    const filePath = env[`${name}_FILE`];
    if (filePath === undefined || filePath === '') continue;
    if (env[name]) {
      problems.push(`${name} and ${name}_FILE are both set: keep one`);
      continue;
    }
    try {
      values[name] = readFile(filePath).trim();
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${filePath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const get = (name: string): string | undefined => {
    const v = values[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = get('HOST') ?? '127.0.0.1';
  const databaseUrl = get('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// connection string');
  }

  const rateLimitRedisUrl = get('RATE_LIMIT_REDIS_URL');
  if (rateLimitRedisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(rateLimitRedisUrl)) {
    problems.push('RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL');
  }

  const logLevel = (get('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const brokerBaseUrl = (get('BROKER_BASE_URL') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  try {
    const u = new URL(brokerBaseUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
  } catch {
    problems.push('BROKER_BASE_URL must be an absolute http(s) URL');
  }

  const jwtSecret = get('JWT_SECRET');
  const jwtPublicKey = get('JWT_PUBLIC_KEY');
  if (jwtSecret && jwtPublicKey) problems.push('set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both');
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    problems.push('JWT_SECRET must be at least 32 bytes long');
  }
  if (jwtPublicKey !== undefined) {
    try {
      const key = createPublicKey(jwtPublicKey);
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') throw new Error('type');
    } catch {
      problems.push('JWT_PUBLIC_KEY must be an RSA or EC public key in PEM');
    }
  }

  const samlSigningKey = get('SAML_SIGNING_KEY');
  const samlSigningCert = get('SAML_SIGNING_CERT');
  const samlNextSigningCert = get('SAML_NEXT_SIGNING_CERT');
  if (samlSigningKey !== undefined) {
    try {
      const key = createPrivateKey(samlSigningKey);
      if (key.asymmetricKeyType !== 'rsa') throw new Error('type');
    } catch {
      problems.push('SAML_SIGNING_KEY must be an RSA private key in PEM');
    }
  }
  for (const [name, pem] of [['SAML_SIGNING_CERT', samlSigningCert], ['SAML_NEXT_SIGNING_CERT', samlNextSigningCert]] as const) {
    if (pem === undefined) continue;
    try {
      new X509Certificate(pem);
    } catch {
      problems.push(`${name} must be an X.509 certificate in PEM`);
    }
  }
  if ((samlSigningKey === undefined) !== (samlSigningCert === undefined)) {
    problems.push('SAML_SIGNING_KEY and SAML_SIGNING_CERT go together: set both or neither');
  }

  const samlSpSigningKey = get('SAML_SP_SIGNING_KEY');
  const samlSpSigningCert = get('SAML_SP_SIGNING_CERT');
  if (samlSpSigningKey !== undefined) {
    try {
      if (createPrivateKey(samlSpSigningKey).asymmetricKeyType !== 'rsa') throw new Error('type');
    } catch {
      problems.push('SAML_SP_SIGNING_KEY must be an RSA private key in PEM');
    }
  }
  if (samlSpSigningCert !== undefined) {
    try {
      new X509Certificate(samlSpSigningCert);
    } catch {
      problems.push('SAML_SP_SIGNING_CERT must be an X.509 certificate in PEM');
    }
  }
  if ((samlSpSigningKey === undefined) !== (samlSpSigningCert === undefined)) {
    problems.push('SAML_SP_SIGNING_KEY and SAML_SP_SIGNING_CERT go together: set both or neither');
  }

  const idoSecret = get('IDO_SECRET');
  if (idoSecret !== undefined && !/^[0-9a-fA-F]{64,}$/.test(idoSecret)) {
    problems.push('IDO_SECRET must be at least 64 hexadecimal characters (32 bytes)');
  }

  const metricsToken = get('METRICS_TOKEN');
  if (metricsToken !== undefined && (metricsToken.length < 24 || /\s/.test(metricsToken))) {
    problems.push('METRICS_TOKEN must be at least 24 characters without spaces');
  }

  const oidcKeys: Record<string, string | undefined> = {};
  for (const name of ['OIDC_SIGNING_KEY', 'OIDC_NEXT_SIGNING_KEY', 'OIDC_PREVIOUS_SIGNING_KEY']) {
    const pem = get(name);
    oidcKeys[name] = pem;
    if (pem === undefined) continue;
    try {
      const key = createPrivateKey(pem);
      if (key.asymmetricKeyType !== 'rsa') throw new Error('type');
    } catch {
      problems.push(`${name} must be an RSA private key in PEM`);
    }
  }

  const garWsPortRaw = get('GAR_WS_PORT');
  const garWsPort = garWsPortRaw === undefined ? undefined : int('GAR_WS_PORT', 0, 1, 65535);
  const garWsTls = { cert: get('GAR_WS_TLS_CERT'), key: get('GAR_WS_TLS_KEY'), ca: get('GAR_WS_CLIENT_CA') };
  const garWsTlsGiven = Object.values(garWsTls).filter((v) => v !== undefined).length;
  if (garWsTlsGiven !== 0 && garWsTlsGiven !== 3) problems.push('GAR_WS_TLS_CERT, GAR_WS_TLS_KEY and GAR_WS_CLIENT_CA go together: set all three or none');
  if (garWsPort !== undefined && garWsTlsGiven === 0 && int('TRUST_PROXY_HOPS', 0, 0, 10) === 0) {
    problems.push('GAR_WS_PORT without GAR_WS_TLS_CERT/KEY/CLIENT_CA needs a TLS-terminating proxy: set TRUST_PROXY_HOPS > 0');
  }
  for (const [name, pem] of [['GAR_WS_TLS_CERT', garWsTls.cert], ['GAR_WS_CLIENT_CA', garWsTls.ca]] as const) {
    if (pem === undefined) continue;
    try {
      new X509Certificate(pem);
    } catch {
      problems.push(`${name} must be X.509 certificates in PEM`);
    }
  }
  if (garWsTls.key !== undefined) {
    try {
      createPrivateKey(garWsTls.key);
    } catch {
      problems.push('GAR_WS_TLS_KEY must be a private key in PEM');
    }
  }

  const settings: Settings = {
    port,
    host,
    databaseUrl,
    dataDir: get('DATA_DIR') ?? './data',
    jwtSecret,
    jwtPublicKey,
    jwtIssuer: get('JWT_ISSUER'),
    jwtAudience: get('JWT_AUDIENCE'),
    brokerBaseUrl,
    samlSigningKey,
    samlSigningCert,
    samlNextSigningCert,
    samlAssertionLifetimeSeconds: int('SAML_ASSERTION_LIFETIME_SECONDS', 300, 30, 3600),
    idoSecret,
    logLevel,
    // The decree caps connection data at twelve months: a larger value is a configuration error.
    accessLogRetentionMonths: int('ACCESS_LOG_RETENTION_MONTHS', 12, 1, 12),
    migrateOnStart: bool('MIGRATE_ON_START', true),
    subscriptionGraceDays: int('SUBSCRIPTION_GRACE_DAYS', 90, 0, 3650),
    databasePoolSize: int('DATABASE_POOL_SIZE', 10, 1, 200),
    databaseStatementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 3_600_000),
    rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    // One ENT token carries every SSO of a whole ENT project: a region's schools opening resources at 8:00.
    rateLimitEntPerMinute: int('RATE_LIMIT_ENT_PER_MINUTE', 60_000, 1, 10_000_000),
    rateLimitRedisUrl,
    rateLimitRedisTimeoutMs: int('RATE_LIMIT_REDIS_TIMEOUT_MS', 250, 10, 10_000),
    requestTimeoutSeconds: int('REQUEST_TIMEOUT_SECONDS', 30, 1, 600),
    trustProxyHops: int('TRUST_PROXY_HOPS', 0, 0, 10),
    metricsToken,
    // A school day of lessons: one ENT login serves the morning's resources; an unattended tablet is not open for ever.
    sessionIdleMinutes: int('SESSION_IDLE_MINUTES', 120, 1, 24 * 60),
    sessionAbsoluteHours: int('SESSION_ABSOLUTE_HOURS', 10, 1, 7 * 24),
    samlSpSigningKey,
    samlSpSigningCert,
    entryRequestMinutes: int('ENTRY_REQUEST_MINUTES', 10, 1, 60),
    jwtMaxLifetimeSeconds: int('JWT_MAX_LIFETIME_SECONDS', 86_400, 60, 31 * 86_400),
    jwtMachineMaxLifetimeSeconds: int('JWT_MACHINE_MAX_LIFETIME_SECONDS', 30 * 86_400, 60, 366 * 86_400),
    jwtMachineClients: (get('JWT_MACHINE_CLIENTS') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    fairShareMaxInFlight: int('FAIR_SHARE_MAX_IN_FLIGHT', 32, 0, 100_000),
    fairSharePerCaller: int('FAIR_SHARE_PER_CALLER', 8, 1, 100_000),
    fairShareQueuePerCaller: int('FAIR_SHARE_QUEUE_PER_CALLER', 200, 0, 1_000_000),
    fairShareMaxWaitMs: int('FAIR_SHARE_MAX_WAIT_MS', 2_000, 1, 60_000),
    oidcSigningKey: oidcKeys.OIDC_SIGNING_KEY,
    oidcNextSigningKey: oidcKeys.OIDC_NEXT_SIGNING_KEY,
    oidcPreviousSigningKey: oidcKeys.OIDC_PREVIOUS_SIGNING_KEY,
    garWsPort,
    feedExportMaxBytes: int('FEED_EXPORT_MAX_MB', 512, 1, 16_384) * 1024 * 1024,
    feedJobsParallel: int('FEED_JOBS_PARALLEL', 2, 1, 32),
    feedExportDir: get('FEED_EXPORT_DIR'),
    garWsTlsCert: garWsTls.cert,
    garWsTlsKey: garWsTls.key,
    garWsClientCa: garWsTls.ca,
  };

  if (databaseUrl !== undefined && options.requireSecrets !== false) {
    // With a real database nothing is generated: a production start must never run on made-up keys.
    const missing = missingSecrets(settings);
    if (missing.length > 0) problems.push(`missing required secret(s) with DATABASE_URL set: ${missing.join(', ')}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(settings);
}

export function missingSecrets(s: Partial<Secrets>): string[] {
  const missing: string[] = [];
  if (!s.jwtSecret && !s.jwtPublicKey) missing.push('JWT_SECRET (or JWT_PUBLIC_KEY)');
  if (!s.samlSigningKey) missing.push('SAML_SIGNING_KEY');
  if (!s.samlSigningCert) missing.push('SAML_SIGNING_CERT');
  if (!s.idoSecret) missing.push('IDO_SECRET');
  return missing;
}

/** Narrows settings whose secrets are all present into a Config. */
export function toConfig(s: Settings): Config {
  const missing = missingSecrets(s);
  if (missing.length > 0) throw new ConfigError([`missing required secret(s): ${missing.join(', ')}`]);
  return Object.freeze({ ...s }) as Config;
}
