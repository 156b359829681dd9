/*
 * One person's resource list at scale: 1,000,000 people in 2,000 establishments, 100,000
 * assignments. Loads the data once with set-based SQL (insert ... select from generate_series),
 * then times the repository query and the HTTP route over 10,000 random people and prints the
 * median, p99 and an EXPLAIN ANALYZE.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_subscriptions_bench node --import tsx bench/resources.ts
 *
 * The database is created if missing; --reload drops and reloads the data. Not part of `npm test`.
 */
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { connectPostgres } from '../src/db/connect.js';
import type { Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { assignedResources } from '../src/modules/resource-list/resource-list.repository.js';
import { testConfig } from '../test/helper.js';

const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/garb_subscriptions_bench\n');
  process.exit(2);
}

const ESTABLISHMENTS = 2_000;
const PER_ESTABLISHMENT = 500; // 460 pupils in 19 divisions of ~25, 30 teachers, 2 librarians, 8 other staff
const PEOPLE = ESTABLISHMENTS * PER_ESTABLISHMENT;
const SUBS_PER_ESTABLISHMENT = 15;
const ASSIGNMENTS_PER_ESTABLISHMENT = 50;
const SAMPLES = 10_000;
const NOW = new Date('2026-11-25T09:00:00Z');

async function ensureDatabase(): Promise<void> {
  const target = new URL(url!);
  const name = target.pathname.slice(1);
  const admin = new URL(url!);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
  if (exists.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  await client.end();
}

async function step(label: string, fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await fn();
  process.stdout.write(`  ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

async function load(db: Kysely<Database>): Promise<void> {
  const run = (q: ReturnType<typeof sql>) => q.execute(db);
  process.stdout.write('loading (set-based SQL)\n');
  await step('clean', () =>
    run(sql`truncate assignments, subscriptions, teachings, group_members, groups, establishment_people, people,
                      resources, publishers, establishments, ent_projects restart identity cascade`),
  );
  await step('establishments', async () => {
    await run(sql`insert into ent_projects (id, name, kind) values ('B0', 'Bench ENT', 'ent')`);
    // UAI = 7 digits + the check letter (number mod 23).
    await run(sql`
      insert into establishments (uai, ent_id, name)
      select lpad((100000 + e)::text, 7, '0') || substr('ABCDEFGHJKLMNPRSTUVWXYZ', ((100000 + e) % 23) + 1, 1), 'B0', 'Collège ' || e
      from generate_series(1, ${ESTABLISHMENTS}) e`);
  });
  // Establishment e (1-based) holds people ids (e-1)*500+1 .. e*500; i = position inside it.
  const uaiOf = (e: ReturnType<typeof sql>) =>
    sql`lpad((100000 + ${e})::text, 7, '0') || substr('ABCDEFGHJKLMNPRSTUVWXYZ', ((100000 + ${e}) % 23) + 1, 1)`;
  await step('people (1,000,000)', () =>
    run(sql`
      insert into people (id, ent_id, person_id, last_name, first_name, gone_at)
      select g, 'B0', 'P' || g, 'Nom', 'Prénom', case when g % 50 = 0 then timestamptz '2026-10-01' end
      from generate_series(1, ${PEOPLE}) g`),
  );
  await run(sql`select setval('people_id_seq', ${PEOPLE})`);
  await step('establishment_people', () =>
    run(sql`
      insert into establishment_people (uai, person_id, profiles)
      select ${uaiOf(sql`((g - 1) / ${PER_ESTABLISHMENT} + 1)`)}, g,
        case when i < 460 then array['National_elv'] when i < 490 then array['National_ens']
             when i < 492 then array['National_doc'] when i < 494 then array['National_dir'] else array['National_evs'] end
      from generate_series(1, ${PEOPLE}) g, lateral (select (g - 1) % ${PER_ESTABLISHMENT} as i) x`),
  );
  // 19 divisions (D0..D18) and 5 groups (G0..G4) per establishment; group id = (e-1)*24 + k + 1.
  await step('groups', () =>
    run(sql`
      insert into groups (id, uai, code, name, kind)
      select (e - 1) * 24 + k + 1, ${uaiOf(sql`e`)},
        case when k < 19 then 'D' || k else 'G' || (k - 19) end, 'Groupe ' || k, case when k < 19 then 'DIVISION' else 'GROUPE' end
      from generate_series(1, ${ESTABLISHMENTS}) e, generate_series(0, 23) k`),
  );
  await run(sql`select setval('groups_id_seq', ${ESTABLISHMENTS * 24})`);
  await step('group_members (pupils: one division each, a fifth in a group)', async () => {
    await run(sql`
      insert into group_members (group_id, person_id)
      select (e - 1) * 24 + (i / 25) + 1, g
      from generate_series(1, ${PEOPLE}) g, lateral (select (g - 1) / ${PER_ESTABLISHMENT} + 1 as e, (g - 1) % ${PER_ESTABLISHMENT} as i) x
      where i < 460`);
    await run(sql`
      insert into group_members (group_id, person_id)
      select (e - 1) * 24 + 19 + (i % 5) + 1, g
      from generate_series(1, ${PEOPLE}) g, lateral (select (g - 1) / ${PER_ESTABLISHMENT} + 1 as e, (g - 1) % ${PER_ESTABLISHMENT} as i) x
      where i < 460 and i % 23 < 5`);
  });
  await step('teachings (each teacher, three divisions)', () =>
    run(sql`
      insert into teachings (person_id, group_id)
      select g, (e - 1) * 24 + ((i * 3 + k) % 19) + 1
      from generate_series(1, ${PEOPLE}) g, lateral (select (g - 1) / ${PER_ESTABLISHMENT} + 1 as e, (g - 1) % ${PER_ESTABLISHMENT} as i) x,
           generate_series(0, 2) k
      where i >= 460 and i < 490`),
  );
  await step('publishers and resources (100, 2,000)', async () => {
    await run(sql`insert into publishers (id, name, contact_email) select 'BP' || n, 'Éditeur ' || n, 'c@bp' || n || '.example' from generate_series(0, 99) n`);
    await run(sql`
      insert into resources (id, publisher_id, name, type_presentation, thumbnail_url, access_url, sp_entity_id, sp_acs_url)
      select 'ark:/99999/r' || n, 'BP' || (n % 100), 'Ressource ' || n, 'MAN', 'https://cdn.example/' || n || '.png',
             'https://r' || n || '.example', 'https://r' || n || '.example/sp', 'https://r' || n || '.example/acs'
      from generate_series(0, 1999) n`);
  });
  // 15 per establishment: k=0 ETABL, 1..12 INDIV valid, 13 expired, 14 not yet started.
  await step('subscriptions (30,000)', async () => {
    await run(sql`
      insert into subscriptions (pk, id, publisher_id, resource_id, uai, starts_at, ends_at, assignment_type, audiences, licences)
      select (e - 1) * ${SUBS_PER_ESTABLISHMENT} + k + 1, 'ABO-' || e || '-' || k, 'BP' || (r % 100), 'ark:/99999/r' || r, ${uaiOf(sql`e`)},
        case when k = 14 then timestamptz '2027-01-01' when k = 13 then timestamptz '2025-09-01' else timestamptz '2026-09-01' end,
        case when k = 13 then timestamptz '2026-07-01' else timestamptz '2027-09-01' end,
        case when k = 0 then 'ETABL' else 'INDIV' end,
        case k % 3 when 0 then array['ELEVE', 'ENSEIGNANT'] when 1 then array['ELEVE'] else array['ENSEIGNANT', 'DOCUMENTALISTE'] end,
        '{"global": "unlimited"}'::jsonb
      from generate_series(1, ${ESTABLISHMENTS}) e, generate_series(0, ${SUBS_PER_ESTABLISHMENT - 1}) k,
           lateral (select (e * 7 + k * 131) % 2000 as r) x`);
    await run(sql`select setval('subscriptions_pk_seq', ${ESTABLISHMENTS * SUBS_PER_ESTABLISHMENT})`);
  });
  // 50 per establishment: 35 division, 5 group, 6 person, 2 profile, 1 establishment, 1 on the expired one.
  await step('assignments (100,000)', () =>
    run(sql`
      insert into assignments (subscription_pk, uai, target_type, person_id, group_id, profile, created_by)
      select (e - 1) * ${SUBS_PER_ESTABLISHMENT} + k + 1, ${uaiOf(sql`e`)}, t,
        case when t = 'person' then (e - 1) * ${PER_ESTABLISHMENT} + (a * 37) % 460 + 1 end,
        case when t = 'division' then (e - 1) * 24 + (a % 19) + 1 when t = 'group' then (e - 1) * 24 + 19 + (a - 35) + 1 end,
        case when t = 'profile' then (case a when 46 then 'National_elv' else 'National_ens' end) end,
        'bench'
      from generate_series(1, ${ESTABLISHMENTS}) e, generate_series(0, ${ASSIGNMENTS_PER_ESTABLISHMENT - 1}) a,
        lateral (select
          case when a < 35 then 'division' when a < 40 then 'group' when a < 46 then 'person' when a < 48 then 'profile' else 'establishment' end as t,
          case when a = 49 then 13 when a in (46, 47) then 3 else 1 + (a % 12) end as k) x`),
  );
  await step('analyze', () => run(sql`analyze`));
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `median ${at(0.5).toFixed(3)} ms, p90 ${at(0.9).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, max ${s[s.length - 1]!.toFixed(3)} ms, mean ${mean.toFixed(3)} ms`;
}

const uaiOfPerson = (id: number) => {
  const n = 100000 + Math.floor((id - 1) / PER_ESTABLISHMENT) + 1;
  return String(n).padStart(7, '0') + 'ABCDEFGHJKLMNPRSTUVWXYZ'[n % 23];
};

await ensureDatabase();
let lastQuery: CompiledQuery | undefined;
const pool = new pg.Pool({ connectionString: url, max: 4 });
const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool }),
  log: (event) => {
    if (event.level === 'query') lastQuery = event.query;
  },
});
await migrateToLatest(db);
const count = await sql<{ n: number }>`select count(*)::int as n from people`.execute(db);
if (process.argv.includes('--reload') || Number(count.rows[0]!.n) !== PEOPLE) await load(db);
const sizes = await sql<{ people: number; assignments: number; subscriptions: number; members: number }>`
  select (select count(*) from people)::int as people, (select count(*) from assignments)::int as assignments,
         (select count(*) from subscriptions)::int as subscriptions, (select count(*) from group_members)::int as members`.execute(db);
process.stdout.write(`data: ${JSON.stringify(sizes.rows[0])}\n`);

// A fixed-seed generator: the same 10,000 people on every run.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const sample = Array.from({ length: SAMPLES }, () => 1 + Math.floor(random() * PEOPLE));

// Warm-up (caches and the prepared plans of the pool's connections), then the timed runs.
for (const id of sample.slice(0, 500)) await assignedResources(db, { personDbId: id, uai: uaiOfPerson(id), now: NOW });
const repoTimes: number[] = [];
let listed = 0;
for (const id of sample) {
  const t0 = performance.now();
  const rows = await assignedResources(db, { personDbId: id, uai: uaiOfPerson(id), now: NOW });
  repoTimes.push(performance.now() - t0);
  listed += rows.length;
}
process.stdout.write(`\nrepository assignedResources(), ${SAMPLES} random people: ${stats(repoTimes)}\n`);
process.stdout.write(`  (${(listed / SAMPLES).toFixed(1)} resources per person on average)\n`);

// Through HTTP (app.inject): token check, the establishment and person look-ups, the query, serialisation.
const config = testConfig({ databaseUrl: url, databasePoolSize: 4 });
const database = connectPostgres(url, 4);
const app = await buildApp(config, { database, ownsDatabase: true, clock: () => NOW });
await app.ready();
const headers = { authorization: `Bearer ${app.jwt.sign({ sub: 'bench', role: 'ent', entId: 'B0' }, { expiresIn: '12h' })}` };
const get = (id: number) => app.inject({ method: 'GET', url: `/v1/establishments/${uaiOfPerson(id)}/people/P${id}/resources`, headers });
for (const id of sample.slice(0, 500)) await get(id);
const httpTimes: number[] = [];
for (const id of sample) {
  const t0 = performance.now();
  const res = await get(id);
  httpTimes.push(performance.now() - t0);
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.body}`);
}
process.stdout.write(`GET /v1/establishments/{uai}/people/{personId}/resources via app.inject: ${stats(httpTimes)}\n`);
await app.close();

// The plan, for one pupil in a division with group, person and profile assignments around.
const probe = 1 + 10 * PER_ESTABLISHMENT + 40 * 37 % 460;
lastQuery = undefined;
await assignedResources(db, { personDbId: probe, uai: uaiOfPerson(probe), now: NOW });
const q = lastQuery as CompiledQuery | undefined;
if (q) {
  const client = await pool.connect();
  const plan = await client.query(`explain (analyze, buffers, costs off) ${q.sql}`, q.parameters as unknown[]);
  client.release();
  process.stdout.write(`\nEXPLAIN ANALYZE (person ${probe}):\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
}
await db.destroy();
