import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSelfSignedCertificate, type SelfSigned } from '../src/saml/self-signed.js';

/*
 * Self-signed certificates for the tests, on RSA keys kept between runs (one per name, under
 * node_modules/.cache like the embedded image): generating a 2048-bit key costs 0.1 to 1 s of CPU,
 * and the suite asked for hundreds. Different names get different keys, so a test that needs an
 * attacker's or a next key names it; the certificate itself (serial, validity) is new each call.
 */

const dir = fileURLToPath(new URL('../node_modules/.cache/gar-broker/test-keys/', import.meta.url));
const keys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();

function keysFor(name: string): { privateKey: KeyObject; publicKey: KeyObject } {
  let pair = keys.get(name);
  if (pair) return pair;
  const file = join(dir, `${createHash('sha256').update(name).digest('hex').slice(0, 24)}.pem`);
  if (existsSync(file)) {
    const privateKey = createPrivateKey(readFileSync(file, 'utf8'));
    pair = { privateKey, publicKey: createPublicKey(privateKey) };
  } else {
    pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    try {
      mkdirSync(dir, { recursive: true });
      // Test files run in parallel: each writes its own file, the rename keeps one whole.
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      renameSync(partial, file);
    } catch {
      // a read-only tree only costs the next run the same generation
    }
  }
  keys.set(name, pair);
  return pair;
}

export function testCertificate(commonName: string, validDays?: number, notBefore?: Date): SelfSigned {
  return createSelfSignedCertificate(commonName, validDays, notBefore, keysFor(commonName));
}
