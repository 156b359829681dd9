import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ConfigError, loadSettings } from '../src/config.js';
import { connectPglite, connectPostgres } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { ARCHIVE_LIMITS, archiveFiles, archiveKind } from '../src/modules/feed-jobs/archive.js';
import { importExport, type ExportFiles, type ImportReport } from '../src/modules/feed-jobs/export-import.js';
import { withProjectLock } from '../src/modules/feed-jobs/feed-jobs.runner.js';

/**
 * `npm run import -- <archive.tar.gz | archive.zip | files.xml...> --ent <id>`: the import of
 * POST /v1/feed/gar-ent/exports, run here against the configured database (DATABASE_URL, or the
 * embedded PGlite of DATA_DIR like `npm start`; stop the server first in embedded mode, PGlite
 * opens its folder in one process only). A progress bar when stdout is a terminal, a table per
 * establishment at the end. Exit code: 0 all applied, 1 anything failed or refused, 2 usage.
 */
const usage = 'usage: npm run import -- <archive.tar.gz|archive.zip|file.xml ...> --ent <ENT project id>';

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n${code === 2 ? `${usage}\n` : ''}`);
  process.exit(code);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({ options: { ent: { type: 'string' } }, allowPositionals: true });
  } catch (err) {
    return fail((err as Error).message);
  }
})();
if (!values.ent) fail('--ent is required');
if (positionals.length === 0) fail('name an archive or XML files');

/** One archive, or GAR-ENT files given one by one. */
async function sourceOf(paths: string[]): Promise<ExportFiles> {
  for (const p of paths) await stat(p).catch(() => fail(`${p}: no such file`));
  const kind = paths.length === 1 ? await archiveKind(paths[0]!) : undefined;
  if (kind) return archiveFiles(paths[0]!, kind);
  const notXml = paths.filter((p) => !/\.xml$/i.test(p));
  if (notXml.length) fail(`${notXml[0]}: neither a .tar.gz or .zip archive nor an .xml file`);
  return {
    count: async () => paths.length,
    async *entries() {
      for (const p of paths) {
        if ((await stat(p)).size > ARCHIVE_LIMITS.maxFileBytes) fail(`${p}: larger than ${ARCHIVE_LIMITS.maxFileBytes} bytes`, 1);
        yield { name: basename(p), text: await readFile(p, 'utf8') };
      }
    },
  };
}

/** The live bar: files while reading, then establishments while applying; records and their rate. */
function progressBar(): { update: (r: ImportReport) => void; stop: () => void } {
  if (!process.stdout.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {percentage}% | files {files} | establishments {establishments} | records {records} | {rate} rec/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let total = 0;
  return {
    update(r) {
      const p = r.progress;
      const steps = p.files.total + (p.establishments.total ?? 0);
      const records = p.phase === 'applying' || p.phase === 'done' ? p.records.applied : p.records.read;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const payload = {
        phase: p.phase.padEnd(8),
        files: `${p.files.done}/${p.files.total}`,
        establishments: `${p.establishments.done}/${p.establishments.total ?? '?'}`,
        records: p.records.total === null ? `${records}` : `${records}/${p.records.total}`,
        rate: Math.round(records / seconds),
      };
      if (steps === 0) return;
      if (total === 0) bar.start(steps, 0, payload);
      else if (steps !== total) bar.setTotal(steps);
      total = steps;
      bar.update(p.files.done + p.establishments.done, payload);
    },
    stop: () => bar.stop(),
  };
}

let settings;
try {
  settings = loadSettings(process.env, { requireSecrets: false });
} catch (err) {
  if (err instanceof ConfigError) fail(err.message, 78);
  throw err;
}
const database = settings.databaseUrl ? connectPostgres(settings.databaseUrl, 3) : await connectPglite(settings.dataDir);
let exitCode = 0;
try {
  if (settings.migrateOnStart) await migrateToLatest(database.db);
  const entId = values.ent!;
  const project = await database.db.selectFrom('ent_projects').select('id').where('id', '=', entId).executeTakeFirst();
  if (!project) fail(`no ENT project "${entId}" in this database`, 1);
  const files = await sourceOf(positionals);
  const bar = progressBar();
  const started = Date.now();
  const report = await withProjectLock(database, entId, { wait: true }, () =>
    importExport({ db: database.db, entId, now: new Date(), actor: `cli:${process.env.USER ?? 'import'}`, files, onProgress: bar.update }),
  );
  bar.stop();
  if (!report) throw new Error('unreachable: the lock is waited for');
  const seconds = (Date.now() - started) / 1000;

  // One row per establishment, keyed by its UAI.
  const rows = Object.fromEntries(report.establishments.map((e) => [e.uai, {
    name: (e.name ?? '').slice(0, 30),
    state: e.state,
    people: e.people,
    created: e.result?.people.created ?? '',
    updated: e.result?.people.updated ?? '',
    gone: e.result?.people.gone ?? '',
    problems: e.problemCount,
    reason: (e.reason ?? '').slice(0, 60),
  }]));
  console.table(rows);
  const applied = report.establishments.filter((e) => e.state === 'applied').length;
  const people = report.establishments.filter((e) => e.state === 'applied').reduce((n, e) => n + e.people, 0);
  process.stdout.write(
    `${applied} of ${report.establishments.length} establishment(s) applied; ${report.progress.files.done} file(s), ` +
      `${report.progress.records.read} record(s), ${people} people in ${seconds.toFixed(1)} s (${Math.round(people / Math.max(seconds, 0.001))} people/s)\n`,
  );
  if (report.fatal) process.stdout.write(`nothing applied: ${report.fatal}\n`);
  if (report.problemCount) {
    process.stdout.write(`${report.problemCount} problem(s)${report.problemCount > report.problems.length ? `, the first ${report.problems.length}` : ''}:\n`);
    for (const p of report.problems) process.stdout.write(`  ${[p.uai, p.file, p.path].filter(Boolean).join(' ')}: ${p.message}\n`);
  }
  if (report.fatal || applied < report.establishments.length) exitCode = 1;
} catch (err) {
  process.stderr.write(`import failed: ${(err as Error).message}\n`);
  exitCode = 1;
} finally {
  await database.close();
}
process.exit(exitCode);
