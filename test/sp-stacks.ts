import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import samlify from 'samlify';
import { testCertificate } from './keys.js';
import { bearer } from './helper.js';

/*
 * Two independent publisher SP stacks driving the broker's IdP door: samlify (Node) and Lasso
 * (Entr'ouvert, under mod_auth_mellon) through Debian's python. Each builds its own AuthnRequest
 * and LogoutRequest and consumes the broker's answers.
 */

samlify.setSchemaValidator({ validate: () => Promise.resolve('checked separately with xmllint') });

export const spKeys = testCertificate('publisher SP');
const certBody = spKeys.certPem.replace(/-----[^-]+-----|\s/g, '');
const B = {
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
};
export const NAMEID = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
};

/** SP metadata as a publisher would register it. */
export function spMetadata(o: {
  entityId: string;
  base: string;
  signed?: boolean;
  nameIdFormats?: string[];
  encryptionMethods?: string[];
  extraAcs?: string;
}): string {
  const kd = (use: string, methods = '') =>
    `<md:KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>${methods}</md:KeyDescriptor>`;
  const methods = (o.encryptionMethods ?? []).map((a) => `<md:EncryptionMethod Algorithm="${a}"/>`).join('');
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${o.entityId}">` +
    `<md:SPSSODescriptor AuthnRequestsSigned="${o.signed ? 'true' : 'false'}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    kd('signing') +
    (o.encryptionMethods ? kd('encryption', methods) : '') +
    `<md:SingleLogoutService Binding="${B.redirect}" Location="${o.base}/slo"/>` +
    (o.nameIdFormats ?? []).map((f) => `<md:NameIDFormat>${f}</md:NameIDFormat>`).join('') +
    `<md:AssertionConsumerService Binding="${B.post}" Location="${o.base}/acs" index="0" isDefault="true"/>` +
    (o.extraAcs ?? `<md:AssertionConsumerService Binding="${B.post}" Location="${o.base}/acs2" index="1"/>`) +
    `</md:SPSSODescriptor></md:EntityDescriptor>`
  );
}

/** Registers `metadata` as the SP of a resource of P1, through the publisher API. */
export async function registerSp(app: FastifyInstance, resourceId: string, metadata: string, accessUrl: string, options?: Record<string, unknown>) {
  const res = await app.inject({
    method: 'PUT',
    url: `/v1/resources/${encodeURIComponent(resourceId)}`,
    headers: bearer(app, { sub: 'pub-1', role: 'publisher', publisherId: 'P1' }),
    payload: { name: 'Maths 3e', typePresentation: 'MAN', urlAccesRessource: accessUrl, sp: { metadataXml: metadata } },
  });
  if (res.statusCode !== 200) throw new Error(`registering the SP failed: ${res.body}`);
  if (options) {
    const o = await app.inject({
      method: 'PUT',
      url: `/v1/resources/${encodeURIComponent(resourceId)}/saml-options`,
      headers: bearer(app, { sub: 'pub-1', role: 'publisher', publisherId: 'P1' }),
      payload: options,
    });
    if (o.statusCode !== 200) throw new Error(`setting options failed: ${o.body}`);
  }
}

/** The hidden fields of an auto-post page. */
export function formOf(html: string): { action: string; SAMLResponse?: string; RelayState?: string } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const field = (n: string) => new RegExp(`name="${n}" value="([^"]*)"`).exec(html)?.[1];
  const un = (s?: string) => s?.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&amp;/g, '&');
  if (!action) throw new Error(`not an auto-post page: ${html.slice(0, 300)}`);
  return { action: un(action)!, ...(field('SAMLResponse') ? { SAMLResponse: un(field('SAMLResponse')) } : {}), ...(field('RelayState') ? { RelayState: un(field('RelayState')) } : {}) };
}

/** samlify as the SP. */
export function samlifySp(o: { entityId: string; base: string; signed: boolean; relayState?: string; nameIdFormat?: string; encrypted?: boolean; idpMetadata: string }) {
  const sp = samlify.ServiceProvider({
    entityID: o.entityId,
    authnRequestsSigned: o.signed,
    wantAssertionsSigned: true,
    wantMessageSigned: true,
    privateKey: spKeys.keyPem,
    signingCert: spKeys.certPem,
    encPrivateKey: spKeys.keyPem,
    encryptCert: spKeys.certPem,
    isAssertionEncrypted: !!o.encrypted,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    // Where an enveloped signature goes in the POST binding's AuthnRequest (after its Issuer).
    signatureConfig: { prefix: 'ds', location: { reference: "/*[local-name(.)='AuthnRequest']/*[local-name(.)='Issuer']", action: 'after' } },
    ...(o.relayState ? { relayState: o.relayState } : {}),
    nameIDFormat: [o.nameIdFormat ?? NAMEID.transient],
    assertionConsumerService: [{ Binding: B.post, Location: `${o.base}/acs` }],
    singleLogoutService: [{ Binding: B.redirect, Location: `${o.base}/slo` }],
  });
  // samlify refuses to sign when the IdP does not want signed requests: the broker decides per SP.
  const idp = samlify.IdentityProvider({
    metadata: o.idpMetadata.replace('WantAuthnRequestsSigned="false"', `WantAuthnRequestsSigned="${o.signed}"`),
    isAssertionEncrypted: !!o.encrypted,
  });
  return { sp, idp };
}

export interface LassoResult {
  valid: boolean;
  error?: string;
  status?: { code: string; sub: string | null; message: string | null } | null;
  nameId?: string;
  nameIdFormat?: string;
  inResponseTo?: string;
  sessionIndex?: string;
  authnContext?: string;
  attributes?: Record<string, string[]>;
  session?: string;
  url?: string;
  body?: string;
  relayState?: string;
  requestId?: string;
}

/** Lasso as the SP (test/verifiers/lasso_sp.py). */
export function lasso(job: Record<string, unknown>): LassoResult {
  const out = execFileSync('/usr/bin/python3', [new URL('./verifiers/lasso_sp.py', import.meta.url).pathname], {
    input: JSON.stringify({ spKey: spKeys.keyPem, spCert: spKeys.certPem, ...job }),
  });
  return JSON.parse(out.toString());
}
