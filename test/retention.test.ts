import t from 'tap';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { isoDay } from '../src/lib/dates.js';
import { ensureMonthlyPartitions } from '../src/modules/maintenance/partitions.js';
import { runRetention } from '../src/modules/maintenance/retention.js';
import { buildTestApp, bearer, operator } from './helper.js';
import { baseWorld, insertPerson, insertSubscription, RES_P1, UAI_A } from './factories.js';
import { UAI_A as DIR_UAI, entZ0, onboard } from './directory-fixtures.js';

const NOW = new Date('2026-11-25T09:00:00Z');
const options = { now: NOW, logMonths: 12, goneMonths: 3, subscriptionGraceDays: 90, dryRun: false };

async function logRow(db: Kysely<Database>, at: string, outcome: 'granted' | 'refused' = 'granted') {
  await db.insertInto('access_log').values({ at, ent_id: 'Z0', uai: UAI_A, resource_id: RES_P1, publisher_id: 'P1', profile: 'National_elv', outcome, person_ref: 1 }).execute();
}
const count = async (db: Kysely<Database>, table: 'access_log' | 'people' | 'subscriptions') =>
  (await db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
const exists = async (db: Kysely<Database>, name: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = ${name}`.execute(db)).rows[0]!.n === 1;

async function world(db: Kysely<Database>) {
  await baseWorld(db);
  // A year and more of partitions, as a running service would have.
  await ensureMonthlyPartitions(db, 'access_log', new Date('2025-09-15T00:00:00Z'), 16);
  await logRow(db, '2025-10-25T10:00:00Z'); // 13 months ago
  await logRow(db, '2025-12-25T10:00:00Z'); // 11 months ago
  await logRow(db, '2026-11-24T10:00:00Z', 'refused');
  const left = await insertPerson(db, { personId: 'LEFT', uai: UAI_A, profiles: ['National_elv'] });
  const recent = await insertPerson(db, { personId: 'RECENT', uai: UAI_A, profiles: ['National_elv'] });
  await db.updateTable('people').set({ gone_at: new Date('2026-08-24T00:00:00Z') }).where('id', '=', left).execute();
  await db.updateTable('people').set({ gone_at: new Date('2026-08-26T00:00:00Z') }).where('id', '=', recent).execute();
  await insertSubscription(db, { id: 'OLD', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A, startsAt: '2024-09-01T00:00:00Z', endsAt: '2025-08-31T00:00:00Z' });
  await insertSubscription(db, { id: 'CURRENT', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A });
}

t.test('maintenance at start creates this month’s and the next two months’ partitions', async (t) => {
  const { database } = await buildTestApp(t, { now: NOW });
  for (const table of ['access_log', 'audit_log']) {
    for (const m of ['2026_11', '2026_12', '2027_01']) t.ok(await exists(database.db, `${table}_p${m}`), `${table}_p${m}`);
    t.notOk(await exists(database.db, `${table}_p2027_02`));
  }
});

t.test('the dry run reports and removes nothing', async (t) => {
  const { database } = await buildTestApp(t, { now: NOW });
  await world(database.db);
  const report = await runRetention(database.db, { ...options, dryRun: true });
  t.ok(report.droppedPartitions.includes('access_log_p2025_10'), 'would drop October 2025');
  t.equal(report.deletedPeople, 1, 'would delete one person');
  t.equal(await count(database.db, 'access_log'), 3);
  t.equal(await count(database.db, 'people'), 2);
  t.equal(await count(database.db, 'subscriptions'), 2);
  t.ok(await exists(database.db, 'access_log_p2025_10'), 'partition still there');
});

t.test('a run drops logs older than twelve months, keeps younger ones, and deletes departed people after three months', async (t) => {
  const { app, database } = await buildTestApp(t, { now: NOW });
  await world(database.db);
  const report = await runRetention(database.db, options);
  t.notOk(report.skipped);
  t.ok(report.droppedPartitions.includes('access_log_p2025_10'));
  t.notOk(report.droppedPartitions.includes('access_log_p2025_12'));
  const left = await database.db.selectFrom('access_log').select('at').orderBy('at').execute();
  t.same(left.map((r) => new Date(r.at).toISOString().slice(0, 10)), ['2025-12-25', '2026-11-24'], '13-month row gone, 11-month row kept');
  const people = await database.db.selectFrom('people').select('person_id').execute();
  t.same(people.map((p) => p.person_id), ['RECENT'], 'gone 3 months and a day: deleted; gone less than 3 months: kept');
  const subs = await database.db.selectFrom('subscriptions').select('id').execute();
  t.same(subs.map((s) => s.id), ['CURRENT'], 'subscription ended beyond the grace is deleted');
  const stats = await database.db.selectFrom('access_stats_daily').select(['day', 'count', 'outcome']).orderBy('day').execute();
  t.same(stats.map((s) => [isoDay(s.day), s.count, s.outcome]), [['2025-10-25', 1, 'granted'], ['2025-12-25', 1, 'granted'], ['2026-11-24', 1, 'refused']], 'daily counts survive the purge');

  const status = await app.inject({ method: 'GET', url: '/v1/retention/status', headers: bearer(app, operator) });
  t.equal(status.statusCode, 200);
  t.equal(status.json().oldest.accessLog, '2025-12-25T10:00:00.000Z');
  t.equal(status.json().retentionMonths, 12);
});

t.test('two concurrent runs do not both act', async (t) => {
  const { database } = await buildTestApp(t, { now: NOW });
  await world(database.db);
  const [a, b] = await Promise.all([runRetention(database.db, options), runRetention(database.db, options)]);
  const dropped = [...a.droppedPartitions, ...b.droppedPartitions];
  t.equal(dropped.filter((p) => p === 'access_log_p2025_10').length, 1, 'the partition is dropped once');
  t.equal(a.deletedPeople + b.deletedPeople, 1, 'the person is deleted once');
  if (process.env.DATABASE_URL) t.ok(a.skipped !== b.skipped, 'on PostgreSQL one run finds the lock taken and skips');
});

t.test('the retention status is for operators only', async (t) => {
  const { app } = await buildTestApp(t, { now: NOW });
  const res = await app.inject({ method: 'GET', url: '/v1/retention/status', headers: bearer(app, { sub: 'm', role: 'ministry' }) });
  t.equal(res.statusCode, 403);
});

t.test('a run creates the partitions it needs ahead, moving rows the default partition caught', async (t) => {
  const { database } = await buildTestApp(t, { now: NOW });
  await baseWorld(database.db);
  await logRow(database.db, '2027-02-10T10:00:00Z'); // no partition yet: lands in the default one
  const later = new Date('2027-01-15T09:00:00Z');
  const report = await runRetention(database.db, { ...options, now: later });
  t.notOk(report.skipped);
  for (const m of ['2027_02', '2027_03']) t.ok(await exists(database.db, `access_log_p${m}`), `access_log_p${m} created`);
  const inPartition = await sql<{ n: number }>`select count(*)::int as n from access_log_p2027_02`.execute(database.db);
  t.equal(inPartition.rows[0]!.n, 1, 'the stray row moved into its month');
  const inDefault = await sql<{ n: number }>`select count(*)::int as n from access_log_default`.execute(database.db);
  t.equal(inDefault.rows[0]!.n, 0);
});

t.test("responsables d'affectation no RespAff export names any more are deleted after three months", async (t) => {
  const { app, database, clock } = await buildTestApp(t, { now: '2026-06-01T02:00:00Z' });
  await onboard(app);
  const respAff = (ids: string[]) =>
    `<?xml version="1.0" encoding="UTF-8"?><GAR-ENT-RespAff xmlns="http://data.education.fr/ns/gar" Version="1.7">${ids
      .map(
        (id) =>
          `<GARRespAff><GARPersonIdentifiant>${id}</GARPersonIdentifiant><GARPersonNom>Nom ${id}</GARPersonNom><GARPersonPrenom>P</GARPersonPrenom>` +
          `<GARPersonMail>${id.toLowerCase()}@ac-test.fr</GARPersonMail><GARRespAffEtab>${DIR_UAI}</GARRespAffEtab></GARRespAff>`,
      )
      .join('')}</GAR-ENT-RespAff>`;
  const send = async (ids: string[]) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/feed/gar-ent',
      headers: { ...bearer(app, entZ0), 'content-type': 'application/xml' },
      payload: respAff(ids),
    });
    t.equal(res.statusCode, 200, res.body);
  };
  await send(['KEPT', 'DROPPED']);
  // Two months later the export names KEPT again, unchanged; DROPPED is no longer in it.
  clock.set('2026-08-01T02:00:00Z');
  await send(['KEPT']);
  const managers = async () => (await database.db.selectFrom('assignment_managers').select('person_id').orderBy('person_id').execute()).map((m) => m.person_id);

  const run = (now: string) => runRetention(database.db, { ...options, now: new Date(now) });
  t.equal((await run('2026-08-31T00:00:00Z')).deletedAssignmentManagers, 0, 'three months not yet over for anyone');
  t.same(await managers(), ['DROPPED', 'KEPT']);
  const report = await run('2026-09-02T00:00:00Z');
  t.equal(report.deletedAssignmentManagers, 1);
  t.same(await managers(), ['KEPT'], 'last named on 1 June: deleted; named again on 1 August: kept');
  t.equal((await run('2026-11-02T00:00:00Z')).deletedAssignmentManagers, 1, 'KEPT goes in turn once no export names them for three months');
  t.same(await managers(), []);
});

t.test('export jobs and their problem lists are deleted 30 days after they end; running jobs stay', async (t) => {
  const { app, database } = await buildTestApp(t, { now: NOW });
  await onboard(app);
  const job = (id: string, state: 'succeeded' | 'partial' | 'running', finished: string | null) => ({
    id, ent_id: 'Z0', state, created_by: 'ent-z0', archive_name: null, archive_path: null,
    problems: JSON.stringify([{ path: '/', message: 'x' }]), problem_count: 1, created_at: new Date('2026-09-01T00:00:00Z'), finished_at: finished,
  });
  await database.db.insertInto('feed_jobs').values([
    job('00000000-0000-4000-8000-00000000000a', 'succeeded', '2026-10-25T08:00:00Z'), // 31 days before NOW
    job('00000000-0000-4000-8000-00000000000b', 'partial', '2026-10-27T08:00:00Z'), // 29 days
    job('00000000-0000-4000-8000-00000000000c', 'running', null),
  ]).execute();
  const report = await runRetention(database.db, options);
  t.equal(report.deletedFeedJobs, 1);
  const left = await database.db.selectFrom('feed_jobs').select('id').orderBy('id').execute();
  t.same(left.map((r) => r.id.slice(-1)), ['b', 'c']);
});
