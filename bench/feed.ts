/*
 * Directory feed benchmark (not part of `npm test`).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_directory node --import tsx bench/feed.ts [establishments] [runs]
 *
 * Works in a scratch database `<name of DATABASE_URL>_bench` on the same server (dropped and created
 * again), through the real HTTP route (app.inject: JSON encoding, schema validation, rules, SQL).
 * 1. One synthetic 2,000-person establishment (80 groups): median time of a full snapshot that
 *    creates everything, that changes 5% of it, and that changes nothing.
 * 2. A nightly sync of N such establishments one after another (default 1,000): initial load, then
 *    a night with 2% changes; people per second, with RSS and heap printed along the way.
 */
import { cpus, loadavg } from 'node:os';
import { sql } from 'kysely';
import pg from 'pg';
import { uaiCheckLetter } from '../src/lib/uai.js';
import { buildApp } from '../src/app.js';
import { connectPostgres } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { testConfig } from '../test/helper.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required (PostgreSQL)');
  process.exit(2);
}
const ESTABLISHMENTS = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 10);
const PEOPLE = 2000;

const base = new URL(url).pathname.slice(1) || 'postgres';
const benchDb = `${base}_bench`;
const benchUrl = (() => {
  const u = new URL(url);
  u.pathname = `/${benchDb}`;
  return u.toString();
})();

async function admin(sqlText: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sqlText);
  } finally {
    await c.end();
  }
}

const uaiOf = (n: number) => {
  const digits = String(8_000_000 + n).padStart(7, '0').slice(-7);
  return digits + uaiCheckLetter(digits);
};

