import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { loadSigningKeys, type SigningKeys } from './keys.js';
import { idpMetadata } from './metadata.js';
import { buildSamlResponse, type BuiltResponse, type ResponseInput } from './response.js';

export interface IdentityProvider {
  entityId: string;
  keys: SigningKeys;
  /** Built once: metadata changes only with the configuration. */
  metadataXml: string;
  metadataEtag: string;
  issue: (input: Omit<ResponseInput, 'idpEntityId' | 'lifetimeSeconds'>) => BuiltResponse;
}

/** The broker as SAML IdP. Keys are parsed here once, never per request. */
export function createIdentityProvider(config: Config): IdentityProvider {
  const keys = loadSigningKeys(config.samlSigningKey, config.samlSigningCert, config.samlNextSigningCert);
  const entityId = `${config.brokerBaseUrl}/saml/metadata`;
  const metadataXml = idpMetadata({ entityId, ssoUrl: `${config.brokerBaseUrl}/v1/sso`, keys });
  return {
    entityId,
    keys,
    metadataXml,
    metadataEtag: `"${createHash('sha256').update(metadataXml).digest('base64url').slice(0, 27)}"`,
    issue: (input) => buildSamlResponse({ ...input, idpEntityId: entityId, lifetimeSeconds: config.samlAssertionLifetimeSeconds }, keys),
  };
}
