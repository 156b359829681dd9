import type { SigningKeys } from './keys.js';
import { NS, xmlAttr } from './xml.js';

export interface IdpMetadataInput {
  entityId: string;
  ssoUrl: string;
  keys: SigningKeys;
  /** Published validity: SPs refresh metadata before it lapses. */
  validUntil?: Date;
}

/**
 * The broker's IdP metadata: the current signing certificate and, during a rollover, the next one,
 * so publishers trust both before the switch (SAML metadata 2.4.1.1, multiple KeyDescriptors).
 */
export function idpMetadata(input: IdpMetadataInput): string {
  const keyDescriptor = (cert: string) =>
    `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const certs = [input.keys.certificate, ...(input.keys.nextCertificate ? [input.keys.nextCertificate] : [])];
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${NS.md}" entityID="${xmlAttr(input.entityId)}"` +
    (input.validUntil ? ` validUntil="${input.validUntil.toISOString()}"` : '') +
    `>` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.samlp}">` +
    certs.map(keyDescriptor).join('') +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${xmlAttr(input.ssoUrl)}"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>\n`
  );
}
