import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { buildApp, type AppDeps, type Clock } from '../src/app.js';
import type { Config } from '../src/config.js';
import { connectPostgres, fromPglite, type DatabaseHandle } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { migratedImage, migrationsFingerprint } from '../src/db/pglite-image.js';
import type { Caller } from '../src/plugins/auth.js';
import type { Database } from '../src/db/database.js';
import { testCertificate } from './keys.js';

/** Anything with tap's teardown: a test or the file's root. */
interface Teardown {
  teardown: (fn: () => unknown) => void;
}

const signing = testCertificate('gar-broker test IdP');

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

const migrationsHash = migrationsFingerprint();

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

// --- PGlite: instances loaded from the migrated image (built once, kept on disk), reused. ---
// Loading the image costs about as much CPU as a whole small test; emptying the tables of an
// instance a finished test gave back costs milliseconds. An instance whose schema a test changed
// (a trigger, a renamed table) is not reused.
type PGliteClient = import('@electric-sql/pglite').PGlite;
let pgliteImage: Promise<Blob> | undefined;
let pristineSchema: string | undefined;
let pristinePartitions: string[] = [];
const givenBack: PGliteClient[] = [];

const SCHEMA_SIGNATURE = `
  select md5(coalesce(string_agg(x, ',' order by x), '')) as sig from (
    select 'c:' || c.relname || ':' || c.relkind::text as x from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'
    union all select 'a:' || c.relname || '.' || a.attname || ':' || a.atttypid::text || ':' || a.attnotnull::text from pg_attribute a
      join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and a.attnum > 0 and not a.attisdropped
    union all select 't:' || tgname from pg_trigger where not tgisinternal
    union all select 'p:' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'
    union all select 'k:' || conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = 'public'
  ) s`;
const schemaOf = async (client: PGliteClient) => (await client.query<{ sig: string }>(SCHEMA_SIGNATURE)).rows[0]!.sig;
const partitionsOf = async (client: PGliteClient) =>
  (
    await client.query<{ name: string }>(
      "select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relispartition and c.relkind in ('r', 'p')",
    )
  ).rows.map((r) => r.name);

/** Empties a given-back instance for the next test; false when it cannot be trusted to be pristine. */
async function emptied(client: PGliteClient): Promise<boolean> {
  try {
    // What a finished test may leave on the one session: settings, advisory locks, temp tables.
    await client.exec('reset all; select pg_advisory_unlock_all();');
    // Every app start adds the log partitions of its clock's months: gone again, as in the image.
    const added = (await partitionsOf(client)).filter((name) => !pristinePartitions.includes(name));
    if (added.length > 0) await client.exec(added.map((name) => `drop table "${name}";`).join(' '));
    if ((await schemaOf(client)) !== pristineSchema) return false;
    const { rows } = await client.query<{ name: string }>(
      "select quote_ident(tablename) as name from pg_tables where schemaname = 'public' and tablename not like 'kysely\\_%'",
    );
    if (rows.length > 0) await client.exec(`truncate ${rows.map((r) => r.name).join(', ')} restart identity cascade`);
    return true;
  } catch {
    return false;
  }
}

async function pgliteInstance(): Promise<PGliteClient> {
  while (givenBack.length > 0) {
    const client = givenBack.pop()!;
    if (await emptied(client)) return client;
    await client.close().catch(() => {});
  }
  pgliteImage ??= migratedImage();
  const { PGlite } = await import('@electric-sql/pglite');
  const client = await PGlite.create({ loadDataDir: await pgliteImage });
  if (pristineSchema === undefined) {
    pristineSchema = await schemaOf(client);
    pristinePartitions = await partitionsOf(client);
    // Given-back instances would keep a test process alive: closed when the file ends. Only under
    // tap's runner: the benches share this file and must not become tap tests by loading it.
    if (process.env.TAP === '1') {
      const { default: tap } = await import('tap');
      tap.teardown(async () => {
        for (const c of givenBack.splice(0)) await c.close().catch(() => {});
      });
    }
  }
  return client;
}

async function freshPglite(t: Teardown): Promise<DatabaseHandle> {
  const client = await pgliteInstance();
  // The handle's close (and Kysely's destroy) must not close the instance: it is given back.
  const unclosable = new Proxy(client, {
    get(target, prop) {
      if (prop === 'close') return async () => {};
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const handle = await fromPglite(unclosable);
  t.teardown(async () => {
    await handle.close();
    // Emptied when taken again, after every teardown of this test (an app may still write on close).
    givenBack.push(client);
  });
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
