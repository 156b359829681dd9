import { parseArgs } from 'node:util';
import { ConfigError, loadSettings } from '../src/config.js';
import { connectPglite, connectPostgres } from '../src/db/connect.js';
import { establishmentClaimsFor } from '../src/modules/directory/assignment-managers.js';
import { ROLES, callerFromClaims } from '../src/plugins/auth.js';
import { devSigner } from './lib/dev-token.js';

/**
 * `npm run token -- --role publisher --publisherId P1`: prints a token this deployment accepts.
 * `npm run token -- --manager PERSON --entId E [--uai UAI ...]`: an `establishment` token for a
 * responsable d'affectation, with the UAIs their project's RespAff feed gives them (read from the
 * database; in embedded mode, stop the server first: PGlite opens its folder in one process only).
 */
const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    sub: { type: 'string' },
    publisherId: { type: 'string' },
    entId: { type: 'string' },
    uai: { type: 'string', multiple: true },
    manager: { type: 'string' },
    expiresIn: { type: 'string', default: '8h' },
  },
});

function fail(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run token -- --role ${ROLES.join('|')} [--publisherId P] [--entId E] [--uai UAI ...] [--sub S] [--expiresIn 8h]\n` +
      `       npm run token -- --manager PERSON_ID --entId E [--uai UAI ...] [--expiresIn 8h]\n`,
  );
  process.exit(2);
}

const settings = loadSettings(process.env, { requireSecrets: false });
const claims = values.manager ? await managerClaims(values.manager) : roleClaims();
try {
  callerFromClaims(claims);
} catch (err) {
  fail((err as Error).message);
}
const ttl = /^(\d+)([smhd])$/.exec(values.expiresIn ?? '8h');
if (!ttl) fail('--expiresIn takes e.g. 30m, 8h or 2d');
const unit = { s: 1, m: 60, h: 3600, d: 86400 }[ttl[2] as 's' | 'm' | 'h' | 'd'];
const machine = settings.jwtMachineClients.includes(String(claims.sub));
const maxLifetime = machine ? settings.jwtMachineMaxLifetimeSeconds : settings.jwtMaxLifetimeSeconds;
if (Number(ttl[1]) * unit > maxLifetime) {
  fail(`--expiresIn is longer than this deployment accepts (${maxLifetime} s${machine ? ' for a machine client' : '; JWT_MACHINE_CLIENTS lists the subs allowed longer tokens'})`);
}
try {
  const sign = devSigner(settings, Number(ttl[1]) * unit);
  process.stdout.write(`${sign(claims)}\n`);
} catch (err) {
  fail(err instanceof ConfigError ? err.message : (err as Error).message);
}

function roleClaims(): Record<string, unknown> {
  if (!values.role) fail('--role is required');
  return {
    sub: values.sub ?? `cli-${values.role}`,
    role: values.role,
    ...(values.publisherId ? { publisherId: values.publisherId } : {}),
    ...(values.entId ? { entId: values.entId } : {}),
    ...(values.uai ? { uai: values.uai } : {}),
  };
}

async function managerClaims(personId: string): Promise<Record<string, unknown>> {
  if (values.role && values.role !== 'establishment') fail('--manager issues establishment tokens only');
  if (!values.entId) fail('--manager needs --entId, the ENT project whose RespAff feed names this person');
  if (values.sub || values.publisherId) fail('--manager sets sub from the person id; --sub and --publisherId do not apply');
  const database = settings.databaseUrl ? connectPostgres(settings.databaseUrl, 1) : await connectPglite(settings.dataDir);
  try {
    return { ...(await establishmentClaimsFor(database.db, values.entId, personId, values.uai ?? [])) };
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') fail('this database is not migrated yet: run `npm run migrate` first');
    fail((err as Error).message);
  } finally {
    await database.close();
  }
}
