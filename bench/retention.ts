/*
 * bench/retention.ts — a retention run that purges a month of 5,000 access-log rows, then one that
 * purges a month of 5,000,000: dropping a partition costs the same whatever it holds.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/retention.ts
 * (the database is wiped). Rows are inserted with generate_series; only the retention run is timed.
 */
import pg from 'pg';
import { connectPostgres } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { ensureMonthlyPartitions } from '../src/modules/maintenance/partitions.js';
import { runRetention } from '../src/modules/maintenance/retention.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL (a database this bench may wipe)');
const sizes = (process.env.BENCH_SIZES ?? '5000,5000000').split(',').map(Number);

async function run(rows: number): Promise<{ rows: number; ms: number; deleteMs: number; dropped: string[] }> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('drop schema public cascade; create schema public;');
  const h = connectPostgres(url!, 2);
  await migrateToLatest(h.db);
  // October 2025 holds the rows to purge; the run happens on 2026-11-25 (cutoff 2025-11-25).
  await ensureMonthlyPartitions(h.db, 'access_log', new Date('2025-10-01T00:00:00Z'), 14);
  const t0 = performance.now();
  await admin.query(
    `insert into access_log (at, ent_id, uai, person_ref, profile, resource_id, publisher_id, outcome, attributes)
     select timestamptz '2025-10-01' + (i % 2592000) * interval '1 second', 'Z0', '0650001Y', i % 100000, 'National_elv',
            'ark:/12345/r' || (i % 50), 'P1', 'granted', array['IDO','UAI','DIV']
     from generate_series(1, $1::int) i`,
    [rows],
  );
  // A younger month that must stay.
  await admin.query(
    `insert into access_log (at, ent_id, uai, resource_id, outcome) select timestamptz '2026-11-01' + i * interval '1 minute', 'Z0', '0650001Y', 'r', 'granted'
     from generate_series(1, 1000) i`,
  );
  await admin.query('analyze access_log');
  // Stats folding runs inside the retention; fold beforehand so the timing is the purge itself.
  await admin.query(`insert into maintenance_state (key, value) values ('stats_aggregated_until', '2026-11-25')`);
  const loadMs = performance.now() - t0;
  // For contrast: what a row-by-row DELETE of the same month would cost (rolled back).
  await admin.query('begin');
  const d0 = performance.now();
  await admin.query(`delete from access_log where at < '2025-11-01'`);
  const deleteMs = performance.now() - d0;
  await admin.query('rollback');
  // A month past retention has long been written out: checkpoint so the drop meets cold files.
  await admin.query('checkpoint');
  const start = performance.now();
  const report = await runRetention(h.db, {
    now: new Date('2026-11-25T09:00:00Z'),
    logMonths: 12,
    goneMonths: 3,
    subscriptionGraceDays: 90,
    dryRun: false,
  });
  const ms = performance.now() - start;
  const left = await admin.query('select count(*)::int as n from access_log');
  console.log(`  ${rows.toLocaleString('en')} rows loaded in ${(loadMs / 1000).toFixed(1)} s; retention run ${ms.toFixed(0)} ms (a DELETE would take ${deleteMs.toFixed(0)} ms); rows left ${left.rows[0].n}`);
  await admin.end();
  await h.close();
  return { rows, ms, deleteMs, dropped: report.droppedPartitions };
}

const results = [];
for (const n of sizes) results.push(await run(n));
console.log(JSON.stringify(results.map((r) => ({ rowsPurged: r.rows, retentionRunMs: Math.round(r.ms), equivalentDeleteMs: Math.round(r.deleteMs), dropped: r.dropped }))));
