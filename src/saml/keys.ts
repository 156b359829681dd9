import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export interface SigningKeys {
  /** Parsed once: signing with a KeyObject is about three times faster than with a PEM string. */
  key: KeyObject;
  /** Base64 DER of the current certificate, as it goes into ds:X509Certificate. */
  certificate: string;
  /** Short SHA-256 fingerprint of the current certificate, recorded in the access log. */
  keyId: string;
  /** The next certificate, published in metadata ahead of a rollover. */
  nextCertificate?: string;
  notAfter: Date;
}

export const pemBody = (pem: string): string =>
  pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

export function loadSigningKeys(keyPem: string, certPem: string, nextCertPem?: string): SigningKeys {
  const key = createPrivateKey(keyPem);
  const cert = new X509Certificate(certPem);
  if (!cert.checkPrivateKey(key)) throw new Error('SAML_SIGNING_KEY does not match SAML_SIGNING_CERT');
  return {
    key,
    certificate: pemBody(certPem),
    keyId: createHash('sha256').update(cert.raw).digest('hex').slice(0, 16),
    ...(nextCertPem ? { nextCertificate: pemBody(nextCertPem) } : {}),
    notAfter: new Date(cert.validTo),
  };
}
