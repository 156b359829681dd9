import { checkedMetadataRoot, SpMetadataError } from './sp-metadata.js';
import { NS } from './xml.js';

/** What the broker needs of an ENT project's IdP metadata. */
export interface ParsedIdpMetadata {
  entityId: string;
  /** The HTTP-Redirect SingleSignOnService: the binding the broker sends its AuthnRequests with. */
  ssoUrl?: string;
  /** Base64 DER bodies of the signing KeyDescriptors (those with use="signing" or no use). */
  signingCertificates: string[];
  /** The HTTP-Redirect SingleLogoutService, where the broker answers a logout the ENT starts. */
  sloUrl?: string;
}

export const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

const children = (el: Element, ns: string, name: string): Element[] =>
  Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name);

/**
 * Reads IdP metadata with the same hardening as SP metadata (size, no DTD, well-formed, an
 * md:EntityDescriptor root). validUntil and cacheDuration are ignored on purpose: the broker keeps
 * the registered copy, and one ENT publishes a one-hour validUntil that nobody could keep refreshing.
 */
export function parseIdpMetadata(xml: string): ParsedIdpMetadata {
  const root = checkedMetadataRoot(xml);
  // One ENT writes a non-standard `entityId`; the standard attribute wins when both are present.
  const entityId = (root.getAttribute('entityID') || root.getAttribute('entityId') || '').trim();
  if (entityId === '') throw new SpMetadataError('the EntityDescriptor has no entityID');
  const idpDescriptors = children(root, NS.md, 'IDPSSODescriptor');
  if (idpDescriptors.length !== 1) throw new SpMetadataError('the EntityDescriptor must have exactly one IDPSSODescriptor');
  const idp = idpDescriptors[0]!;
  const signingCertificates: string[] = [];
  for (const kd of children(idp, NS.md, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(NS.ds, 'X509Certificate'))) {
      const body = (c.textContent ?? '').replace(/\s+/g, '');
      if (body !== '') signingCertificates.push(body);
    }
  }
  const redirect = children(idp, NS.md, 'SingleSignOnService').find((s) => s.getAttribute('Binding') === HTTP_REDIRECT);
  const ssoUrl = redirect?.getAttribute('Location')?.trim();
  const slo = children(idp, NS.md, 'SingleLogoutService').find((s) => s.getAttribute('Binding') === HTTP_REDIRECT);
  const sloUrl = (slo?.getAttribute('ResponseLocation') || slo?.getAttribute('Location'))?.trim();
  return { entityId, ...(ssoUrl ? { ssoUrl } : {}), signingCertificates, ...(sloUrl ? { sloUrl } : {}) };
}
