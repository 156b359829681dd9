import { DOMParser } from '@xmldom/xmldom';
import samlify from 'samlify';

/** The parts of a service provider's metadata the broker needs. */
export interface ParsedSpMetadata {
  entityId: string;
  /** The HTTP-POST AssertionConsumerService (the default one, else the lowest index), if any. */
  acsUrl?: string;
  /** Base64 DER bodies as found in the KeyDescriptors, per use. */
  signingCertificates: string[];
  encryptionCertificates: string[];
  /** RequestedAttribute elements of the AttributeConsumingService(s). */
  requestedAttributes: Array<{ name: string; friendlyName?: string }>;
  /** What the SP-initiated door needs beyond the one ACS. */
  profile: SpProfile;
}

/** An SP's declared protocol surface, stored with the resource (resources.sp_profile). */
export interface SpProfile {
  /** Every AssertionConsumerService, in document order. */
  acs: Array<{ binding: string; location: string; index: number | null; isDefault: boolean }>;
  singleLogout: Array<{ binding: string; location: string; responseLocation?: string }>;
  nameIdFormats: string[];
  authnRequestsSigned: boolean;
  /** EncryptionMethod Algorithms of the encryption KeyDescriptor(s), in the SP's order of preference. */
  encryptionMethods: string[];
}

/** Metadata that cannot be accepted; the message is safe to show to the caller. */
export class SpMetadataError extends Error {
  override name = 'SpMetadataError';
}

export const SP_METADATA_MAX_BYTES = 256 * 1024;
const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

const strictParser = () =>
  new DOMParser({
    // xmldom only warns on some malformed input (an unclosed element); metadata we store must be well-formed.
    errorHandler: {
      warning: (m: string) => {
        throw new SpMetadataError(clean(m));
      },
      error: (m: string) => {
        throw new SpMetadataError(clean(m));
      },
      fatalError: (m: string) => {
        throw new SpMetadataError(clean(m));
      },
    },
  });

const clean = (m: string) => m.replace(/\[xmldom [a-zA-Z]+\]\s*/g, '').replace(/@#\[line.*$/s, '').split('\n')[0]!.trim();

const asList = <T>(v: T | T[] | null | undefined): T[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Checks and reads SP metadata. The text is refused before parsing when it is too large or carries a
 * DTD: a document type declaration is the door to entity expansion ("billion laughs") and external
 * entities, and SAML metadata never needs one (saml-sec-consider 6.3.1).
 */
export function parseSpMetadata(xml: string): ParsedSpMetadata {
  if (Buffer.byteLength(xml, 'utf8') > SP_METADATA_MAX_BYTES) {
    throw new SpMetadataError(`metadata XML is larger than ${SP_METADATA_MAX_BYTES / 1024} KiB`);
  }
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new SpMetadataError('metadata XML must not contain a DOCTYPE or ENTITY declaration');
  }
  let root: Element | null | undefined;
  try {
    root = strictParser().parseFromString(xml, 'text/xml').documentElement;
  } catch (err) {
    const why = err instanceof SpMetadataError ? err.message : 'unreadable';
    throw new SpMetadataError(`metadata XML is not well-formed: ${why}`);
  }
  if (!root) throw new SpMetadataError('metadata XML is not well-formed: no root element');
  if (root.localName !== 'EntityDescriptor' || root.namespaceURI !== MD_NS) {
    throw new SpMetadataError(`the root element must be an md:EntityDescriptor (namespace ${MD_NS}), not ${root.tagName}`);
  }

  let meta: ReturnType<typeof samlify.SPMetadata>;
  try {
    meta = samlify.SPMetadata(xml);
  } catch (err) {
    throw new SpMetadataError(`metadata XML could not be read: ${clean((err as Error).message)}`);
  }
  const entityId = meta.getEntityID() as unknown;
  if (typeof entityId !== 'string' || entityId.trim() === '') throw new SpMetadataError('the EntityDescriptor has no entityID');
  if (root.getElementsByTagNameNS(MD_NS, 'SPSSODescriptor').length === 0) {
    throw new SpMetadataError('the EntityDescriptor has no SPSSODescriptor');
  }

  type Acs = { binding?: string; location?: string; isDefault?: string; index?: string };
  type Requested = { name?: string; friendlyName?: string };
  const found = samlify.Extractor.extract(xml, [
    {
      key: 'acs',
      localPath: ['EntityDescriptor', 'SPSSODescriptor', 'AssertionConsumerService'],
      attributes: ['Binding', 'Location', 'isDefault', 'index'],
    },
    {
      key: 'requested',
      localPath: ['EntityDescriptor', 'SPSSODescriptor', 'AttributeConsumingService', 'RequestedAttribute'],
      attributes: ['Name', 'FriendlyName'],
    },
  ]) as { acs?: Acs | Acs[]; requested?: Requested | Requested[] };

  const posts = asList(found.acs).filter((a) => a.binding === HTTP_POST && typeof a.location === 'string');
  const rank = (a: Acs) => (a.isDefault === 'true' ? -1 : Number(a.index ?? 0));
  posts.sort((a, b) => rank(a) - rank(b));

  const certs = (use: 'signing' | 'encryption') =>
    asList(meta.getX509Certificate(use) as string | string[] | null).filter((c): c is string => typeof c === 'string' && c.trim() !== '');

  return {
    profile: spProfile(root),
    entityId: entityId.trim(),
    ...(posts[0]?.location ? { acsUrl: posts[0].location.trim() } : {}),
    signingCertificates: certs('signing'),
    // Read from the document, not samlify: it answers the signing certificate when no KeyDescriptor
    // is for encryption, which made the broker encrypt for SPs that never asked.
    encryptionCertificates: encryptionCertificates(root),
    requestedAttributes: asList(found.requested)
      .filter((r) => typeof r.name === 'string' && r.name !== '')
      .map((r) => ({ name: r.name!, ...(r.friendlyName ? { friendlyName: r.friendlyName } : {}) })),
  };
}

const children = (parent: Element, localName: string): Element[] => {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === localName && (n as Element).namespaceURI === MD_NS) out.push(n as Element);
  }
  return out;
};

