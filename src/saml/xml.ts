import { randomBytes } from 'node:crypto';
/*
 * Escaping that yields exclusive-c14n output directly (W3C xml-exc-c14n, section 2.3 of C14N 1.0):
 * a document written with these rules is its own canonical form, so digests are computed over the
 * strings we build instead of parsing them back. Characters XML 1.0 forbids are dropped first, as
 * no parser would accept them.
 */
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function xmlText(value: string): string {
  return value
    .replace(INVALID_XML_CHARS, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#xD;');
}

export function xmlAttr(value: string): string {
  return value
    .replace(INVALID_XML_CHARS, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#x9;')
    .replace(/\n/g, '&#xA;')
    .replace(/\r/g, '&#xD;');
}

// One draw from the CSPRNG serves about two hundred identifiers (as Node's randomUUID caches its
// entropy): the same randomness, each byte used once, without a call into OpenSSL per identifier.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/** 160 random bits, NCName-shaped (xs:ID, SAML core 1.3.4): unguessable and never reused. */
export function samlId(): string {
  if (used + 20 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  used += 20;
  return `_${pool.toString('hex', used - 20, used)}`;
}

/** SAML instants: UTC, second precision (SAML core 1.3.3). */
export const samlInstant = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;
