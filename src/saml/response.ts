import { createCipheriv, createHash, publicEncrypt, randomBytes, sign, constants, X509Certificate, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { SigningKeys } from './keys.js';
import { NS, samlId, samlInstant, xmlAttr, xmlText } from './xml.js';

export interface SamlAttribute {
  name: string;
  values: string[];
}

export interface ResponseInput {
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  /** The IDO: the persistent, pseudonymous subject. */
  nameId: string;
  attributes: SamlAttribute[];
  now: Date;
  lifetimeSeconds: number;
  /** The SP's encryption certificate (PEM): when present, the Assertion is encrypted. */
  encryptionCertificate?: string | null;
  /** The algorithms the SP declared (md:EncryptionMethod), in its order; the first supported is used. */
  encryptionMethods?: string[];
  /** SP-initiated: the AuthnRequest's ID; absent for an unsolicited Response. */
  inResponseTo?: string;
  /** Default persistent (the IDO). */
  nameIdFormat?: string;
  /** Default: a fresh one. SP-initiated SSO keeps one per broker session and SP, for single logout. */
  sessionIndex?: string;
  /** When and how the person authenticated (from the ENT's assertion); default now and unspecified. */
  authnInstant?: Date;
  authnContextClassRef?: string;
  /** Default both. */
  signing?: 'both' | 'assertion' | 'response';
  /** Default basic. */
  attributeNameFormat?: 'basic' | 'uri';
}

export const NAMEID_FORMAT = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  entity: 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity',
} as const;

const ATTRNAME_FORMAT = {
  basic: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  uri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
} as const;

export interface BuiltResponse {
  xml: string;
  responseId: string;
  assertionId: string;
  sessionIndex: string;
  notOnOrAfter: Date;
}

const ALG = {
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  aes256Gcm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  rsaOaepMgf1p: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
} as const;

/** Content encryption the broker can do, by XML Encryption URI. GCM first: it authenticates. */
const DATA_ALGS: Record<string, { cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'aes-128-cbc' | 'aes-256-cbc'; keyBytes: number }> = {
  'http://www.w3.org/2009/xmlenc11#aes256-gcm': { cipher: 'aes-256-gcm', keyBytes: 32 },
  'http://www.w3.org/2009/xmlenc11#aes128-gcm': { cipher: 'aes-128-gcm', keyBytes: 16 },
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc': { cipher: 'aes-256-cbc', keyBytes: 32 },
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc': { cipher: 'aes-128-cbc', keyBytes: 16 },
};
/** Key transport: RSA-OAEP with SHA-1 digest and MGF1-SHA-1, under its 1.0 and 1.1 names. */
const KEY_ALGS = ['http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p', 'http://www.w3.org/2009/xmlenc11#rsa-oaep'];
export const SUPPORTED_ENCRYPTION_METHODS = [...Object.keys(DATA_ALGS), ...KEY_ALGS];

/** The SP's first declared algorithm the broker supports, per kind; AES-256-GCM and RSA-OAEP-MGF1P otherwise. */
export function chooseEncryption(declared: string[] = []): { data: string; key: string } {
  return {
    data: declared.find((a) => a in DATA_ALGS) ?? ALG.aes256Gcm,
    key: declared.find((a) => KEY_ALGS.includes(a)) ?? ALG.rsaOaepMgf1p,
  };
}

const newId = samlId;

/** SignedInfo as exclusive c14n renders it when canonicalized on its own (xmlns:ds on the apex). */
function signedInfo(id: string, digest: string, withNamespace: boolean): string {
  return (
    `<ds:SignedInfo${withNamespace ? ` xmlns:ds="${NS.ds}"` : ''}>` +
    `<ds:CanonicalizationMethod Algorithm="${ALG.excC14n}"></ds:CanonicalizationMethod>` +
    `<ds:SignatureMethod Algorithm="${ALG.rsaSha256}"></ds:SignatureMethod>` +
    `<ds:Reference URI="#${id}"><ds:Transforms>` +
    `<ds:Transform Algorithm="${ALG.enveloped}"></ds:Transform>` +
    `<ds:Transform Algorithm="${ALG.excC14n}"></ds:Transform>` +
    `</ds:Transforms><ds:DigestMethod Algorithm="${ALG.sha256}"></ds:DigestMethod>` +
    `<ds:DigestValue>${digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>`
  );
}

