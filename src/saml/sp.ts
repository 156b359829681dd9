import { createHash, randomBytes, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { SigningKeys } from './keys.js';
import { NS, samlInstant, xmlAttr, xmlText } from './xml.js';

export const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/** The broker as SAML SP of the ENT projects' IdPs. */
export interface ServiceProvider {
  /** The metadata URL, as GAR's SPs use theirs (front-doors.md): ENTs can fetch what they trust. */
  entityId: string;
  acsUrl: string;
  /** Where the ENT's IdP sends the LogoutRequest of a logout started at the ENT. */
  sloUrl: string;
  keys: SigningKeys;
  metadataXml: string;
  metadataEtag: string;
  /** A signed AuthnRequest for the HTTP-Redirect binding: the URL to send the browser to and the request's ID. */
  authnRequest: (idp: { ssoUrl: string }, relayState: string, now: Date) => { location: string; requestId: string };
}

export function createServiceProvider(baseUrl: string, keys: SigningKeys): ServiceProvider {
  const entityId = `${baseUrl}/saml/sp/metadata`;
  const acsUrl = `${baseUrl}/saml/sp/acs`;
  const sloUrl = `${baseUrl}/saml/sp/slo`;
  const keyDescriptor = (use: string, cert: string) =>
    `<md:KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="${NS.ds}"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const certs = [keys.certificate, ...(keys.nextCertificate ? [keys.nextCertificate] : [])];
  const metadataXml =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${NS.md}" entityID="${xmlAttr(entityId)}">` +
    // We sign every AuthnRequest and want the IdP to sign its assertions (what ENT IdPs do anyway).
    `<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="${NS.samlp}">` +
    certs.map((c) => keyDescriptor('signing', c)).join('') +
    keyDescriptor('encryption', keys.certificate) +
    `<md:SingleLogoutService Binding="${HTTP_REDIRECT}" Location="${xmlAttr(sloUrl)}"/>` +
    `<md:SingleLogoutService Binding="${HTTP_POST}" Location="${xmlAttr(sloUrl)}"/>` +
    `<md:NameIDFormat>${TRANSIENT}</md:NameIDFormat>` +
    `<md:AssertionConsumerService Binding="${HTTP_POST}" Location="${xmlAttr(acsUrl)}" index="0" isDefault="true"/>` +
    `</md:SPSSODescriptor></md:EntityDescriptor>\n`;

  return {
    entityId,
    acsUrl,
    sloUrl,
    keys,
    metadataXml,
    metadataEtag: `"${createHash('sha256').update(metadataXml).digest('base64url').slice(0, 27)}"`,
    authnRequest(idp, relayState, now) {
      // 160 random bits: the InResponseTo we later require cannot be guessed (SAML core 1.3.4).
      const requestId = `_${randomBytes(20).toString('hex')}`;
      // No ForceAuthn and no IsPassive: a person already logged in to the ENT is answered at once,
      // one who is not gets the ENT's login page. AssertionConsumerServiceURL is given because one ENT
      // IdP takes the ACS from the request only.
      const xml =
        `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${requestId}" Version="2.0" ` +
        `IssueInstant="${samlInstant(now)}" Destination="${xmlAttr(idp.ssoUrl)}" ` +
        `AssertionConsumerServiceURL="${xmlAttr(acsUrl)}" ProtocolBinding="${HTTP_POST}">` +
        `<saml:Issuer>${xmlText(entityId)}</saml:Issuer>` +
        `<samlp:NameIDPolicy Format="${TRANSIENT}" AllowCreate="true"/>` +
        `</samlp:AuthnRequest>`;
      const encoded = deflateRawSync(Buffer.from(xml)).toString('base64');
      // HTTP-Redirect binding signature (saml-bindings 3.4.4.1): over the exact query string octets, RSA-SHA256.
      const query =
        `SAMLRequest=${encodeURIComponent(encoded)}&RelayState=${encodeURIComponent(relayState)}&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
      const signature = sign('sha256', Buffer.from(query), keys.key).toString('base64');
      const sep = idp.ssoUrl.includes('?') ? '&' : '?';
      return { location: `${idp.ssoUrl}${sep}${query}&Signature=${encodeURIComponent(signature)}`, requestId };
    },
  };
}
