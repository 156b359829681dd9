import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMigrationProvider, Migrator, sql, type Kysely, type MigrationResultSet } from 'kysely';

/** migrations/ sits two levels above this file both in the source tree and in dist/. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export function migrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
  });
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly results: MigrationResultSet['results'],
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Migration names as kysely's file provider sees them (a file name without its .ts/.js). */
async function migrationNamesOnDisk(): Promise<string[]> {
  const files = await fs.readdir(MIGRATIONS_DIR);
  return files.filter((f) => /\.(?:[cm]?js|ts)$/.test(f) && !f.endsWith('.d.ts')).map((f) => f.replace(/\.[^.]+$/, ''));
}

/**
 * True when the database has applied exactly the migrations on disk: a start then skips loading
 * every migration module and taking the migration lock (most of a restart's database time).
 * Anything else, including no migration table yet, goes through kysely's migrator.
 */
async function upToDate(db: Kysely<any>): Promise<boolean> {
  const [onDisk, applied] = await Promise.all([
    migrationNamesOnDisk(),
    appliedMigrationNames(db),
  ]);
  if (!applied || applied.length !== onDisk.length) return false;
  const done = new Set(applied);
  return onDisk.every((name) => done.has(name));
}

async function appliedMigrationNames(db: Kysely<any>): Promise<string[] | undefined> {
  const table = await sql<{ t: string | null }>`select to_regclass('kysely_migration')::text as t`.execute(db);
  if (!table.rows[0]?.t) return undefined;
  return (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map((row) => row.name);
}

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  if (await upToDate(db)) return [];
  // One connection, without the request path's statement timeout: a migration on a large table may
  // rightly take minutes. RESET gives the connection back with the pool's setting.
  const { error, results } = await db.connection().execute(async (connection) => {
    await sql`set statement_timeout = 0`.execute(connection);
    try {
      return await migrator(connection).migrateToLatest();
    } finally {
      await sql`reset statement_timeout`.execute(connection);
    }
  });
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed: ${(error as Error).message}`, results);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Names of migrations that exist on disk but are not applied yet, from the names alone: asking
 * kysely's migrator would import every migration module (the first /ready took 0.2 s for it).
 */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const [onDisk, applied] = await Promise.all([migrationNamesOnDisk(), appliedMigrationNames(db)]);
  const done = new Set(applied ?? []);
  return onDisk.filter((name) => !done.has(name)).sort();
}