function spProfile(root: Element): SpProfile {
  const sso = children(root, 'SPSSODescriptor')[0]!;
  const attr = (e: Element, name: string) => (e.getAttribute(name) ?? '').trim();
  const encryptionMethods: string[] = [];
  for (const kd of children(sso, 'KeyDescriptor')) {
    // A KeyDescriptor without "use" serves both signing and encryption (metadata 2.4.1.1).
    if (attr(kd, 'use') === 'signing') continue;
    for (const em of children(kd, 'EncryptionMethod')) if (attr(em, 'Algorithm')) encryptionMethods.push(attr(em, 'Algorithm'));
  }
  return {
    acs: children(sso, 'AssertionConsumerService')
      .filter((e) => attr(e, 'Location') !== '')
      .map((e) => {
        const index = Number.parseInt(attr(e, 'index'), 10);
        return { binding: attr(e, 'Binding'), location: attr(e, 'Location'), index: Number.isInteger(index) ? index : null, isDefault: attr(e, 'isDefault') === 'true' };
      }),
    singleLogout: children(sso, 'SingleLogoutService')
      .filter((e) => attr(e, 'Location') !== '')
      .map((e) => ({ binding: attr(e, 'Binding'), location: attr(e, 'Location'), ...(attr(e, 'ResponseLocation') ? { responseLocation: attr(e, 'ResponseLocation') } : {}) })),
    nameIdFormats: children(sso, 'NameIDFormat').map((e) => (e.textContent ?? '').trim()).filter((f) => f !== ''),
    authnRequestsSigned: attr(sso, 'AuthnRequestsSigned') === 'true' || attr(sso, 'AuthnRequestsSigned') === '1',
    encryptionMethods,
  };
}

/** Certificates of the KeyDescriptors for encryption (use="encryption", or no use: both uses). */
function encryptionCertificates(root: Element): string[] {
  const sso = children(root, 'SPSSODescriptor')[0];
  if (!sso) return [];
  const out: string[] = [];
  for (const kd of children(sso, 'KeyDescriptor')) {
    if ((kd.getAttribute('use') ?? '') === 'signing') continue;
    const certs = kd.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate');
    for (let i = 0; i < certs.length; i++) {
      const body = (certs[i]!.textContent ?? '').replace(/\s+/g, '');
      if (body) out.push(body);
    }
  }
  return out;
}
