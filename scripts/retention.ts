import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadSettings } from '../src/config.js';
import { connectPglite, connectPostgres } from '../src/db/connect.js';
import { performRetention } from '../src/modules/maintenance/maintenance.service.js';

/** `npm run retention [-- --dry-run]`: one retention run now; a dry run prints and removes nothing. */
const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
const settings = loadSettings(process.env, { requireSecrets: false });
const database = settings.databaseUrl ? connectPostgres(settings.databaseUrl, 1) : await connectPglite(settings.dataDir);
try {
  const report = await performRetention(database.db, settings, new Date(), pino({ level: 'warn' }), values['dry-run']);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await database.close();
}
