import t from 'tap';
import { createPrivateKey } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { testCertificate } from './keys.js';
import { SamlResponseError, verifyIdpResponse, type Expectations, type TrustedIdp } from '../src/saml/idp-response.js';
import { b64, newId, newTestIdp, samlifyResponse, sign, unsignedResponse, type ResponseOptions } from './idps/ent-idp.js';

/* The ACS's checks on what an ENT IdP sends, one by one, including signature wrapping (XSW). */

const idp = newTestIdp('ent');
const other = newTestIdp('evil');
const sp = { spEntityId: 'https://broker.test/saml/sp/metadata', acsUrl: 'https://broker.test/saml/sp/acs' };
const now = new Date('2026-11-25T09:00:00Z');
const requestId = newId();
const spKey = createPrivateKey(testCertificate('sp').keyPem);
const trusted: TrustedIdp = { entityId: idp.entityId, certificates: [idp.certPem], allowSha1: true };
const expect: Expectations = { ...sp, requestId, now, decryptionKey: spKey };
const base = (o: Partial<ResponseOptions> = {}): ResponseOptions => ({ ...sp, requestId, now, idEnt: 'Z0', personId: 'E1', issuer: idp.entityId, ...o });

async function problem(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (err) {
    if (err instanceof SamlResponseError) return `${err.problem}: ${err.detail}`;
    throw err;
  }
}

