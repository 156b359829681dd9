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

/**
 * The root md:EntityDescriptor of metadata we are asked to store (SP or IdP). The text is refused
 * before parsing when it is too large or carries a DTD: a document type declaration is the door to
 * entity expansion ("billion laughs") and external entities, and SAML metadata never needs one
 * (saml-sec-consider 6.3.1).
 */
export function checkedMetadataRoot(xml: string): Element {
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
  return root;
}

const asList = <T>(v: T | T[] | null | undefined): T[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Checks and reads SP metadata (see checkedMetadataRoot for what is refused before parsing). */
export function parseSpMetadata(xml: string): ParsedSpMetadata {
  const root = checkedMetadataRoot(xml);

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
    entityId: entityId.trim(),
    ...(posts[0]?.location ? { acsUrl: posts[0].location.trim() } : {}),
    signingCertificates: certs('signing'),
    encryptionCertificates: certs('encryption'),
    requestedAttributes: asList(found.requested)
      .filter((r) => typeof r.name === 'string' && r.name !== '')
      .map((r) => ({ name: r.name!, ...(r.friendlyName ? { friendlyName: r.friendlyName } : {}) })),
  };
}
