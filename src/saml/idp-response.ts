import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { decrypt } from '@authenio/xml-encryption';
import type { KeyObject } from 'node:crypto';
import { NS } from './xml.js';

/** What a verified Response from an ENT IdP tells the broker. Read only from signed XML. */
export interface VerifiedAssertion {
  assertionId: string;
  issuer: string;
  /** Until when the assertion ID must be remembered (replay). */
  rememberUntil: Date;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  authnInstant: Date | null;
  authnContextClassRef: string | null;
  /** Values by attribute Name and, where it differs, by FriendlyName (Name wins). */
  attributes: Map<string, string[]>;
  /** A signature that carried the content used RSA-SHA1 or a SHA-1 digest. */
  sha1: boolean;
}

export type SamlProblem = 'idp_error' | 'bad_assertion' | 'expired_assertion';

/** A Response refused; `detail` is for the log and the page (never personal data), `status` for an IdP error. */
export class SamlResponseError extends Error {
  override name = 'SamlResponseError';
  constructor(
    readonly problem: SamlProblem,
    readonly detail: string,
    readonly status?: string,
  ) {
    super(detail);
  }
}

export interface TrustedIdp {
  entityId: string;
  /** PEM certificates of the IdP's signing keys (several during a rollover). */
  certificates: string[];
  /** RSA-SHA1 and SHA-1 digests: accepted only because deployed ENT IdPs sign that way. */
  allowSha1: boolean;
}

export interface Expectations {
  spEntityId: string;
  acsUrl: string;
  /** The ID of the AuthnRequest the broker sent: unsolicited Responses are not accepted. */
  requestId: string;
  now: Date;
  /** Private key of the SP, for an encrypted assertion. */
  decryptionKey: KeyObject;
}

/** Clock skew tolerated on every time check: ENT servers drift, and three minutes stay far below any lifetime we accept. */
export const CLOCK_SKEW_MS = 180_000;
/** Replay cache bound: ENT assertions live up to five days; an ID is never kept longer than a week. */
const MAX_REMEMBER_MS = 7 * 86_400_000;
export const MAX_RESPONSE_BYTES = 256 * 1024;

const SIG = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;
// Canonicalizations "WithComments" are left out: comments inside a signed NameID or value are a known way to truncate what an SP reads.
const ALLOWED_TRANSFORMS = new Set<string>([SIG.excC14n, SIG.c14n, SIG.enveloped]);
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const NAME_FORMATS = new Set([
  'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
]);

const bad = (detail: string) => new SamlResponseError('bad_assertion', detail);

function parseStrict(xml: string): Document {
  // A DTD in a SAML message is never legitimate and is the door to entity expansion and XXE.
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw bad('the message carries a DOCTYPE or ENTITY declaration');
  const fail = () => {
    throw bad('the message is not well-formed XML');
  };
  const doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
  if (!doc?.documentElement) fail();
  return doc;
}

const elementChildren = (el: Element, ns: string, name: string): Element[] =>
  Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name);

function one(el: Element, ns: string, name: string, what: string): Element {
  const found = elementChildren(el, ns, name);
  if (found.length !== 1) throw bad(`expected exactly one ${what}, found ${found.length}`);
  return found[0]!;
}
const optionalOne = (el: Element, ns: string, name: string): Element | undefined => {
  const found = elementChildren(el, ns, name);
  if (found.length > 1) throw bad(`more than one ${name}`);
  return found[0];
};
const text = (el: Element | undefined): string => (el?.textContent ?? '').trim();

function instant(value: string | null, what: string): Date | null {
  if (value === null || value === '') return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw bad(`${what} is not a date`);
  return d;
}

/**
 * Verifies the enveloped signature that is a direct child of `element`, with the IdP's registered
 * keys only (KeyInfo in the message is ignored: trusting it would let anyone sign). Returns the
 * canonical XML that the signature covers, or null when `element` carries no signature.
 * Only that returned XML may be read afterwards: it is, byte for byte, what was verified, so an
 * attacker's copy of the element elsewhere in the document (signature wrapping) is never seen.
 */