t.test('what deployed ENT IdPs send is accepted', async (t) => {
  const entcore = sign(unsignedResponse(base()), idp, { assertion: true, alg: 'sha1' });
  const v = await verifyIdpResponse(b64(entcore), trusted, expect);
  t.same(v.attributes.get('idEnt'), ['Z0']);
  t.same(v.attributes.get('GARPersonIdentifiant'), ['E1']);
  t.equal(v.nameIdFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
  t.ok(v.sha1, 'SHA-1 is reported, to be counted');

  const laclasse = sign(unsignedResponse(base({ audience: sp.acsUrl })), idp, { assertion: true, alg: 'sha1' });
  t.equal(await problem(verifyIdpResponse(b64(laclasse), trusted, expect)), 'accepted', 'Audience = ACS URL');

  const uri = sign(unsignedResponse(base({ friendlyOnly: true })), idp, { assertion: true, alg: 'sha256' });
  const u = await verifyIdpResponse(b64(uri), trusted, expect);
  t.same(u.attributes.get('GARPersonIdentifiant'), ['E1'], 'found by FriendlyName, NameFormat uri');
  t.notOk(u.sha1);

  const both = sign(unsignedResponse(base()), idp, { assertion: true, response: true, alg: 'sha256' });
  t.equal(await problem(verifyIdpResponse(b64(both), trusted, expect)), 'accepted', 'Response and Assertion signed');
});

t.test('samlify as the IdP: Response-only and Response+Assertion signatures', async (t) => {
  const both = await samlifyResponse(idp, base(), { signResponse: true });
  t.equal(await problem(verifyIdpResponse(both, trusted, expect)), 'accepted');
  const sha1 = await samlifyResponse(idp, base(), { signResponse: false, sha1: true });
  const v = await verifyIdpResponse(sha1, trusted, expect);
  t.ok(v.sha1);
  t.match(await problem(verifyIdpResponse(sha1, { ...trusted, allowSha1: false }, expect)), /bad_assertion: signature algorithm .*rsa-sha1 is not accepted/, 'SHA-1 off for this IdP');
  const responseOnly = sign(unsignedResponse(base()), idp, { response: true, alg: 'sha256' });
  t.equal(await problem(verifyIdpResponse(b64(responseOnly), trusted, expect)), 'accepted', 'only the Response signed');
});

t.test('signatures: none, another key, a modified value', async (t) => {
  t.match(await problem(verifyIdpResponse(b64(unsignedResponse(base())), trusted, expect)), /neither the Response nor the Assertion is signed/);
  const foreign = sign(unsignedResponse(base()), other, { assertion: true });
  t.match(await problem(verifyIdpResponse(b64(foreign), trusted, expect)), /not valid for this IdP's keys/);
  const signed = sign(unsignedResponse(base({ personId: 'E1' })), idp, { assertion: true });
  const tampered = signed.replace('>E1<', '>E2<');
  t.match(await problem(verifyIdpResponse(b64(tampered), trusted, expect)), /not valid for this IdP's keys/);
  t.equal(await problem(verifyIdpResponse(b64(signed), { ...trusted, certificates: [other.certPem, idp.certPem] }, expect)), 'accepted', 'any key of a rollover');
});

t.test('signature wrapping (XSW) is refused', async (t) => {
  const signed = sign(unsignedResponse(base({ personId: 'E1' })), idp, { assertion: true });
  const doc = new DOMParser().parseFromString(signed, 'text/xml');
  const original = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Assertion')[0]!;
  const originalXml = original.toString();
  const evil = originalXml.replace('>E1<', '>EVIL<').replace(/ID="[^"]+"/, 'ID="_evil"').replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');

  // XSW: the signed assertion moved into Extensions, an unsigned evil one in its place.
  const xsw1 = signed.replace(originalXml, evil).replace('<samlp:Status>', `<samlp:Extensions>${originalXml}</samlp:Extensions><samlp:Status>`);
  t.match(await problem(verifyIdpResponse(b64(xsw1), trusted, expect)), /exactly one assertion/);

  // XSW: the evil assertion first, the signed one after it.
  const xsw2 = signed.replace(originalXml, evil + originalXml);
  t.match(await problem(verifyIdpResponse(b64(xsw2), trusted, expect)), /exactly one assertion/);

  // XSW: the signed assertion hidden inside the evil one's own signature Object.
  const evilWithSig = originalXml.replace('>E1<', '>EVIL<').replace('</ds:Signature>', `<ds:Object>${originalXml}</ds:Object></ds:Signature>`);
  const xsw3 = signed.replace(originalXml, evilWithSig);
  t.match(await problem(verifyIdpResponse(b64(xsw3), trusted, expect)), /exactly one assertion|not valid/);

  // The same ID twice: the signed element and an evil twin carrying the signature.
  const twin = originalXml.replace('>E1<', '>EVIL<');
  const xsw4 = signed.replace('<samlp:Status>', `<samlp:Extensions><x:y xmlns:x="urn:x" ID="${original.getAttribute('ID')}"/></samlp:Extensions><samlp:Status>`).replace(originalXml, twin);
  t.match(await problem(verifyIdpResponse(b64(xsw4), trusted, expect)), /not valid/);

  // Response signed, a second unsigned assertion added beside the signed content.
  const rsigned = sign(unsignedResponse(base()), idp, { response: true, alg: 'sha256' });
  const rdoc = new DOMParser().parseFromString(rsigned, 'text/xml');
  const ra = rdoc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Assertion')[0]!.toString();
  const xsw5 = rsigned.replace(ra, ra.replace('>E1<', '>EVIL<').replace(/ID="[^"]+"/, 'ID="_evil2"') + ra);
  t.match(await problem(verifyIdpResponse(b64(xsw5), trusted, expect)), /exactly one assertion/);

  // A signature whose Reference points elsewhere than its parent.
  const misplaced = signed.replace(/URI="#[^"]+"/, 'URI="#_elsewhere"');
  t.match(await problem(verifyIdpResponse(b64(misplaced), trusted, expect)), /does not cover the Assertion itself/);
});

t.test('time window, Destination, Recipient, InResponseTo, Audience, Issuer, status', async (t) => {
  const s = (o: Partial<ResponseOptions>) => b64(sign(unsignedResponse(base(o)), idp, { assertion: true }));
  t.match(await problem(verifyIdpResponse(s({ now: new Date(now.getTime() - 7200_000) }), trusted, expect)), /^expired_assertion/, 'expired');
  t.match(await problem(verifyIdpResponse(s({ notBefore: new Date(now.getTime() + 600_000) }), trusted, expect)), /^expired_assertion: the assertion is not valid yet/);
  t.equal(await problem(verifyIdpResponse(s({ notBefore: new Date(now.getTime() + 120_000) }), trusted, expect)), 'accepted', 'two minutes of skew');
  t.match(await problem(verifyIdpResponse(s({ destination: 'https://other.example/acs' }), trusted, expect)), /another Destination/);
  t.equal(await problem(verifyIdpResponse(s({ destination: null }), trusted, expect)), 'accepted', 'no Destination on an unsigned Response');
  t.match(await problem(verifyIdpResponse(s({ recipient: 'https://other.example/acs' }), trusted, expect)), /Recipient/);
  t.match(await problem(verifyIdpResponse(s({ inResponseTo: newId() }), trusted, expect)), /InResponseTo/);
  t.match(await problem(verifyIdpResponse(s({ audience: 'https://other.example/sp' }), trusted, expect)), /another audience/);
  t.match(await problem(verifyIdpResponse(s({ issuer: 'https://other.example/idp' }), trusted, expect)), /issued by another entity/);
  const failed = b64(unsignedResponse(base({ statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })));
  t.match(await problem(verifyIdpResponse(failed, trusted, expect)), /^idp_error: the IdP answered urn:oasis:names:tc:SAML:2.0:status:Responder/);
  const dtd = b64(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>${unsignedResponse(base())}`);
  t.match(await problem(verifyIdpResponse(dtd, trusted, expect)), /DOCTYPE/);
  t.match(await problem(verifyIdpResponse('not base64 !', trusted, expect)), /not base64/);
  t.match(await problem(verifyIdpResponse(b64('<a>'), trusted, expect)), /not well-formed/);
});
