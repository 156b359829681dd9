import { createCipheriv, createHash, publicEncrypt, randomBytes, sign, constants, X509Certificate, type KeyObject } from 'node:crypto';
import type { SigningKeys } from './keys.js';
import { NS, samlInstant, xmlAttr, xmlText } from './xml.js';

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
}

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

// IDs are NCNames (xs:ID) with 160 random bits: unguessable and never reused (SAML core 1.3.4).
const newId = () => `_${randomBytes(20).toString('hex')}`;

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
  const digest = createHash('sha256').update(element).digest('base64');
  const value = sign('sha256', Buffer.from(signedInfo(id, digest, true)), keys.key).toString('base64');
  const signature =
    `<ds:Signature xmlns:ds="${NS.ds}">${signedInfo(id, digest, false)}` +
    `<ds:SignatureValue>${value}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${keys.certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    `</ds:Signature>`;
  const at = element.indexOf('</saml:Issuer>') + '</saml:Issuer>'.length;
  return element.slice(0, at) + signature + element.slice(at);
}

function attributeStatement(attributes: SamlAttribute[]): string {
  if (attributes.length === 0) return '';
  let out = '<saml:AttributeStatement>';
  for (const a of attributes) {
    out += `<saml:Attribute Name="${xmlAttr(a.name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">`;
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

/** AES-256-GCM content, RSA-OAEP key transport (XML Encryption 1.1). */
function encryptAssertion(assertion: string, certificatePem: string): string {
  const aesKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  const body = Buffer.concat([iv, cipher.update(assertion, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt(
    { key: spEncryptionKey(certificatePem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    aesKey,
  );
  return (
    `<saml:EncryptedAssertion xmlns:saml="${NS.saml}">` +
    `<xenc:EncryptedData xmlns:xenc="${NS.xenc}" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
    `<xenc:EncryptionMethod Algorithm="${ALG.aes256Gcm}"></xenc:EncryptionMethod>` +
    `<ds:KeyInfo xmlns:ds="${NS.ds}"><xenc:EncryptedKey>` +
    `<xenc:EncryptionMethod Algorithm="${ALG.rsaOaepMgf1p}"><ds:DigestMethod Algorithm="${ALG.sha1}"></ds:DigestMethod></xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString('base64')}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedKey></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${body.toString('base64')}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedData></saml:EncryptedAssertion>`
  );
}

/**
 * A SAML 2.0 Response for the HTTP-POST binding, unsolicited (IdP-initiated): Assertion signed,
 * then encrypted when the SP registered an encryption certificate, then the Response signed.
 * Every element is written in exclusive-c14n form (no self-closing tags, sorted attributes,
 * namespaces declared where c14n renders them), so each digest is taken over the string itself.
 */
export function buildSamlResponse(input: ResponseInput, keys: SigningKeys): BuiltResponse {
  const responseId = newId();
  const assertionId = newId();
  const sessionIndex = newId();
  const issued = samlInstant(input.now);
  // Clock skew: SPs whose clocks run a little behind still accept the assertion.
  const notBefore = samlInstant(new Date(input.now.getTime() - 30_000));
  const notOnOrAfterDate = new Date(input.now.getTime() + input.lifetimeSeconds * 1000);
  const notOnOrAfter = samlInstant(notOnOrAfterDate);
  const issuer = (ns: boolean) =>
    `<saml:Issuer${ns ? ` xmlns:saml="${NS.saml}"` : ''} Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${xmlText(input.idpEntityId)}</saml:Issuer>`;
  const acs = xmlAttr(input.acsUrl);
  const audience = xmlText(input.spEntityId);

  const assertion = signElement(
    `<saml:Assertion xmlns:saml="${NS.saml}" ID="${assertionId}" IssueInstant="${issued}" Version="2.0">` +
      issuer(false) +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" SPNameQualifier="${xmlAttr(input.spEntityId)}">${xmlText(input.nameId)}</saml:NameID>` +
      // Bearer confirmation bound to the ACS and the validity window: the SP checks Recipient and time.
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${acs}"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>` +
      // Audience restriction: the assertion is worthless to any other service provider.
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${issued}" SessionIndex="${sessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      attributeStatement(input.attributes) +
      `</saml:Assertion>`,
    assertionId,
    keys,
  );
  const payload = input.encryptionCertificate ? encryptAssertion(assertion, input.encryptionCertificate) : assertion;

  const response = signElement(
    `<samlp:Response xmlns:samlp="${NS.samlp}" Destination="${acs}" ID="${responseId}" IssueInstant="${issued}" Version="2.0">` +
      issuer(true) +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>` +
      payload +
      `</samlp:Response>`,
    responseId,
    keys,
  );
  return { xml: response, responseId, assertionId, sessionIndex, notOnOrAfter: notOnOrAfterDate };
}
