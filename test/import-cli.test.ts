import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { connectPglite } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { freshDatabase, postgresUrlOf } from './helper.js';
import { UAI_A, UAI_B, dumpDirectory } from './directory-fixtures.js';
import { tarGz, z0Export, zip } from './export-archives.js';

/*
 * `npm run import` as an operator runs it: the real script in a child process, on the test's own
 * database (PostgreSQL through DATABASE_URL, or a PGlite folder through DATA_DIR).
 */

async function seed(db: Kysely<Database>) {
  await db.insertInto('ent_projects').values({ id: 'Z0', name: 'ENT Occitanie', kind: 'ent' } as never).execute();
  await db.insertInto('establishments').values([UAI_A, UAI_B].map((uai) => ({ uai, ent_id: 'Z0', name: `École ${uai}` })) as never).execute();
}

/** A database the child can open, and a way to look at it afterwards. */
async function target(t: Parameters<typeof freshDatabase>[0]): Promise<{ env: Record<string, string>; inspect: <R>(fn: (db: Kysely<Database>) => Promise<R>) => Promise<R> }> {
  if (process.env.DATABASE_URL) {
    const database = await freshDatabase(t);
    await seed(database.db);
    return { env: { DATABASE_URL: await postgresUrlOf(database.db) }, inspect: (fn) => fn(database.db) };
  }
  // PGlite opens its folder in one process at a time: closed while the child runs.
  const dir = mkdtempSync(join(tmpdir(), 'gar-import-'));
  const open = async <R>(fn: (db: Kysely<Database>) => Promise<R>) => {
    const h = await connectPglite(dir);
    try {
      return await fn(h.db);
    } finally {
      await h.close();
    }
  };
  await open(async (db) => {
    await migrateToLatest(db);
    await seed(db);
  });
  return { env: { DATA_DIR: dir }, inspect: open };
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const { DATABASE_URL: _omit, ...base } = process.env;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/import.ts', ...args], {
      env: { ...base, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

t.test('the CLI imports an archive, prints a table per establishment, and says by its exit code whether anything was refused', async (t) => {
  const db = await target(t);
  const dir = mkdtempSync(join(tmpdir(), 'gar-archives-'));
  const good = join(dir, 'Z0.tar.gz');
  writeFileSync(good, await tarGz(z0Export()));
  const ok = await run([good, '--ent', 'Z0'], db.env);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, new RegExp(`${UAI_A}.*applied`));
  t.match(ok.out, new RegExp(`${UAI_B}.*applied`));
  t.match(ok.out, /2 of 2 establishment\(s\) applied; 7 file\(s\)/);
  t.equal(await db.inspect(async (d) => (await dumpDirectory(d, UAI_A)).people.length), 4);

  const broken = join(dir, 'Z0-broken.zip');
  writeFileSync(broken, await zip(z0Export({ brokenB: true })));
  const bad = await run([broken, '--ent', 'Z0'], db.env);
  t.equal(bad.code, 1, 'a failed establishment is a non-zero exit');
  t.match(bad.out, new RegExp(`${UAI_B}.*failed`));
  t.match(bad.out, /1 of 2 establishment\(s\) applied/);
  t.match(bad.out, /GAREleve\/0\/GARPersonDateNaissance/);
  t.notMatch(bad.out, /2011-19-37/, 'the bad date itself is not printed');

  const usage = await run([good], db.env);
  t.equal(usage.code, 2);
  t.match(usage.err, /--ent is required/);
  const unknown = await run([good, '--ent', 'Z9'], db.env);
  t.equal(unknown.code, 1);
  t.match(unknown.err, /no ENT project "Z9"/);
});
