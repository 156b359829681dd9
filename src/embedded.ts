import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toConfig, type Config, type Settings } from './config.js';
import { createSelfSignedCertificate } from './saml/self-signed.js';

interface GeneratedSecrets {
  jwtSecret: string;
  idoSecret: string;
  samlSigningKey: string;
  samlSigningCert: string;
}

/**
 * Embedded mode only (no DATABASE_URL): fills missing secrets with development ones generated on
 * first start and kept in DATA_DIR, so a restart keeps the same tokens, IDOs and SAML key.
 * Returns the config and the names of what was generated, for a loud warning in the log.
 */
export function withEmbeddedSecrets(settings: Settings): { config: Config; generated: string[]; file: string } {
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const file = join(settings.dataDir, 'dev-secrets.json');
  let stored: GeneratedSecrets;
  if (existsSync(file)) {
    stored = JSON.parse(readFileSync(file, 'utf8')) as GeneratedSecrets;
  } else {
    const { keyPem, certPem } = createSelfSignedCertificate('gar-broker development IdP (embedded mode)');
    stored = {
      jwtSecret: randomBytes(32).toString('hex'),
      idoSecret: randomBytes(64).toString('hex'),
      samlSigningKey: keyPem,
      samlSigningCert: certPem,
    };
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  const generated: string[] = [];
  const pick = <K extends keyof GeneratedSecrets>(key: K, name: string): string => {
    const own = settings[key];
    if (own) return own;
    generated.push(name);
    return stored[key];
  };
  const hasJwtKey = Boolean(settings.jwtSecret || settings.jwtPublicKey);
  const samlOwn = Boolean(settings.samlSigningKey);
  const config = toConfig({
    ...settings,
    jwtSecret: hasJwtKey ? settings.jwtSecret : pick('jwtSecret', 'JWT_SECRET'),
    idoSecret: pick('idoSecret', 'IDO_SECRET'),
    // Key and certificate are one pair: never mix a configured key with a generated certificate.
    samlSigningKey: samlOwn ? settings.samlSigningKey : pick('samlSigningKey', 'SAML_SIGNING_KEY'),
    samlSigningCert: samlOwn ? settings.samlSigningCert : pick('samlSigningCert', 'SAML_SIGNING_CERT'),
  });
  return { config, generated, file };
}