function verifiedContent(document: string, element: Element, idp: TrustedIdp): { xml: string; sha1: boolean } | null {
  const signatures = elementChildren(element, NS.ds, 'Signature');
  if (signatures.length === 0) return null;
  if (signatures.length > 1) throw bad(`${element.localName} carries more than one signature`);
  const signature = signatures[0]!;
  const signedInfo = one(signature, NS.ds, 'SignedInfo', 'SignedInfo');
  const references = elementChildren(signedInfo, NS.ds, 'Reference');
  const id = element.getAttribute('ID');
  // One reference, to the very element that holds the signature: the signature covers what we read.
  if (references.length !== 1 || !id || references[0]!.getAttribute('URI') !== `#${id}`) {
    throw bad(`the ${element.localName} signature does not cover the ${element.localName} itself`);
  }
  const method = one(signedInfo, NS.ds, 'SignatureMethod', 'SignatureMethod').getAttribute('Algorithm') ?? '';
  const digest = one(references[0]!, NS.ds, 'DigestMethod', 'DigestMethod').getAttribute('Algorithm') ?? '';
  const c14n = one(signedInfo, NS.ds, 'CanonicalizationMethod', 'CanonicalizationMethod').getAttribute('Algorithm') ?? '';
  const sha1 = method === SIG.rsaSha1 || digest === SIG.sha1;
  // RSA-SHA256, or RSA-SHA1 where the IdP's registration allows it; nothing else (no HMAC, no MD5).
  const methods: string[] = idp.allowSha1 ? [SIG.rsaSha256, SIG.rsaSha1] : [SIG.rsaSha256];
  const digests: string[] = idp.allowSha1 ? [SIG.sha256, SIG.sha1] : [SIG.sha256];
  if (!methods.includes(method)) throw bad(`signature algorithm ${method || '(none)'} is not accepted for this IdP`);
  if (!digests.includes(digest)) throw bad(`digest algorithm ${digest || '(none)'} is not accepted for this IdP`);
  if (!ALLOWED_TRANSFORMS.has(c14n)) throw bad(`canonicalization ${c14n} is not accepted`);
  const transforms = references[0]!.getElementsByTagNameNS(NS.ds, 'Transform');
  if (transforms.length > 2) throw bad('too many transforms');
  for (const t of Array.from(transforms)) {
    if (!ALLOWED_TRANSFORMS.has(t.getAttribute('Algorithm') ?? '')) throw bad(`transform ${t.getAttribute('Algorithm')} is not accepted`);
  }

  for (const certificate of idp.certificates) {
    const sig = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    const keep = <T extends object>(table: T, names: string[]) =>
      Object.fromEntries(Object.entries(table).filter(([k]) => names.includes(k))) as T;
    sig.SignatureAlgorithms = keep(sig.SignatureAlgorithms, methods);
    sig.HashAlgorithms = keep(sig.HashAlgorithms, digests);
    sig.CanonicalizationAlgorithms = keep(sig.CanonicalizationAlgorithms, [...ALLOWED_TRANSFORMS]);
    sig.loadSignature(signature);
    let valid = false;
    try {
      // xml-crypto also refuses a document where two elements share the referenced ID.
      valid = sig.checkSignature(document);
    } catch {
      valid = false;
    }
    if (valid) {
      const signed = sig.getSignedReferences();
      if (signed.length !== 1) throw bad('unexpected signed references');
      return { xml: signed[0]!, sha1 };
    }
  }
  throw bad(`the ${element.localName} signature is not valid for this IdP's keys`);
}

function decryptAssertion(encrypted: Element, key: KeyObject): Promise<string> {
  const encryptedData = one(encrypted, NS.xenc, 'EncryptedData', 'EncryptedData');
  return new Promise((resolve, reject) => {
    // RSA PKCS#1 v1.5 key transport and 3DES are refused (padding-oracle attacks on XML Encryption).
    decrypt(
      encryptedData.toString(),
      { key: key.export({ type: 'pkcs8', format: 'pem' }) as string, disallowDecryptionWithInsecureAlgorithm: true, warnInsecureAlgorithm: false },
      (err, result) => (err || !result ? reject(bad('the encrypted assertion cannot be decrypted')) : resolve(result)),
    );
  });
}

/**
 * Checks a SAMLResponse (HTTP-POST binding, base64) from an ENT project's IdP and returns what the
 * signed assertion says. Accepts what deployed ENT IdPs send (only the Assertion signed, RSA-SHA1
 * where allowed, Audience = entityID or ACS URL, NameFormat basic or uri) and nothing weaker.
 */
