import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import samlify from 'samlify';
import { SignedXml } from 'xml-crypto';
import { testCertificate } from '../keys.js';

/*
 * ENT IdPs for the tests and the bench, outside the broker's code: Responses are built here and
 * signed by xml-crypto or samlify (as an IdP), or produced by pysaml2 (test/idps/pysaml2_ent_idp.py).
 */

samlify.setSchemaValidator({ validate: () => Promise.resolve('not checked here') });

export interface TestIdp {
  entityId: string;
  ssoUrl: string;
  keyPem: string;
  certPem: string;
}

export function newTestIdp(name = 'ent', ssoUrl = 'https://ent.example/auth/saml/sso'): TestIdp {
  const c = testCertificate(`${name} IdP`);
  return { entityId: `https://${name}.example/idp`, ssoUrl, keyPem: c.keyPem, certPem: c.certPem };
}

export interface ResponseOptions {
  requestId: string;
  acsUrl: string;
  spEntityId: string;
  now: Date;
  idEnt: string;
  personId: string;
  audience?: string;
  recipient?: string;
  destination?: string | null;
  issuer?: string;
  /** Lifetime of Conditions and SubjectConfirmationData, seconds. */
  lifetime?: number;
  notBefore?: Date;
  assertionId?: string;
  nameFormat?: string;
  /** Put the attribute names in FriendlyName and URN Names. */
  friendlyOnly?: boolean;
  statusCode?: string;
  inResponseTo?: string;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
export const newId = () => `_${randomBytes(16).toString('hex')}`;

/** An unsigned Response as ENT IdPs write it (entcore-like: NameFormat basic, transient NameID). */
export function unsignedResponse(o: ResponseOptions): string {
  const until = iso(new Date(o.now.getTime() + (o.lifetime ?? 3600) * 1000));
  const issuer = o.issuer ?? 'https://ent.example/idp';
  const fmt = o.nameFormat ?? 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
  const attr = (name: string, value: string) =>
    o.friendlyOnly
      ? `<saml:Attribute Name="urn:ent:${name}" FriendlyName="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>${value}</saml:AttributeValue></saml:Attribute>`
      : `<saml:Attribute Name="${name}" NameFormat="${fmt}"><saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${value}</saml:AttributeValue></saml:Attribute>`;
  const status = o.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success';
  const assertion =
    status !== 'urn:oasis:names:tc:SAML:2.0:status:Success'
      ? ''
      : `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${o.assertionId ?? newId()}" IssueInstant="${iso(o.now)}" Version="2.0">` +
        `<saml:Issuer>${issuer}</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="${issuer}">${randomBytes(8).toString('hex')}</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${o.inResponseTo ?? o.requestId}" NotOnOrAfter="${until}" Recipient="${o.recipient ?? o.acsUrl}"/></saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${iso(o.notBefore ?? o.now)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${o.audience ?? o.spEntityId}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${iso(o.now)}" SessionIndex="${newId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
        `<saml:AttributeStatement>${attr('idEnt', o.idEnt)}${attr('GARPersonIdentifiant', o.personId)}</saml:AttributeStatement>` +
        `</saml:Assertion>`;
  const destination = o.destination === null ? '' : ` Destination="${o.destination ?? o.acsUrl}"`;
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" InResponseTo="${o.inResponseTo ?? o.requestId}" Version="2.0" IssueInstant="${iso(o.now)}"${destination}>` +
    `<saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${status}"/></samlp:Status>${assertion}</samlp:Response>`
  );
}

const ALG = {
  sha1: { sig: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1' },
  sha256: { sig: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
} as const;

/** Signs the Assertion and/or the Response (enveloped, exclusive c14n), the way IdPs place the signature: after the Issuer. */
export function sign(xml: string, idp: TestIdp, what: { assertion?: boolean; response?: boolean; alg?: 'sha1' | 'sha256' }): string {
  const alg = ALG[what.alg ?? 'sha1'];
  const one = (input: string, local: 'Assertion' | 'Response') => {
    const sig = new SignedXml({ privateKey: idp.keyPem, publicCert: idp.certPem, signatureAlgorithm: alg.sig as never, canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
    const path = local === 'Assertion' ? "/*[local-name(.)='Response']/*[local-name(.)='Assertion']" : "/*[local-name(.)='Response']";
    sig.addReference({
      xpath: path,
      transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: alg.digest as never,
    });
    sig.computeSignature(input, { prefix: 'ds', location: { reference: `${path}/*[local-name(.)='Issuer']`, action: 'after' } });
    return sig.getSignedXml();
  };
  let out = xml;
  if (what.assertion) out = one(out, 'Assertion');
  if (what.response) out = one(out, 'Response');
  return out;
}

export const b64 = (xml: string) => Buffer.from(xml).toString('base64');

/** samlify as the ENT's IdP: it signs (the Assertion and, when asked, the Response) a Response of ours. */
export async function samlifyResponse(idp: TestIdp, o: ResponseOptions, what: { signResponse: boolean; sha1?: boolean }): Promise<string> {
  const entity = samlify.IdentityProvider({
    entityID: idp.entityId,
    privateKey: idp.keyPem,
    signingCert: idp.certPem,
    singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: idp.ssoUrl }],
    requestSignatureAlgorithm: what.sha1 ? ALG.sha1.sig : ALG.sha256.sig,
  });
  const sp = samlify.ServiceProvider({
    entityID: o.spEntityId,
    assertionConsumerService: [{ Binding: samlify.Constants.namespace.binding.post, Location: o.acsUrl }],
    wantAssertionsSigned: true,
    wantMessageSigned: what.signResponse,
  });
  const xml = unsignedResponse({ ...o, issuer: idp.entityId });
  const { context } = await entity.createLoginResponse(sp, { extract: { request: { id: o.requestId } } }, 'post', {}, () => ({ id: 'x', context: xml }));
  return context as string;
}

/** pysaml2 as the ENT's IdP, answering the AuthnRequest the broker redirected to. */
export function pysaml2Response(
  idp: TestIdp,
  job: { spMetadata: string; location: string; idEnt: string; personId: string; audienceIsAcs?: boolean },
): { SAMLResponse: string; RelayState: string; acs: string; requestId: string } {
  const out = execFileSync('/usr/bin/python3', [new URL('./pysaml2_ent_idp.py', import.meta.url).pathname], {
    input: JSON.stringify({ ...job, idpKey: idp.keyPem, idpCert: idp.certPem, idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return JSON.parse(out.toString());
}
