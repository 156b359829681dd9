import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../src/config.js';
import { startKit } from '../demo/kit.js';
import { devSigner } from './lib/dev-token.js';

/**
 * `npm run demo`: a broker (the one already running at the base URL, else one started here in
 * embedded mode), the test ENT and three test publishers on local ports, and the demo world built
 * through the broker's API. Prints the test ENT's login page; Ctrl-C stops what it started.
 *
 * DEMO_BROKER_URL points the kit at another broker (its JWT_SECRET or JWT_PRIVATE_KEY signs the
 * tokens); DEMO_HOST and DEMO_ENT_PORT / DEMO_SAML_PORT / DEMO_CAS_PORT / DEMO_OIDC_PORT place the
 * sites; DEMO_IDP_SHA256=1 and DEMO_IDP_AUDIENCE_ACS=1 switch the ENT IdP's quirks; DEMO_RESOURCE_SERVICE=v1
 * makes the media centre read /v1/establishments/{uai}/people/{id}/resources instead of GAR's /ws/ressources.
 */
const env = process.env;
const settings = loadSettings(env);
const base = (env.DEMO_BROKER_URL ?? env.DEMO_URL ?? settings.brokerBaseUrl).replace(/\/$/, '');
// Before the broker starts: in embedded mode this writes the development secrets it will read.
const sign = devSigner(settings);
const port = (name: string) => (env[name] ? Number(env[name]) : undefined);

async function up(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

let broker: ChildProcess | undefined;
if (!(await up(base))) {
  if (env.DEMO_BROKER_URL) throw new Error(`no broker answers at ${base}/health`);
  mkdirSync(settings.dataDir, { recursive: true });
  const logFile = join(settings.dataDir, 'demo-broker.log');
  const out = openSync(logFile, 'a');
  console.log(`starting a broker at ${base} (${settings.databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}; log in ${logFile})`);
  broker = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...env, BROKER_BASE_URL: base, MIGRATE_ON_START: env.MIGRATE_ON_START ?? 'true' },
    stdio: ['ignore', out, out],
  });
  broker.on('exit', (code) => {
    if (code !== null && code !== 0) console.error(`the broker stopped (exit ${code}); see ${logFile}`);
  });
  const until = Date.now() + 60_000;
  while (!(await up(base))) {
    if (Date.now() > until || broker.exitCode !== null) throw new Error(`the broker did not start; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

console.log(`building the demo world on ${base}`);
const switches = { ...(env.DEMO_IDP_SHA256 ? { sha1: false } : {}), ...(env.DEMO_IDP_AUDIENCE_ACS ? { audienceIsAcs: true } : {}) };
const kit = await startKit({
  brokerUrl: base,
  sign,
  ...(env.DEMO_HOST ? { host: env.DEMO_HOST } : {}),
  ports: { ent: port('DEMO_ENT_PORT') ?? 7100, saml: port('DEMO_SAML_PORT') ?? 7101, cas: port('DEMO_CAS_PORT') ?? 7102, oidc: port('DEMO_OIDC_PORT') ?? 7103 },
  switches,
  ...(env.DEMO_RESOURCE_SERVICE === 'v1' ? { resourceService: 'v1' as const } : {}),
  log: (line) => console.log(line),
}).catch((err) => {
  broker?.kill('SIGTERM');
  throw err;
});

console.log(`
Ready. Open the test ENT and log in as a pupil or a teacher:

  ${kit.urls.ent}/

(publishers: SAML ${kit.urls.saml}/, CAS ${kit.urls.cas}/, OpenID Connect ${kit.urls.oidc}/; Ctrl-C stops)`);

const stop = async () => {
  await kit.close();
  broker?.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
