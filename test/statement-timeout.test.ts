import t from 'tap';
import pg from 'pg';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { connectPostgres } from '../src/db/connect.js';
import { migrateToLatest, migrator } from '../src/db/migrate.js';
import { runRetention } from '../src/modules/maintenance/retention.js';
import { bearer, freshDatabase, postgresUrlOf, testConfig } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, UAI_A } from './factories.js';

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const TIMEOUT_MS = 300;
const HOLD_MS = 1_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test(
  'statement timeout: a blocked request gets 503 in time; migrations and retention are exempt',
  { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: the timeout is a setting of the pg pool' },
  async (t) => {
    const plain = await freshDatabase(t);
    await world(plain.db);
    const url = await postgresUrlOf(plain.db);
    const timed = connectPostgres(url, 3, { statementTimeoutMs: TIMEOUT_MS });
    t.teardown(() => timed.close());
    const now = new Date('2026-11-25T09:00:00Z');
    const app = await buildApp(testConfig(), { database: timed, clock: () => now });
    t.teardown(() => app.close());
    await app.ready();

    // Another session holds a table lock, as a long migration or a stuck transaction would.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    t.teardown(() => holder.end());
    /** Takes the lock now; the returned `released` settles when it is let go, HOLD_MS later. */
    const holdLock = async (table: string) => {
      await holder.query('begin');
      await holder.query(`lock table ${table} in access exclusive mode`);
      return { released: sleep(HOLD_MS).then(() => holder.query('commit')) };
    };

    const sso = () => app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
    t.equal((await sso()).statusCode, 200, 'granted when nothing blocks');

    let { released } = await holdLock('people');
    const started = Date.now();
    const blocked = await sso();
    const elapsed = Date.now() - started;
    t.equal(blocked.statusCode, 503, blocked.body);
    t.match(blocked.headers['content-type'], 'application/problem+json');
    t.match(blocked.json(), { type: /unavailable$/, detail: /did not answer in time/ });
    t.equal(blocked.headers['retry-after'], '5');
    t.ok(elapsed >= TIMEOUT_MS - 50 && elapsed < HOLD_MS, `answered after ${elapsed} ms, before the lock was released`);
    await released;
    t.equal((await sso()).statusCode, 200, 'granted again once the lock is gone');

    // Retention waits for the lock instead of failing: its transaction lifts the timeout.
    ({ released } = await holdLock('people'));
    const retentionStarted = Date.now();
    const retention = await runRetention(timed.db, { now, logMonths: 12, goneMonths: 3, subscriptionGraceDays: 90, dryRun: false });
    const retentionTook = Date.now() - retentionStarted;
    await released;
    t.equal(retention.skipped, false, 'retention ran to the end');
    t.ok(retentionTook > TIMEOUT_MS * 2, `retention waited ${retentionTook} ms for the lock`);

    // An up-to-date database is seen as such from the applied list: a start takes no migration lock.
    let lockHeld = true;
    ({ released } = await holdLock('kysely_migration_lock'));
    void released.then(() => (lockHeld = false));
    t.same(await migrateToLatest(timed.db), [], 'up to date: nothing to do');
    t.ok(lockHeld, 'answered while another process held the migration lock');
    await released;

    // A pending migration waits for the lock like any migration (the migrator's own lock table stands
    // in for a slow migration), the request path's timeout lifted.
    const newest = (await migrator(plain.db).migrateDown()).results?.[0];
    t.equal(newest?.status, 'Success', 'the newest migration rolled back, so one is pending');
    ({ released } = await holdLock('kysely_migration_lock'));
    const migrationStarted = Date.now();
    t.same(await migrateToLatest(timed.db), [newest!.migrationName], 'the migrator ran the pending migration');
    const migrationTook = Date.now() - migrationStarted;
    await released;
    t.ok(migrationTook > TIMEOUT_MS * 2, `the migrator waited ${migrationTook} ms for the lock`);
    const { rows: setting } = await sql<{ v: string }>`select current_setting('statement_timeout') as v`.execute(timed.db);
    t.equal(setting[0]!.v, `${TIMEOUT_MS}ms`, 'the connection goes back to the pool with the timeout');
  },
);