export async function verifyIdpResponse(samlResponse: string, idp: TrustedIdp, expect: Expectations): Promise<VerifiedAssertion> {
  if (samlResponse.length > (MAX_RESPONSE_BYTES * 4) / 3 + 4) throw bad('the SAMLResponse is too large');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) throw bad('the SAMLResponse is not base64');
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  const doc = parseStrict(xml);
  const response = doc.documentElement!;
  if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') throw bad('the message is not a samlp:Response');
  if (response.getAttribute('Version') !== '2.0') throw bad('the Response is not SAML 2.0');

  const responseIssuer = optionalOne(response, NS.saml, 'Issuer');
  if (responseIssuer && text(responseIssuer) !== idp.entityId) throw bad('the Response was issued by another entity');
  // Tied to our AuthnRequest: no unsolicited or foreign Response is taken.
  const inResponseTo = response.getAttribute('InResponseTo');
  if (inResponseTo && inResponseTo !== expect.requestId) throw bad('the Response answers another request (InResponseTo)');
  // Destination, when given, must be our ACS: a Response meant for another SP is not ours to use.
  const destination = response.getAttribute('Destination');
  if (destination && destination !== expect.acsUrl) throw bad('the Response is addressed to another Destination');

  const status = one(response, NS.samlp, 'Status', 'Status');
  const code = one(status, NS.samlp, 'StatusCode', 'StatusCode');
  if (code.getAttribute('Value') !== SUCCESS) {
    const second = optionalOne(code, NS.samlp, 'StatusCode')?.getAttribute('Value');
    const value = [code.getAttribute('Value'), second].filter(Boolean).join(' / ');
    throw new SamlResponseError('idp_error', `the IdP answered ${value}`, value);
  }

  // Exactly one assertion in the whole document, directly in the Response: a second one (wrapped,
  // hidden in an Extensions or Object element) is a signature-wrapping attempt, never legitimate.
  const all = [...Array.from(doc.getElementsByTagNameNS(NS.saml, 'Assertion')), ...Array.from(doc.getElementsByTagNameNS(NS.saml, 'EncryptedAssertion'))];
  if (all.length !== 1 || all[0]!.parentNode !== response) throw bad(`expected exactly one assertion directly in the Response, found ${all.length}`);
  const responseSigned = verifiedContent(xml, response, idp);

  let assertionDocXml = xml;
  let assertion = all[0]!;
  if (assertion.localName === 'EncryptedAssertion') {
    assertionDocXml = await decryptAssertion(assertion, expect.decryptionKey);
    const inner = parseStrict(assertionDocXml).documentElement!;
    if (inner.namespaceURI !== NS.saml || inner.localName !== 'Assertion') throw bad('the encrypted element is not an Assertion');
    assertion = inner;
  }
  const assertionSigned = verifiedContent(assertionDocXml, assertion, idp);
  // At least one signature by the IdP; ENT IdPs sign the Assertion only.
  if (!responseSigned && !assertionSigned) throw bad('neither the Response nor the Assertion is signed');

  // From here on only signed XML is read.
  let signedAssertion: Element;
  if (assertionSigned) {
    signedAssertion = parseStrict(assertionSigned.xml).documentElement!;
  } else if (all[0]!.localName === 'EncryptedAssertion') {
    // The ciphertext is covered by the Response signature, so the decrypted assertion is too.
    signedAssertion = assertion;
  } else {
    const signedResponse = parseStrict(responseSigned!.xml).documentElement!;
    signedAssertion = one(signedResponse, NS.saml, 'Assertion', 'Assertion in the signed Response');
  }
  if (signedAssertion.namespaceURI !== NS.saml || signedAssertion.localName !== 'Assertion') throw bad('the signed element is not an Assertion');
  const sha1 = (assertionSigned ?? responseSigned)!.sha1;
  return readAssertion(signedAssertion, idp, expect, sha1);
}

