import type { SigningKeys } from './keys.js';
import { NAMEID_FORMAT, signElementAfter } from './response.js';
import { NS, xmlAttr } from './xml.js';

export interface IdpMetadataInput {
  entityId: string;
  /** The broker's base URL: every endpoint below is under it. */
  baseUrl: string;
  keys: SigningKeys;
  /** Published validity: SPs refresh metadata before it lapses. */
  validUntil?: Date;
  /** How long an SP may cache the document (xs:duration). */
  cacheDuration?: string;
}

const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

/** The SAML endpoints of the IdP door (src/doors/saml-idp), as paths under the base URL. */
export const IDP_PATHS = {
  ssoRedirect: '/idp/profile/SAML2/Redirect/SSO',
  ssoPost: '/idp/profile/SAML2/POST/SSO',
  sloRedirect: '/idp/profile/SAML2/Redirect/SLO',
  sloPost: '/idp/profile/SAML2/POST/SLO',
} as const;

/** NameID formats the broker can give: persistent (the IDO) and transient (one per session and SP). */
export const SUPPORTED_NAMEID_FORMATS = [NAMEID_FORMAT.persistent, NAMEID_FORMAT.transient] as const;

/**
 * The broker's IdP metadata, saying only what it serves: SP-initiated SSO on both bindings, single
 * logout, the NameID formats it gives, and the current signing certificate with, during a
 * rollover, the next one, so publishers trust both before the switch (metadata 2.4.1.1).
 * Elements in the schema's order (KeyDescriptor, SingleLogoutService, NameIDFormat, SingleSignOnService).
 */
export function idpMetadata(input: IdpMetadataInput): string {
  const keyDescriptor = (cert: string) =>
    `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const certs = [input.keys.certificate, ...(input.keys.nextCertificate ? [input.keys.nextCertificate] : [])];
  const at = (path: string) => xmlAttr(input.baseUrl + path);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    entityDescriptor(input, certs.map(keyDescriptor).join('') +
      `<md:SingleLogoutService Binding="${BINDING.redirect}" Location="${at(IDP_PATHS.sloRedirect)}"></md:SingleLogoutService>` +
      `<md:SingleLogoutService Binding="${BINDING.post}" Location="${at(IDP_PATHS.sloPost)}"></md:SingleLogoutService>` +
      SUPPORTED_NAMEID_FORMATS.map((f) => `<md:NameIDFormat>${f}</md:NameIDFormat>`).join('') +
      `<md:SingleSignOnService Binding="${BINDING.redirect}" Location="${at(IDP_PATHS.ssoRedirect)}"></md:SingleSignOnService>` +
      `<md:SingleSignOnService Binding="${BINDING.post}" Location="${at(IDP_PATHS.ssoPost)}"></md:SingleSignOnService>`) +
    '\n'
  );
}

function entityDescriptor(input: IdpMetadataInput, descriptorBody: string): string {
  return (
    `<md:EntityDescriptor xmlns:md="${NS.md}"` +
    (input.cacheDuration ? ` cacheDuration="${input.cacheDuration}"` : '') +
    ` entityID="${xmlAttr(input.entityId)}"` +
    (input.validUntil ? ` validUntil="${input.validUntil.toISOString().replace(/\.\d{3}Z$/, 'Z')}"` : '') +
    `>` +
    // WantAuthnRequestsSigned is per SP here (its metadata or the publisher's option), so not globally.
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.samlp}">` +
    descriptorBody +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/**
 * The same document with an enveloped signature, for federations and SPs that verify metadata
 * (metadata 3.1). Written in exclusive-c14n form like the Responses, so the digest is over the string.
 */
export function signedIdpMetadata(input: IdpMetadataInput & { id: string }): string {
  const unsigned = idpMetadata(input).replace(/^<\?xml[^>]*>\n/, '').trimEnd();
  // Exclusive c14n order: namespace declarations first, then attributes by name ("ID" sorts first).
  const withId = unsigned.replace(`<md:EntityDescriptor xmlns:md="${NS.md}"`, `<md:EntityDescriptor xmlns:md="${NS.md}" ID="${input.id}"`);
  // The signature goes first inside EntityDescriptor (before the role descriptor), as the schema wants.
  return `<?xml version="1.0" encoding="UTF-8"?>\n${signElementAfter(withId, input.id, input.keys, withId.indexOf('>') + 1)}\n`;
}
