import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { MIGRATIONS_DIR, migrateToLatest } from './migrate.js';

/*
 * A migrated PGlite data directory as a tar image, kept on disk per PGlite version and migration
 * set. A new embedded database loads it instead of running initdb and every migration: that is
 * most of a first `npm start` and of each embedded test database. `npm ci` builds it (prepare);
 * without it everything still works, only slower.
 */

// The package's own folder, from its entry point (its package.json is not exported).
const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const pgliteRoot = pgliteEntry.slice(0, pgliteEntry.lastIndexOf(`${sep}@electric-sql${sep}pglite${sep}`) + `${sep}@electric-sql${sep}pglite`.length);
const pglitePackage = join(pgliteRoot, 'package.json');

/** Under node_modules/.cache, as tools do: a fresh `npm ci` starts without a stale image. */
const imageDir = () => process.env.PGLITE_IMAGE_DIR ?? join(dirname(dirname(pgliteRoot)), '.cache', 'gar-broker');

/**
 * The migrations as written: `npm start`'s transpiled copy (scripts/dev-build.mjs) keeps them in
 * migrations-src/ beside its JavaScript, so it shares the image with tsx and the tests.
 */
const migrationSources = () => {
  const beside = join(dirname(MIGRATIONS_DIR), 'migrations-src');
  return existsSync(beside) ? beside : MIGRATIONS_DIR;
};

/** Changes with any migration file (name or content) and with the PGlite version. */
export function migrationsFingerprint(): string {
  const hash = createHash('sha256').update((JSON.parse(readFileSync(pglitePackage, 'utf8')) as { version: string }).version);
  const dir = migrationSources();
  for (const file of readdirSync(dir).sort()) hash.update(`\n${file}\n`).update(readFileSync(join(dir, file)));
  return hash.digest('hex').slice(0, 16);
}

const imagePath = () => join(imageDir(), `pglite-migrated-${migrationsFingerprint()}.tar`);

/** The image of the current migration set, if one was built. */
export function readMigratedImage(): Blob | undefined {
  const path = imagePath();
  return existsSync(path) ? new Blob([readFileSync(path)]) : undefined;
}

/** Builds the image (initdb and every migration, in memory) and keeps it for the next process. */
export async function buildMigratedImage(): Promise<Blob> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { fromPglite } = await import('./connect.js');
  const client = await PGlite.create();
  const handle = await fromPglite(client);
  try {
    await migrateToLatest(handle.db);
    const bytes = Buffer.from(await (await client.dumpDataDir('none')).arrayBuffer());
    try {
      const path = imagePath();
      mkdirSync(dirname(path), { recursive: true });
      // Parallel builders each write their own file; the rename makes whichever lands last whole.
      const partial = `${path}.${process.pid}.partial`;
      writeFileSync(partial, bytes);
      renameSync(partial, path);
    } catch {
      // A read-only node_modules only costs the next process the same build.
    }
    return new Blob([bytes]);
  } finally {
    await handle.close();
  }
}

export const migratedImage = async (): Promise<Blob> => readMigratedImage() ?? buildMigratedImage();
