import { createSelfSignedCertificate } from '../../src/saml/self-signed.js';

/** A fresh RSA key and self-signed certificate (the broker's own generator: Node cannot write X.509). */
export function newKeyPair(commonName: string): { keyPem: string; certPem: string } {
  const { keyPem, certPem } = createSelfSignedCertificate(commonName);
  return { keyPem, certPem };
}
