import { loadSettings } from '../src/config.js';
import { connectPglite, connectPostgres } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite. */
const settings = loadSettings(process.env, { requireSecrets: false });
const database = settings.databaseUrl ? connectPostgres(settings.databaseUrl, 1) : await connectPglite(settings.dataDir);
try {
  const applied = await migrateToLatest(database.db);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database already up to date\n');
} finally {
  await database.close();
}
