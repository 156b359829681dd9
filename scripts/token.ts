import { parseArgs } from 'node:util';
import { ConfigError, loadSettings } from '../src/config.js';
import { ROLES, callerFromClaims } from '../src/plugins/auth.js';
import { devSigner } from './lib/dev-token.js';

/** `npm run token -- --role publisher --publisherId P1`: prints a token this deployment accepts. */
const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    sub: { type: 'string' },
    publisherId: { type: 'string' },
    entId: { type: 'string' },
    uai: { type: 'string', multiple: true },
    expiresIn: { type: 'string', default: '8h' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\nusage: npm run token -- --role ${ROLES.join('|')} [--publisherId P] [--entId E] [--uai UAI ...] [--sub S] [--expiresIn 8h]\n`);
  process.exit(2);
}

if (!values.role) fail('--role is required');
const claims: Record<string, unknown> = { sub: values.sub ?? `cli-${values.role}`, role: values.role };
if (values.publisherId) claims.publisherId = values.publisherId;
if (values.entId) claims.entId = values.entId;
if (values.uai) claims.uai = values.uai;
try {
  callerFromClaims(claims);
} catch (err) {
  fail((err as Error).message);
}
const ttl = /^(\d+)([smhd])$/.exec(values.expiresIn ?? '8h');
if (!ttl) fail('--expiresIn takes e.g. 30m, 8h or 2d');
const unit = { s: 1, m: 60, h: 3600, d: 86400 }[ttl[2] as 's' | 'm' | 'h' | 'd'];
try {
  const sign = devSigner(loadSettings(process.env), Number(ttl[1]) * unit);
  process.stdout.write(`${sign(claims)}\n`);
} catch (err) {
  fail(err instanceof ConfigError ? err.message : (err as Error).message);
}