/**
 * Enveloped RSA-SHA256 signature over an element we wrote in canonical form, inserted right after
 * its Issuer as the SAML schema requires. The digest covers the element without the signature,
 * which is what the enveloped-signature transform gives the verifier.
 */
function signElement(element: string, id: string, keys: SigningKeys): string {
  return signElementAfter(element, id, keys, element.indexOf('</saml:Issuer>') + '</saml:Issuer>'.length);
}

/** The same, the signature inserted at `at` (metadata puts it first inside the root). */
export function signElementAfter(element: string, id: string, keys: SigningKeys, at: number): string {
  const digest = createHash('sha256').update(element).digest('base64');
  const value = sign('sha256', Buffer.from(signedInfo(id, digest, true)), keys.key).toString('base64');
  const signature =
    `<ds:Signature xmlns:ds="${NS.ds}">${signedInfo(id, digest, false)}` +
    `<ds:SignatureValue>${value}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${keys.certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    `</ds:Signature>`;
  return element.slice(0, at) + signature + element.slice(at);
}

function attributeStatement(attributes: SamlAttribute[], nameFormat: 'basic' | 'uri'): string {
  if (attributes.length === 0) return '';
  let out = '<saml:AttributeStatement>';
  for (const a of attributes) {
    out += `<saml:Attribute Name="${xmlAttr(a.name)}" NameFormat="${ATTRNAME_FORMAT[nameFormat]}">`;
    for (const v of a.values) out += `<saml:AttributeValue>${xmlText(v)}</saml:AttributeValue>`;
    out += '</saml:Attribute>';
  }
  return out + '</saml:AttributeStatement>';
}

// SP encryption keys, parsed once per certificate rather than on every encrypted Response.
const spKeys = new Map<string, KeyObject>();
function spEncryptionKey(certificatePem: string): KeyObject {
  let key = spKeys.get(certificatePem);
  if (!key) {
    key = new X509Certificate(certificatePem).publicKey;
    if (spKeys.size >= 10_000) spKeys.clear(); // bounded: one entry per registered resource at most
    spKeys.set(certificatePem, key);
  }
  return key;
}

/** AES content (GCM or CBC), RSA-OAEP key transport (XML Encryption 1.0 and 1.1). */
function encryptAssertion(assertion: string, certificatePem: string, methods: { data: string; key: string } = chooseEncryption()): string {
  const alg = DATA_ALGS[methods.data]!;
  const aesKey = randomBytes(alg.keyBytes);
  let body: Buffer;
  if (alg.cipher.endsWith('gcm')) {
    // XML Encryption 1.1 5.2.4: 96-bit IV, then ciphertext, then the 128-bit tag.
    const iv = randomBytes(12);
    const cipher = createCipheriv(alg.cipher as 'aes-256-gcm', aesKey, iv);
    body = Buffer.concat([iv, cipher.update(assertion, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  } else {
    // CBC: IV first; PKCS#7 padding is a valid instance of XML Encryption's padding (5.2).
    const iv = randomBytes(16);
    const cipher = createCipheriv(alg.cipher, aesKey, iv);
    body = Buffer.concat([iv, cipher.update(assertion, 'utf8'), cipher.final()]);
  }
  const wrapped = publicEncrypt(
    { key: spEncryptionKey(certificatePem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    aesKey,
  );
  return (
    `<saml:EncryptedAssertion xmlns:saml="${NS.saml}">` +
    `<xenc:EncryptedData xmlns:xenc="${NS.xenc}" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
    `<xenc:EncryptionMethod Algorithm="${methods.data}"></xenc:EncryptionMethod>` +
    `<ds:KeyInfo xmlns:ds="${NS.ds}"><xenc:EncryptedKey>` +
    `<xenc:EncryptionMethod Algorithm="${methods.key}"><ds:DigestMethod Algorithm="${ALG.sha1}"></ds:DigestMethod></xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString('base64')}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedKey></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${body.toString('base64')}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedData></saml:EncryptedAssertion>`
  );
}

