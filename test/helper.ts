import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { buildApp, type AppDeps, type Clock } from '../src/app.js';
import type { Config } from '../src/config.js';
import { connectPostgres, fromPglite, type DatabaseHandle } from '../src/db/connect.js';
import { MIGRATIONS_DIR, migrateToLatest } from '../src/db/migrate.js';
import type { Caller } from '../src/plugins/auth.js';
import type { Database } from '../src/db/database.js';
import { createSelfSignedCertificate } from '../src/saml/self-signed.js';

/** Anything with tap's teardown: a test or the file's root. */
interface Teardown {
  teardown: (fn: () => unknown) => void;
}

const signing = createSelfSignedCertificate('gar-broker test IdP');

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: process.env.DATABASE_URL,
    dataDir: './data-test',
    jwtSecret: TEST_JWT_SECRET,
    brokerBaseUrl: 'https://broker.test',
    samlSigningKey: signing.keyPem,
    samlSigningCert: signing.certPem,
    samlAssertionLifetimeSeconds: 300,
    idoSecret: 'a1'.repeat(32),
    logLevel: 'silent',
    accessLogRetentionMonths: 12,
    migrateOnStart: false,
    subscriptionGraceDays: 90,
    databasePoolSize: 5,
    // Limits off by default: tests send bursts from one address; test/limits.test.ts turns them on.
    rateLimitPerMinute: 0,
    rateLimitEntPerMinute: 60_000,
    requestTimeoutSeconds: 30,
    trustProxyHops: 0,
    sessionIdleMinutes: 120,
    sessionAbsoluteHours: 10,
    entryRequestMinutes: 10,
    jwtMaxLifetimeSeconds: 86_400,
    jwtMachineMaxLifetimeSeconds: 30 * 86_400,
    jwtMachineClients: [],
    fairShareMaxInFlight: 32,
    fairSharePerCaller: 8,
    fairShareQueuePerCaller: 200,
    fairShareMaxWaitMs: 2_000,
    ...overrides,
  }) as Config;
}

const migrationsHash = createHash('sha256')
  .update(
    readdirSync(MIGRATIONS_DIR)
      .sort()
      .map((f) => f + readFileSync(join(MIGRATIONS_DIR, f), 'utf8'))
      .join('\n'),
  )
  .digest('hex')
  .slice(0, 12);

// --- PostgreSQL: one migrated template per migration set, cloned per test database. ---
let cloneCounter = 0;

function adminUrl(database: string): string {
  const u = new URL(process.env.DATABASE_URL!);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function freshPostgres(t: Teardown): Promise<DatabaseHandle> {
  const base = new URL(process.env.DATABASE_URL!).pathname.slice(1) || 'postgres';
  const template = `${base}_tpl_${migrationsHash}`;
  const name = `${base}_t${process.pid}_${++cloneCounter}`;
  await withAdmin(async (admin) => {
    // Test files run in parallel processes: one builds the template, the others wait for it.
    await admin.query('select pg_advisory_lock(724311)');
    try {
      const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
      if (exists.rowCount === 0) {
        await admin.query(`create database "${template}"`);
        const tpl = connectPostgres(adminUrl(template), 1);
        try {
          await migrateToLatest(tpl.db);
        } catch (err) {
          await tpl.close();
          await admin.query(`drop database "${template}"`);
          throw err;
        }
        await tpl.close();
      }
      await admin.query(`create database "${name}" template "${template}"`);
    } finally {
      await admin.query('select pg_advisory_unlock(724311)');
    }
  });
  const handle = connectPostgres(adminUrl(name), 5);
  t.teardown(async () => {
    await handle.close().catch(() => {});
    await withAdmin((admin) => admin.query(`drop database if exists "${name}" with (force)`));
  });
  return handle;
}

// --- PGlite: one migrated in-memory template per process, cloned per test database. ---
type PGliteClient = import('@electric-sql/pglite').PGliteInterface;
let pgliteTemplate: Promise<PGliteClient> | undefined;

async function freshPglite(t: Teardown): Promise<DatabaseHandle> {
  pgliteTemplate ??= (async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const client = await PGlite.create();
    const handle = await fromPglite(client);
    await migrateToLatest(handle.db);
    return client;
  })();
  const clone = await (await pgliteTemplate).clone();
  const handle = await fromPglite(clone);
  t.teardown(() => handle.close());
  return handle;
}

/** The connection URL of a test's own PostgreSQL database, for a second pool or a child process. */
export async function postgresUrlOf(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(db);
  return adminUrl(rows[0]!.name);
}

/** A clean, migrated database: PostgreSQL when DATABASE_URL is set, PGlite otherwise. */
export function freshDatabase(t: Teardown): Promise<DatabaseHandle> {
  return process.env.DATABASE_URL ? freshPostgres(t) : freshPglite(t);
}

export interface TestApp {
  app: FastifyInstance;
  database: DatabaseHandle;
  /** Moves the injectable clock. */
  clock: { now: Date; set: (d: Date | string) => void; advance: (ms: number) => void };
}

export async function buildTestApp(
  t: Teardown,
  options: { config?: Partial<Config>; now?: Date | string; deps?: Partial<AppDeps> } = {},
): Promise<TestApp> {
  const database = await freshDatabase(t);
  const clockState = {
    now: new Date(options.now ?? '2026-11-25T09:00:00Z'),
    set(d: Date | string) {
      clockState.now = new Date(d);
    },
    advance(ms: number) {
      clockState.now = new Date(clockState.now.getTime() + ms);
    },
  };
  const clock: Clock = () => clockState.now;
  const app = await buildApp(testConfig(options.config), { database, clock, ...options.deps });
  t.teardown(() => app.close());
  await app.ready();
  return { app, database, clock: clockState };
}

/** Signs a token for `caller` with the app's key. */
export function tokenFor(app: FastifyInstance, caller: Caller | Record<string, unknown>, options: Record<string, unknown> = {}): string {
  const claims: Record<string, unknown> = { ...caller };
  if ('uais' in claims) {
    claims.uai = claims.uais;
    delete claims.uais;
  }
  // Tokens must expire (issue 11): one hour unless the test says otherwise.
  if (claims.exp === undefined && options.expiresIn === undefined) claims.exp = Math.floor(Date.now() / 1000) + 3600;
  return app.jwt.sign(claims, options);
}

export const bearer = (app: FastifyInstance, caller: Caller | Record<string, unknown>) => ({
  authorization: `Bearer ${tokenFor(app, caller)}`,
});

export const operator: Caller = { sub: 'op-1', role: 'operator' };
export const ministry: Caller = { sub: 'min-1', role: 'ministry' };

/** The OpenAPI document as the route schemas describe it; openapi.yaml must equal this. */
export async function renderOpenapi(): Promise<string> {
  const database = connectPostgres('postgres://unused@127.0.0.1:1/none', 1);
  const app = await buildApp(testConfig({ databaseUrl: undefined }), { database, ownsDatabase: true, maintenance: false });
  await app.ready();
  const text = app.swagger({ yaml: true }) as unknown as string;
  await app.close();
  return text;
}
