import type { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';

/** The parts of a service provider's metadata the broker needs. */
export interface ParsedSpMetadata {
  entityId: string;
  /** The HTTP-POST AssertionConsumerService (the default one, else the lowest index), if any. */
  acsUrl?: string;
  /** Base64 DER bodies as found in the KeyDescriptors, per use. */
  signingCertificates: string[];
  encryptionCertificates: string[];
  /** Those of a KeyDescriptor without `use`: in both lists above. */
  unspecifiedUseCertificates: string[];
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

const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
/** Deeper than any real metadata (a signed EntityDescriptor with UI extensions is about 8 levels). */
export const SP_METADATA_MAX_DEPTH = 32;
/** More elements than a large SP (dozens of ACS and keys, hundreds of requested attributes) has. */
export const SP_METADATA_MAX_ELEMENTS = 5_000;

/** The element children of `parent` in the SAML metadata namespace with this local name. */
function mdChildren(parent: Element, localName: string): Element[] {
  const found: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === MD_NS && (n as Element).localName === localName) found.push(n as Element);
  }
  return found;
}

function dsChildren(parent: Element, localName: string): Element[] {
  const found: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === DS_NS && (n as Element).localName === localName) found.push(n as Element);
  }
  return found;
}

/** KeyDescriptor > ds:KeyInfo > ds:X509Data > ds:X509Certificate, base64 bodies. */
function x509Certificates(keyDescriptor: Element): string[] {
  return dsChildren(keyDescriptor, 'KeyInfo')
    .flatMap((k) => dsChildren(k, 'X509Data'))
    .flatMap((d) => dsChildren(d, 'X509Certificate'))
    .map((c) => (c.textContent ?? '').replace(/\s+/g, ''))
    .filter((c) => c !== '');
}

/**
 * Element depth and count, from the text, before any parser sees it: a DOM parser and the
 * walks after it spend time and stack on every level, and 30,000 nested elements fit in 256 KiB.
 * One linear pass over the characters; comments, CDATA and processing instructions are skipped,
 * quoted attribute values may hold '>' and '/'.
 */
export function xmlShapeProblem(xml: string, maxDepth = SP_METADATA_MAX_DEPTH, maxElements = SP_METADATA_MAX_ELEMENTS): string | undefined {
  let depth = 0;
  let elements = 0;
  let i = xml.indexOf('<');
  while (i !== -1 && i < xml.length) {
    if (xml.startsWith('<!--', i)) i = skipPast(xml, '-->', i + 4);
    else if (xml.startsWith('<![CDATA[', i)) i = skipPast(xml, ']]>', i + 9);
    else if (xml.startsWith('<?', i)) i = skipPast(xml, '?>', i + 2);
    else if (xml.startsWith('</', i)) {
      depth--;
      i = skipPast(xml, '>', i + 2);
    } else if (xml.startsWith('<!', i)) i = skipPast(xml, '>', i + 2);
    else {
      let j = i + 1;
      let quote = '';
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (++elements > maxElements) return `metadata XML has more than ${maxElements} elements`;
      if (xml[j - 1] !== '/' && ++depth > maxDepth) return `metadata XML nests elements deeper than ${maxDepth} levels`;
      i = j + 1;
    }
    if (i === -1) break;
    i = xml.indexOf('<', i);
  }
  return undefined;
}

function skipPast(text: string, end: string, from: number): number {
  const at = text.indexOf(end, from);
  return at === -1 ? -1 : at + end.length;
}

/**
 * Checks and reads SP metadata. The text is refused before parsing when it is too large, too deep,
 * has too many elements or carries a DTD: a document type declaration is the door to entity expansion ("billion laughs") and external
 * entities, and SAML metadata never needs one (saml-sec-consider 6.3.1).
 */
export function checkedMetadataRoot(xml: string): Element {
  if (Buffer.byteLength(xml, 'utf8') > SP_METADATA_MAX_BYTES) {
    throw new SpMetadataError(`metadata XML is larger than ${SP_METADATA_MAX_BYTES / 1024} KiB`);
  }
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new SpMetadataError('metadata XML must not contain a DOCTYPE or ENTITY declaration');
  }
  const shape = xmlShapeProblem(xml);
  if (shape) throw new SpMetadataError(shape);
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
  return root;
}

/** Checks and reads SP metadata (see checkedMetadataRoot for what is refused before parsing). */
export function parseSpMetadata(xml: string): ParsedSpMetadata {
  const root = checkedMetadataRoot(xml);

  // Read by hand, by namespace and place: only md: elements directly inside the SPSSODescriptor
  // count, so a foreign element with the same local name (or one nested in md:Extensions) is never
  // taken for an ACS or a key, and each KeyDescriptor keeps the use it declares.
  const entityId = root.getAttribute('entityID') ?? '';
  if (entityId.trim() === '') throw new SpMetadataError('the EntityDescriptor has no entityID');
  const spsso = mdChildren(root, 'SPSSODescriptor')[0];
  if (!spsso) throw new SpMetadataError('the EntityDescriptor has no SPSSODescriptor');

  type Acs = { binding: string; location: string; isDefault: string; index: string };
  const acs: Acs[] = mdChildren(spsso, 'AssertionConsumerService').map((e) => ({
    binding: e.getAttribute('Binding') ?? '',
    location: e.getAttribute('Location') ?? '',
    isDefault: e.getAttribute('isDefault') ?? '',
    index: e.getAttribute('index') ?? '0',
  }));
  const posts = acs.filter((a) => a.binding === HTTP_POST && a.location.trim() !== '');
  const rank = (a: Acs) => (a.isDefault === 'true' ? -1 : Number(a.index) || 0);
  posts.sort((a, b) => rank(a) - rank(b));

  // saml-metadata 2.4.1.1: a KeyDescriptor without `use` serves both; "signing" only signs.
  const signingCertificates: string[] = [];
  const encryptionCertificates: string[] = [];
  const unspecifiedUseCertificates: string[] = [];
  for (const kd of mdChildren(spsso, 'KeyDescriptor')) {
    const use = kd.getAttribute('use') ?? '';
    if (use !== '' && use !== 'signing' && use !== 'encryption') {
      throw new SpMetadataError(`a KeyDescriptor has use="${use}"; only "signing", "encryption" or no use are defined`);
    }
    const certs = x509Certificates(kd);
    if (use !== 'encryption') signingCertificates.push(...certs);
    if (use !== 'signing') encryptionCertificates.push(...certs);
    if (use === '') unspecifiedUseCertificates.push(...certs);
  }

  const requestedAttributes = mdChildren(spsso, 'AttributeConsumingService')
    .flatMap((s) => mdChildren(s, 'RequestedAttribute'))
    .map((r) => ({ name: r.getAttribute('Name') ?? '', friendlyName: r.getAttribute('FriendlyName') ?? '' }))
    .filter((r) => r.name !== '')
    .map((r) => ({ name: r.name, ...(r.friendlyName ? { friendlyName: r.friendlyName } : {}) }));

  return {
    profile: spProfile(root),
    entityId: entityId.trim(),
    ...(posts[0] ? { acsUrl: posts[0].location.trim() } : {}),
    signingCertificates,
    encryptionCertificates,
    unspecifiedUseCertificates,
    requestedAttributes,
  };
}

/** "RSA 2048", "EC prime256v1": what a certificate's public key is, for people reading it. */
export function describePublicKey(cert: X509Certificate): string {
  const key = cert.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  const type = (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  if (d.modulusLength) return `${type} ${d.modulusLength}`;
  if (d.namedCurve) return `${type} ${d.namedCurve}`;
  return type;
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
