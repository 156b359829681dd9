import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { loadSigningKeys, type SigningKeys } from './keys.js';
import { idpMetadata, signedIdpMetadata } from './metadata.js';
import { buildSamlResponse, type BuiltResponse, type ResponseInput } from './response.js';

export interface MetadataDocument {
  xml: string;
  etag: string;
}

export interface IdentityProvider {
  entityId: string;
  keys: SigningKeys;
  /** The metadata of the day: rebuilt when validUntil moves on (once a day), else the same bytes and ETag. */
  metadata: (now: Date) => MetadataDocument;
  signedMetadata: (now: Date) => MetadataDocument;
  issue: (input: Omit<ResponseInput, 'idpEntityId' | 'lifetimeSeconds'>) => BuiltResponse;
}

const DAY = 86_400_000;
// SPs refetch well within the validity: a week of validUntil, a day of cacheDuration.
const VALID_DAYS = 7;
const CACHE_DURATION = 'PT24H';

const etagOf = (xml: string) => `"${createHash('sha256').update(xml).digest('base64url').slice(0, 27)}"`;

/** The broker as SAML IdP. Keys are parsed here once, never per request. */
export function createIdentityProvider(config: Config): IdentityProvider {
  const keys = loadSigningKeys(config.samlSigningKey, config.samlSigningCert, config.samlNextSigningCert);
  const entityId = `${config.brokerBaseUrl}/saml/metadata`;
  const cache = new Map<string, MetadataDocument>();
  const build = (now: Date, signed: boolean): MetadataDocument => {
    const day = Math.floor(now.getTime() / DAY);
    const key = `${signed}:${day}`;
    let doc = cache.get(key);
    if (!doc) {
      // Never valid beyond the signing certificate: an SP must not trust a key after it lapses.
      const validUntil = new Date(Math.min((day + VALID_DAYS) * DAY, keys.notAfter.getTime()));
      const input = { entityId, baseUrl: config.brokerBaseUrl, keys, validUntil, cacheDuration: CACHE_DURATION };
      const xml = signed ? signedIdpMetadata({ ...input, id: `_${randomBytes(20).toString('hex')}` }) : idpMetadata(input);
      doc = { xml, etag: etagOf(xml) };
      cache.clear();
      cache.set(key, doc);
    }
    return doc;
  };
  return {
    entityId,
    keys,
    metadata: (now) => build(now, false),
    signedMetadata: (now) => build(now, true),
    issue: (input) => buildSamlResponse({ ...input, idpEntityId: entityId, lifetimeSeconds: config.samlAssertionLifetimeSeconds }, keys),
  };
}