/** A realistic collège/lycée: 1,850 pupils in 40 classes and 40 groups, 130 teachers, 20 staff. */
function establishment(uai: string, night: number, changeRate: number) {
  const changed = (i: number) => changeRate > 0 && (i * 7919 + night * 104729) % Math.round(1 / changeRate) === 0;
  const divisions = Array.from({ length: 40 }, (_, d) => ({ code: `D${d}`, name: `Classe ${d}`, kind: 'DIVISION' as const }));
  const groups = Array.from({ length: 40 }, (_, g) => ({
    code: `G${g}`,
    name: `Groupe ${g}`,
    kind: 'GROUPE' as const,
    divisions: [`D${g}`, `D${(g + 1) % 40}`],
  }));
  const subjects = Array.from({ length: 30 }, (_, s) => ({ code: `0${30200 + s}`, name: `Matière ${s}` }));
  const mefs = Array.from({ length: 8 }, (_, m) => ({ code: `1031001911${m}`, name: `MEF ${m}` }));
  const people = [];
  const memberships = [];
  const teachings = [];
  const pupils = 1850;
  const teachers = 130;
  for (let i = 0; i < PEOPLE; i++) {
    const id = `${uai}-${i}`;
    const profile = i < pupils ? 'National_elv' : i < pupils + teachers ? 'National_ens' : ['National_doc', 'National_dir', 'National_evs', 'National_eta'][i % 4]!;
    const lastName = changed(i) ? `Nom${i}-n${night}` : `Nom${i}`;
    people.push({
      id,
      lastName,
      firstName: `Prénom${i}`,
      otherFirstNames: [`Prénom${i}`, `Second${i % 50}`],
      civility: i % 2 ? 'M.' : 'Mme',
      ...(i < pupils ? { birthDate: `2010-0${1 + (i % 9)}-1${i % 9}` } : { emails: [`p${i}@ac-test.fr`], disciplines: [`L${1000 + (i % 30)}`] }),
      profiles: [{ uai, profile }],
      mefs: [mefs[i % 8]!.code],
      subjects: i < pupils ? [subjects[i % 30]!.code, subjects[(i + 7) % 30]!.code] : [],
    });
    if (i < pupils) {
      const d = i % 40;
      const moved = changed(i + 1) ? (d + 1) % 40 : d;
      memberships.push({ personId: id, groupCode: `D${moved}` });
      memberships.push({ personId: id, groupCode: `G${i % 40}` }, { personId: id, groupCode: `G${(i + 13) % 40}` });
    } else if (i < pupils + teachers) {
      const t = i - pupils;
      for (let k = 0; k < 3; k++) teachings.push({ personId: id, groupCode: `D${(t * 3 + k) % 40}`, subjects: [subjects[t % 30]!.code] });
      if (t < 40) teachings.push({ personId: id, groupCode: `G${t}`, subjects: [subjects[(t + 3) % 30]!.code] });
    }
  }
  return { establishment: { name: `Établissement ${uai}` }, people, groups: [...divisions, ...groups], memberships, teachings, subjects, mefs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
const memory = () => {
  const m = process.memoryUsage();
  return `rss ${mb(m.rss)}, heap ${mb(m.heapUsed)}`;
};

async function main() {
  await admin(`drop database if exists "${benchDb}" with (force)`);
  await admin(`create database "${benchDb}"`);
  const database = connectPostgres(benchUrl, 5);
  await migrateToLatest(database.db);
  const config = testConfig({ databaseUrl: benchUrl, databasePoolSize: 4 });
  const app = await buildApp(config, { database, ownsDatabase: true });
  await app.ready();
  const headers = { authorization: `Bearer ${app.jwt.sign({ sub: 'bench', role: 'ent', entId: 'Z0' }, { expiresIn: '12h' })}` };

  const uais = Array.from({ length: Math.max(ESTABLISHMENTS, RUNS) }, (_, i) => uaiOf(i + 1));
  await database.db.insertInto('ent_projects').values({ id: 'Z0', name: 'Bench', kind: 'ent' }).execute();
  for (let i = 0; i < uais.length; i += 500) {
    await database.db
      .insertInto('establishments')
      .values(uais.slice(i, i + 500).map((uai) => ({ uai, ent_id: 'Z0', name: uai })))
      .execute();
  }

  const send = async (uai: string, body: unknown) => {
    const started = performance.now();
    const res = await app.inject({ method: 'PUT', url: `/v1/establishments/${uai}/directory`, headers, payload: body as object });
    const ms = performance.now() - started;
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body.slice(0, 500)}`);
    return { ms, result: res.json() as { people: Record<string, number>; memberships: Record<string, number> } };
  };

  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other work running skews every figure)`);
  const sample = establishment(uais[0]!, 0, 0);
  console.log(
    `establishment: ${sample.people.length} people, ${sample.groups.length} groups, ${sample.memberships.length} memberships, ` +
      `${sample.teachings.length} teachings, ${(JSON.stringify(sample).length / 1024).toFixed(0)} KiB of JSON`,
  );

  // 1. One establishment, RUNS times each.
  const create: number[] = [];
  for (let r = 0; r < RUNS; r++) create.push((await send(uais[r]!, establishment(uais[r]!, 0, 0))).ms);
  const update: number[] = [];
  let last;
  for (let r = 1; r <= RUNS; r++) {
    last = await send(uais[0]!, establishment(uais[0]!, r, 0.05));
    update.push(last.ms);
  }
  const same = establishment(uais[0]!, RUNS, 0.05);
  const unchanged: number[] = [];
  for (let r = 0; r < RUNS; r++) unchanged.push((await send(uais[0]!, same)).ms);
  console.log(`full snapshot, everything new:        median ${median(create).toFixed(0)} ms (min ${Math.min(...create).toFixed(0)}, max ${Math.max(...create).toFixed(0)}, ${RUNS} runs)`);
  console.log(
    `full snapshot, 5% changed:            median ${median(update).toFixed(0)} ms (min ${Math.min(...update).toFixed(0)}, max ${Math.max(...update).toFixed(0)}); last: ${JSON.stringify(last!.result.people)}`,
  );
  console.log(`full snapshot, unchanged (re-sent):   median ${median(unchanged).toFixed(0)} ms (min ${Math.min(...unchanged).toFixed(0)}, max ${Math.max(...unchanged).toFixed(0)})`);

  // 2. A nightly sync of N establishments, one after another.
  for (const [label, night, rate] of [
    ['initial load (all new)', 0, 0],
    ['nightly sync (2% changed)', 1, 0.02],
  ] as const) {
    // Production runs autovacuum, which keeps planner statistics current; a bench server may not
    // (this one runs with autovacuum off), so analyze between passes as autovacuum would.
    await sql`analyze`.execute(database.db);
    const started = performance.now();
    let people = 0;
    let serverMs = 0;
    const each: number[] = [];
    for (let i = 0; i < ESTABLISHMENTS; i++) {
      const uai = uais[i]!;
      // The first RUNS establishments exist already; night 0 for them is a re-send, which is fine.
      const { ms } = await send(uai, establishment(uai, night, rate));
      serverMs += ms;
      each.push(ms);
      people += PEOPLE;
      if ((i + 1) % 100 === 0 || i + 1 === ESTABLISHMENTS) {
        const s = (performance.now() - started) / 1000;
        console.log(
          `  ${label}: ${i + 1}/${ESTABLISHMENTS} establishments, ${(people / s).toFixed(0)} people/s wall, ` +
            `${(people / (serverMs / 1000)).toFixed(0)} people/s in the route, ${memory()}, load ${loadavg()[0]!.toFixed(1)}`,
        );
      }
    }
    const s = (performance.now() - started) / 1000;
    console.log(
      `${label}: ${ESTABLISHMENTS} establishments, ${people} people in ${s.toFixed(1)} s = ${(people / s).toFixed(0)} people/s wall clock ` +
        `(payload generation included); ${(people / (serverMs / 1000)).toFixed(0)} people/s counting the route only; ` +
        `median ${median(each).toFixed(0)} ms per establishment`,
    );
  }
  await app.close();
  if (!process.env.BENCH_KEEP) await admin(`drop database if exists "${benchDb}" with (force)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
