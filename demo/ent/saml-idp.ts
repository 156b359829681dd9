import { randomBytes } from 'node:crypto';
import samlify from 'samlify';

/*
 * The test ENT's SAML IdP, written the way deployed ENT IdPs answer GAR: attributes idEnt and
 * GARPersonIdentifiant (NameFormat basic), a transient NameID that is the ENT session's, only the
 * Assertion signed, RSA-SHA1 by default, Audience = the SP's entityID or (switch) its ACS URL.
 */

// The broker checks its inputs against the SAML schemas; this side trusts its own templates.
samlify.setSchemaValidator({ validate: () => Promise.resolve('not checked by the test ENT') });

const B = samlify.Constants.namespace.binding;
export const SIG = {
  sha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
};

export interface IdpSwitches {
  /** Sign with RSA-SHA1 (what ENT IdPs do today); false: RSA-SHA256. */
  sha1: boolean;
  /** Put the ACS URL in Audience instead of the SP's entityID (one ENT codebase does). */
  audienceIsAcs: boolean;
  /** Lifetime of the assertion, seconds (ENTs send one hour to days). */
  lifetimeSeconds: number;
}

export interface Subject {
  idEnt: string;
  personId: string;
  nameId: string;
  sessionIndex: string;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const newId = () => `_${randomBytes(20).toString('hex')}`;
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export function entIdp(o: { base: string; keyPem: string; certPem: string; switches: IdpSwitches }) {
  const entityId = `${o.base}/idp/metadata`;
  const idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey: o.keyPem,
    signingCert: o.certPem,
    wantAuthnRequestsSigned: true,
    // The broker's LogoutResponse at the end of an ENT logout is signed: checked.
    wantLogoutResponseSigned: true,
    requestSignatureAlgorithm: o.switches.sha1 ? SIG.sha1 : SIG.sha256,
    singleSignOnService: [{ Binding: B.redirect, Location: `${o.base}/idp/sso` }],
    singleLogoutService: [{ Binding: B.redirect, Location: `${o.base}/idp/slo` }],
    nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:transient'],
  });

  /** The broker as SP, from its metadata; logout messages to it are signed. */
  const brokerSp = (metadata: string) =>
    samlify.ServiceProvider({ metadata, wantMessageSigned: false, wantLogoutRequestSigned: true, wantLogoutResponseSigned: true });

  function responseXml(r: { requestId: string; acsUrl: string; spEntityId: string; subject: Subject; now: Date }): string {
    const until = iso(new Date(r.now.getTime() + o.switches.lifetimeSeconds * 1000));
    const attr = (name: string, value: string) =>
      `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${xml(value)}</saml:AttributeValue></saml:Attribute>`;
    return (
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" InResponseTo="${xml(r.requestId)}" Version="2.0" IssueInstant="${iso(r.now)}" Destination="${xml(r.acsUrl)}">` +
      `<saml:Issuer>${xml(entityId)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      `<saml:Assertion ID="${newId()}" IssueInstant="${iso(r.now)}" Version="2.0"><saml:Issuer>${xml(entityId)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="${xml(entityId)}">${xml(r.subject.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${xml(r.requestId)}" NotOnOrAfter="${until}" Recipient="${xml(r.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(new Date(r.now.getTime() - 60_000))}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${xml(o.switches.audienceIsAcs ? r.acsUrl : r.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(r.now)}" SessionIndex="${xml(r.subject.sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attr('idEnt', r.subject.idEnt)}${attr('GARPersonIdentifiant', r.subject.personId)}</saml:AttributeStatement>` +
      `</saml:Assertion></samlp:Response>`
    );
  }

  return {
    entityId,
    metadata: () => idp.getMetadata(),

    /** Reads and checks (signature included) the broker's AuthnRequest; answers with a Response to post to its ACS. */
    async answer(spMetadata: string, redirect: { query: Record<string, string>; octetString: string }, subject: Subject) {
      const sp = brokerSp(spMetadata);
      const { extract, samlContent } = await idp.parseLoginRequest(sp, 'redirect', redirect);
      const requestId = extract.request?.id as string;
      if (!requestId) throw new Error('the AuthnRequest has no ID');
      const acsUrl = /AssertionConsumerServiceURL="([^"]+)"/.exec(samlContent)?.[1] ?? (sp.entityMeta.getAssertionConsumerService('post') as string);
      const body = responseXml({ requestId, acsUrl, spEntityId: sp.entityMeta.getEntityID(), subject, now: new Date() });
      const { context } = await idp.createLoginResponse(sp, { extract: { request: { id: requestId } } }, 'post', {}, () => ({ id: requestId, context: body }));
      return { acsUrl, SAMLResponse: context as string };
    },

    /** The signed HTTP-Redirect LogoutRequest that tells the broker this ENT session ended. */
    logoutUrl(spMetadata: string, subject: Subject): string {
      const sp = brokerSp(spMetadata);
      // samlify's metadata getters take the binding's short name.
      const destination = sp.entityMeta.getSingleLogoutService('redirect');
      if (typeof destination !== 'string') throw new Error('the broker’s SP metadata declares no HTTP-Redirect SingleLogoutService');
      const request =
        `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${iso(new Date())}" Destination="${xml(destination)}">` +
        `<saml:Issuer>${xml(entityId)}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="${xml(entityId)}">${xml(subject.nameId)}</saml:NameID>` +
        `<samlp:SessionIndex>${xml(subject.sessionIndex)}</samlp:SessionIndex></samlp:LogoutRequest>`;
      const { context } = idp.createLogoutRequest(sp, 'redirect', { logoutNameID: subject.nameId }, '', () => ({ id: 'x', context: request }));
      return context as string;
    },

    /** The broker's LogoutResponse at the end of the logout: its status (signature checked). */
    async logoutStatus(spMetadata: string, redirect: { query: Record<string, string>; octetString: string }): Promise<string> {
      const { samlContent } = await idp.parseLogoutResponse(brokerSp(spMetadata), 'redirect', redirect);
      return /StatusCode\s+Value="([^"]+)"/.exec(samlContent)?.[1] ?? 'unknown';
    },
  };
}