function readAssertion(a: Element, idp: TrustedIdp, expect: Expectations, sha1: boolean): VerifiedAssertion {
  const now = expect.now.getTime();
  const assertionId = a.getAttribute('ID') ?? '';
  if (assertionId === '') throw bad('the Assertion has no ID');
  if (a.getAttribute('Version') !== '2.0') throw bad('the Assertion is not SAML 2.0');
  const issuer = text(one(a, NS.saml, 'Issuer', 'Issuer in the Assertion'));
  // The key that verified is this IdP's; the Issuer must say so too.
  if (issuer !== idp.entityId) throw bad('the Assertion was issued by another entity');

  const subject = one(a, NS.saml, 'Subject', 'Subject');
  const nameIdEl = optionalOne(subject, NS.saml, 'NameID');
  // Bearer confirmation (web SSO profile 4.1.4.2): for our ACS, in answer to our request, not expired.
  const confirmations = elementChildren(subject, NS.saml, 'SubjectConfirmation').filter((c) => c.getAttribute('Method') === BEARER);
  let confirmedUntil: Date | null = null;
  const confirmed = confirmations.some((c) => {
    const data = optionalOne(c, NS.saml, 'SubjectConfirmationData');
    if (!data) return false;
    if (data.getAttribute('Recipient') !== expect.acsUrl) return false;
    if (data.getAttribute('InResponseTo') !== expect.requestId) return false;
    const until = instant(data.getAttribute('NotOnOrAfter'), 'SubjectConfirmationData NotOnOrAfter');
    if (!until || until.getTime() + CLOCK_SKEW_MS <= now) return false;
    const from = instant(data.getAttribute('NotBefore'), 'SubjectConfirmationData NotBefore');
    if (from && from.getTime() - CLOCK_SKEW_MS > now) return false;
    confirmedUntil = until;
    return true;
  });
  if (!confirmed) {
    const expired = confirmations.some((c) => {
      const until = instant(optionalOne(c, NS.saml, 'SubjectConfirmationData')?.getAttribute('NotOnOrAfter') ?? null, 'NotOnOrAfter');
      return until !== null && until.getTime() + CLOCK_SKEW_MS <= now;
    });
    if (expired) throw new SamlResponseError('expired_assertion', 'the bearer confirmation has expired');
    throw bad('no bearer SubjectConfirmation for this ACS (Recipient) and this request (InResponseTo)');
  }

  const conditions = one(a, NS.saml, 'Conditions', 'Conditions');
  const notBefore = instant(conditions.getAttribute('NotBefore'), 'Conditions NotBefore');
  const notOnOrAfter = instant(conditions.getAttribute('NotOnOrAfter'), 'Conditions NotOnOrAfter');
  if (notBefore && notBefore.getTime() - CLOCK_SKEW_MS > now) throw new SamlResponseError('expired_assertion', 'the assertion is not valid yet');
  if (notOnOrAfter && notOnOrAfter.getTime() + CLOCK_SKEW_MS <= now) throw new SamlResponseError('expired_assertion', 'the assertion has expired');
  // Audience: our entityID, or our ACS URL as one deployed ENT writes; every restriction must name us.
  const restrictions = elementChildren(conditions, NS.saml, 'AudienceRestriction');
  if (restrictions.length === 0) throw bad('the assertion has no AudienceRestriction');
  for (const r of restrictions) {
    const audiences = elementChildren(r, NS.saml, 'Audience').map((e) => text(e));
    if (!audiences.some((x) => x === expect.spEntityId || x === expect.acsUrl)) throw bad('the assertion is meant for another audience');
  }

  const authn = elementChildren(a, NS.saml, 'AuthnStatement')[0];
  const classRef = authn ? text(authn.getElementsByTagNameNS(NS.saml, 'AuthnContextClassRef')[0]) : '';

  const attributes = new Map<string, string[]>();
  const byFriendly = new Map<string, string[]>();
  for (const statement of elementChildren(a, NS.saml, 'AttributeStatement')) {
    for (const attr of elementChildren(statement, NS.saml, 'Attribute')) {
      const format = attr.getAttribute('NameFormat');
      // basic (what ENTs send), uri, unspecified or none; anything else names something else.
      if (format && !NAME_FORMATS.has(format)) continue;
      const values = elementChildren(attr, NS.saml, 'AttributeValue').map((v) => text(v));
      const name = attr.getAttribute('Name') ?? '';
      const friendly = attr.getAttribute('FriendlyName');
      if (name && !attributes.has(name)) attributes.set(name, values);
      if (friendly && !byFriendly.has(friendly)) byFriendly.set(friendly, values);
    }
  }
  // Found by Name first, then by FriendlyName.
  for (const [k, v] of byFriendly) if (!attributes.has(k)) attributes.set(k, v);

  const ends = [notOnOrAfter, confirmedUntil as Date | null].filter((d): d is Date => d !== null).map((d) => d.getTime());
  const rememberUntil = new Date(Math.min(Math.max(...ends) + CLOCK_SKEW_MS, now + MAX_REMEMBER_MS));
  return {
    assertionId,
    issuer,
    rememberUntil,
    nameId: text(nameIdEl),
    nameIdFormat: nameIdEl?.getAttribute('Format') || null,
    sessionIndex: authn?.getAttribute('SessionIndex') || null,
    authnInstant: instant(authn?.getAttribute('AuthnInstant') ?? null, 'AuthnInstant'),
    authnContextClassRef: classRef || null,
    attributes,
    sha1,
  };
}