/**
 * A SAML 2.0 Response for the HTTP-POST binding, unsolicited or in response to an AuthnRequest:
 * Assertion signed, then encrypted when the SP registered an encryption certificate, then the
 * Response signed (per the SP's signing option: both by default).
 * Every element is written in exclusive-c14n form (no self-closing tags, sorted attributes,
 * namespaces declared where c14n renders them), so each digest is taken over the string itself.
 */
export function buildSamlResponse(input: ResponseInput, keys: SigningKeys): BuiltResponse {
  const responseId = newId();
  const assertionId = newId();
  const sessionIndex = input.sessionIndex ?? newId();
  const signing = input.signing ?? 'both';
  const issued = samlInstant(input.now);
  const inResponseTo = input.inResponseTo ? ` InResponseTo="${xmlAttr(input.inResponseTo)}"` : '';
  const nameIdFormat = input.nameIdFormat ?? NAMEID_FORMAT.persistent;
  // Clock skew: SPs whose clocks run a little behind still accept the assertion.
  const notBefore = samlInstant(new Date(input.now.getTime() - 30_000));
  const notOnOrAfterDate = new Date(input.now.getTime() + input.lifetimeSeconds * 1000);
  const notOnOrAfter = samlInstant(notOnOrAfterDate);
  const issuer = (ns: boolean) =>
    `<saml:Issuer${ns ? ` xmlns:saml="${NS.saml}"` : ''} Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${xmlText(input.idpEntityId)}</saml:Issuer>`;
  const acs = xmlAttr(input.acsUrl);
  const audience = xmlText(input.spEntityId);

  const assertionXml =
    `<saml:Assertion xmlns:saml="${NS.saml}" ID="${assertionId}" IssueInstant="${issued}" Version="2.0">` +
      issuer(false) +
      `<saml:Subject><saml:NameID Format="${xmlAttr(nameIdFormat)}" SPNameQualifier="${xmlAttr(input.spEntityId)}">${xmlText(input.nameId)}</saml:NameID>` +
      // Bearer confirmation bound to the ACS, the request and the validity window: the SP checks Recipient, InResponseTo and time.
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${inResponseTo} NotOnOrAfter="${notOnOrAfter}" Recipient="${acs}"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>` +
      // Audience restriction: the assertion is worthless to any other service provider.
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${samlInstant(input.authnInstant ?? input.now)}" SessionIndex="${xmlAttr(sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>${xmlText(input.authnContextClassRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified')}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      attributeStatement(input.attributes, input.attributeNameFormat ?? 'basic') +
      `</saml:Assertion>`;
  const assertion = signing === 'response' ? assertionXml : signElement(assertionXml, assertionId, keys);
  const payload = input.encryptionCertificate
    ? encryptAssertion(assertion, input.encryptionCertificate, chooseEncryption(input.encryptionMethods))
    : assertion;

  const responseXml =
    `<samlp:Response xmlns:samlp="${NS.samlp}" Destination="${acs}" ID="${responseId}"${inResponseTo} IssueInstant="${issued}" Version="2.0">` +
    issuer(true) +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>` +
    payload +
    `</samlp:Response>`;
  const response = signing === 'assertion' ? responseXml : signElement(responseXml, responseId, keys);
  return { xml: response, responseId, assertionId, sessionIndex, notOnOrAfter: notOnOrAfterDate };
}

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  partialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

