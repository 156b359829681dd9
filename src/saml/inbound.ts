import { createPublicKey, createVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { NS } from './xml.js';

/*
 * Messages that service providers send the broker (AuthnRequest, LogoutRequest, LogoutResponse):
 * decoding for both bindings, a hardened parse, and signature checks against the SP's registered
 * certificate only (never a certificate the message carries).
 */

/** A message that cannot be accepted; the text is safe to show to the person and the SP. */
export class SamlMessageError extends Error {
  override name = 'SamlMessageError';
}

// An AuthnRequest or LogoutRequest is well under 8 KiB; 64 KiB leaves room for Extensions and a
// signature with a certificate chain while keeping inflate and parse cheap for a public endpoint.
export const MESSAGE_MAX_BYTES = 64 * 1024;
// SAML protocol messages nest about six deep; 32 stops recursion-depth attacks on the DOM walk.
const MAX_DEPTH = 32;

/** HTTP-Redirect: base64 of raw DEFLATE (bindings 3.4.4.1); inflation capped against zip bombs. */
export function decodeRedirect(value: string): string {
  const raw = Buffer.from(value, 'base64');
  if (raw.length === 0) throw new SamlMessageError('the SAML message is empty or not base64');
  try {
    return inflateRawSync(raw, { maxOutputLength: MESSAGE_MAX_BYTES }).toString('utf8');
  } catch (err) {
    const tooBig = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /larger than|maxOutputLength/i.test(String(err));
    throw new SamlMessageError(tooBig ? `the SAML message inflates to more than ${MESSAGE_MAX_BYTES / 1024} KiB` : 'the SAML message is not DEFLATE-encoded');
  }
}

/** HTTP-POST: plain base64 (bindings 3.5.4). */
export function decodePost(value: string): string {
  if (value.length > (MESSAGE_MAX_BYTES * 4) / 3 + 4) throw new SamlMessageError(`the SAML message is larger than ${MESSAGE_MAX_BYTES / 1024} KiB`);
  const xml = Buffer.from(value, 'base64').toString('utf8');
  if (xml.trim() === '') throw new SamlMessageError('the SAML message is empty or not base64');
  return xml;
}

/**
 * Well-formed, no DTD (no entity expansion, no external entities: saml-sec-consider 6.3.1), at most
 * MAX_DEPTH deep. The DTD is refused on the text before parsing; xmldom's parser keeps its own stack
 * (no recursion), and the depth is measured on the tree without recursion either.
 */
export function parseMessage(xml: string): Element {
  if (Buffer.byteLength(xml, 'utf8') > MESSAGE_MAX_BYTES) throw new SamlMessageError(`the SAML message is larger than ${MESSAGE_MAX_BYTES / 1024} KiB`);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new SamlMessageError('the SAML message must not contain a DOCTYPE');
  const fail = (m: string) => {
    throw new SamlMessageError(`the SAML message is not well-formed XML (${m.replace(/\[xmldom [a-zA-Z]+\]\s*/g, '').split('\n')[0]})`);
  };
  const doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  const root = doc.documentElement as unknown as Element | null;
  if (!root) throw new SamlMessageError('the SAML message has no root element');
  const stack: Array<[Node, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) throw new SamlMessageError(`the SAML message nests deeper than ${MAX_DEPTH} elements`);
    for (let n = node.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) stack.push([n, depth + 1]);
  }
  return root;
}

export const child = (parent: Element, ns: string, localName: string): Element | undefined => {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === localName && (n as Element).namespaceURI === ns) return n as Element;
  }
  return undefined;
};
const text = (e: Element | undefined) => (e?.textContent ?? '').trim();
const optAttr = (e: Element, name: string) => (e.hasAttribute(name) ? e.getAttribute(name)!.trim() : undefined);
const bool = (v: string | undefined) => v === 'true' || v === '1';

export interface SignedMessage {
  id: string;
  issuer: string;
  destination?: string;
  /** An enveloped ds:Signature is present (checked by verifyPostSignature). */
  signed: boolean;
  root: Element;
  xml: string;
}

function common(root: Element, xml: string, expected: string): SignedMessage {
  if (root.namespaceURI !== NS.samlp || root.localName !== expected) {
    throw new SamlMessageError(`expected a samlp:${expected}, got ${root.localName ?? 'nothing'}`);
  }
  if (root.getAttribute('Version') !== '2.0') throw new SamlMessageError('only SAML 2.0 messages are accepted');
  const id = optAttr(root, 'ID');
  if (!id) throw new SamlMessageError(`the ${expected} has no ID`);
  const issuer = text(child(root, NS.saml, 'Issuer'));
  if (!issuer) throw new SamlMessageError(`the ${expected} has no Issuer`);
  const destination = optAttr(root, 'Destination');
  return { id, issuer, ...(destination ? { destination } : {}), signed: child(root, NS.ds, 'Signature') !== undefined, root, xml };
}

export interface AuthnRequest extends SignedMessage {
  acsUrl?: string;
  acsIndex?: number;
  protocolBinding?: string;
  nameIdFormat?: string;
  isPassive: boolean;
  forceAuthn: boolean;
}

export function readAuthnRequest(xml: string): AuthnRequest {
  const root = parseMessage(xml);
  const base = common(root, xml, 'AuthnRequest');
  const acsUrl = optAttr(root, 'AssertionConsumerServiceURL');
  const index = optAttr(root, 'AssertionConsumerServiceIndex');
  const acsIndex = index === undefined ? undefined : Number(index);
  if (acsIndex !== undefined && !(Number.isInteger(acsIndex) && acsIndex >= 0 && acsIndex <= 65535)) {
    throw new SamlMessageError('AssertionConsumerServiceIndex is not an unsigned short');
  }
  if (acsUrl !== undefined && acsIndex !== undefined) {
    // SAML core 3.4.1: the two are mutually exclusive.
    throw new SamlMessageError('AssertionConsumerServiceURL and AssertionConsumerServiceIndex are mutually exclusive');
  }
  const policy = child(root, NS.samlp, 'NameIDPolicy');
  const format = policy ? optAttr(policy, 'Format') : undefined;
  const binding = optAttr(root, 'ProtocolBinding');
  return {
    ...base,
    ...(acsUrl ? { acsUrl } : {}),
    ...(acsIndex !== undefined ? { acsIndex } : {}),
    ...(binding ? { protocolBinding: binding } : {}),
    ...(format ? { nameIdFormat: format } : {}),
    isPassive: bool(optAttr(root, 'IsPassive')),
    forceAuthn: bool(optAttr(root, 'ForceAuthn')),
  };
}

export interface LogoutRequest extends SignedMessage {
  nameId: string;
  sessionIndexes: string[];
}

export function readLogoutRequest(xml: string): LogoutRequest {
  const root = parseMessage(xml);
  const base = common(root, xml, 'LogoutRequest');
  const sessionIndexes: string[] = [];
  for (let n = root.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === 'SessionIndex' && (n as Element).namespaceURI === NS.samlp) sessionIndexes.push(text(n as Element));
  }
  return { ...base, nameId: text(child(root, NS.saml, 'NameID')), sessionIndexes };
}

export interface LogoutResponse extends SignedMessage {
  inResponseTo?: string;
  status: string;
}

export function readLogoutResponse(xml: string): LogoutResponse {
  const root = parseMessage(xml);
  const base = common(root, xml, 'LogoutResponse');
  const status = child(root, NS.samlp, 'Status');
  const code = status ? child(status, NS.samlp, 'StatusCode') : undefined;
  const inResponseTo = optAttr(root, 'InResponseTo');
  return { ...base, ...(inResponseTo ? { inResponseTo } : {}), status: code?.getAttribute('Value') ?? '' };
}

// --- signatures ---

const SIG_ALGS: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
  // RSA-SHA1 is still the default of deployed SP software (older Shibboleth SP, Lasso/mellon
  // configurations): refusing it would break logins GAR accepts. The certificate is the SP's own.
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'sha1',
};

const keyCache = new Map<string, KeyObject>();
function publicKeyOf(pem: string): KeyObject {
  let key = keyCache.get(pem);
  if (!key) {
    key = createPublicKey(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }));
    if (keyCache.size >= 10_000) keyCache.clear();
    keyCache.set(pem, key);
  }
  return key;
}

/**
 * HTTP-Redirect signature (bindings 3.4.4.1): over `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as
 * the octets arrived (still URL-encoded), so the raw query string is needed, not the parsed one.
 */
export function verifyRedirectSignature(rawQuery: string, param: 'SAMLRequest' | 'SAMLResponse', certificates: string[]): void {
  const parts = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!parts.has(name)) parts.set(name, at < 0 ? '' : pair.slice(at + 1));
  }
  const sigAlgRaw = parts.get('SigAlg');
  const signatureRaw = parts.get('Signature');
  if (sigAlgRaw === undefined || signatureRaw === undefined) throw new SamlMessageError('the request is not signed (no SigAlg and Signature)');
  const sigAlg = decodeURIComponent(sigAlgRaw.replace(/\+/g, ' '));
  const hash = SIG_ALGS[sigAlg];
  if (!hash) throw new SamlMessageError(`signature algorithm ${sigAlg} is not accepted`);
  const signed = [`${param}=${parts.get(param) ?? ''}`, ...(parts.has('RelayState') ? [`RelayState=${parts.get('RelayState')}`] : []), `SigAlg=${sigAlgRaw}`].join('&');
  const signature = Buffer.from(decodeURIComponent(signatureRaw.replace(/\+/g, ' ')), 'base64');
  for (const pem of certificates) {
    if (createVerify(hash).update(signed).verify(publicKeyOf(pem), signature)) return;
  }
  throw new SamlMessageError('the request signature does not verify with the SP’s registered certificate');
}

/**
 * HTTP-POST enveloped signature. Wrapping attacks are closed by shape: exactly one ds:Signature, a
 * child of the root, one Reference, and that Reference is the root's ID (unique in the document).
 */
export function verifyPostSignature(message: SignedMessage, certificates: string[]): void {
  const { root, xml, id } = message;
  const signature = child(root, NS.ds, 'Signature');
  if (!signature) throw new SamlMessageError('the message is not signed');
  const all = root.getElementsByTagNameNS(NS.ds, 'Signature');
  if (all.length !== 1) throw new SamlMessageError('the message carries more than one signature');
  const refs = signature.getElementsByTagNameNS(NS.ds, 'Reference');
  if (refs.length !== 1 || refs[0]!.getAttribute('URI') !== `#${id}`) throw new SamlMessageError('the signature does not cover the message');
  if ((xml.match(new RegExp(`\\bID\\s*=\\s*["']${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']`, 'g')) ?? []).length !== 1) {
    throw new SamlMessageError('the message ID is not unique');
  }
  for (const pem of certificates) {
    // The key is the SP's registered one; a certificate inside the message is never trusted.
    const sig = new SignedXml({ publicCert: pem, getCertFromKeyInfo: () => null });
    sig.loadSignature(signature as unknown as Node);
    try {
      if (sig.checkSignature(xml)) return;
    } catch {
      // a malformed signature is a failed one
    }
  }
  throw new SamlMessageError('the message signature does not verify with the SP’s registered certificate');
}