export interface StatusInput {
  idpEntityId: string;
  destination: string;
  inResponseTo?: string;
  /** Top-level code: Requester or Responder (core 3.2.2.2); the second-level code says why. */
  code: string;
  subCode?: string;
  message?: string;
  now: Date;
}

function statusElement(input: StatusInput): string {
  return (
    `<samlp:Status><samlp:StatusCode Value="${input.code}">` +
    (input.subCode ? `<samlp:StatusCode Value="${input.subCode}"></samlp:StatusCode>` : '') +
    `</samlp:StatusCode>` +
    (input.message ? `<samlp:StatusMessage>${xmlText(input.message)}</samlp:StatusMessage>` : '') +
    `</samlp:Status>`
  );
}

/** A StatusResponseType message (Response without assertion, LogoutResponse), unsigned. */
function statusMessage(element: 'Response' | 'LogoutResponse', input: StatusInput): { xml: string; id: string } {
  const id = newId();
  const inResponseTo = input.inResponseTo ? ` InResponseTo="${xmlAttr(input.inResponseTo)}"` : '';
  const xml =
    `<samlp:${element} xmlns:samlp="${NS.samlp}" Destination="${xmlAttr(input.destination)}" ID="${id}"${inResponseTo} IssueInstant="${samlInstant(input.now)}" Version="2.0">` +
    `<saml:Issuer xmlns:saml="${NS.saml}" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${xmlText(input.idpEntityId)}</saml:Issuer>` +
    statusElement(input) +
    `</samlp:${element}>`;
  return { xml, id };
}

/** A signed Response carrying no assertion: the SP is told why, at its ACS, instead of a dead end. */
export function buildStatusResponse(input: StatusInput, keys: SigningKeys): { xml: string; responseId: string } {
  const { xml, id } = statusMessage('Response', input);
  return { xml: signElement(xml, id, keys), responseId: id };
}

/** LogoutRequest from the broker to a participant SP (sent by HTTP-Redirect, signed in the query). */
export function buildLogoutRequest(
  input: { idpEntityId: string; destination: string; nameId: string; nameIdFormat: string; spEntityId: string; sessionIndex?: string | null; now: Date; lifetimeSeconds: number },
): { xml: string; id: string } {
  const id = newId();
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" Destination="${xmlAttr(input.destination)}" ID="${id}" IssueInstant="${samlInstant(input.now)}" NotOnOrAfter="${samlInstant(new Date(input.now.getTime() + input.lifetimeSeconds * 1000))}" Version="2.0">` +
    `<saml:Issuer xmlns:saml="${NS.saml}" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${xmlText(input.idpEntityId)}</saml:Issuer>` +
    `<saml:NameID xmlns:saml="${NS.saml}" Format="${xmlAttr(input.nameIdFormat)}" SPNameQualifier="${xmlAttr(input.spEntityId)}">${xmlText(input.nameId)}</saml:NameID>` +
    (input.sessionIndex ? `<samlp:SessionIndex>${xmlText(input.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`;
  return { xml, id };
}

/** LogoutResponse to the SP that asked for logout (signed in the query by the Redirect binding). */
export function buildLogoutResponse(input: StatusInput): { xml: string; id: string } {
  return statusMessage('LogoutResponse', input);
}

/**
 * HTTP-Redirect encoding with the query signature (bindings 3.4.4.1), RSA-SHA256: the octets
 * signed are the URL-encoded parameters in this fixed order.
 */
export function redirectUrl(location: string, param: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string | undefined, keys: SigningKeys): string {
  let query = `${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
  if (relayState !== undefined) query += `&RelayState=${encodeURIComponent(relayState)}`;
  query += `&SigAlg=${encodeURIComponent(ALG.rsaSha256)}`;
  const signature = sign('sha256', Buffer.from(query), keys.key).toString('base64');
  return `${location}${location.includes('?') ? '&' : '?'}${query}&Signature=${encodeURIComponent(signature)}`;
}
