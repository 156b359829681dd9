import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer, testConfig } from './helper.js';
import { sp, world } from './sso-world.js';
import { RES_P1, UAI_A } from './factories.js';
import { certBody, fixture } from './fixtures/sp/sp-fixtures.js';
import { samlifyVerify, xmlsecVerify, type VerifyJob } from './saml-verifiers.js';
import { testCertificate } from './keys.js';

// Findings 1–4 of the security review (issue 11): KeyDescriptor use, encryption keys, ACS namespace, depth.
const P1 = { sub: 'p1-admin', role: 'publisher', publisherId: 'P1' } as const;
const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const url = `/v1/resources/${encodeURIComponent(RES_P1)}`;

const keyDescriptor = (pem: string, use?: string) =>
  `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;

function metadata(inner: string, extensions = ''): string {
  return (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.test/metadata">' +
    '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    (extensions ? `<md:Extensions>${extensions}</md:Extensions>` : '') +
    inner +
    '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.test/acs" index="1"/>' +
    '</md:SPSSODescriptor></md:EntityDescriptor>'
  );
}

const put = (app: FastifyInstance, metadataXml: string) =>
  app.inject({ method: 'PUT', url, headers: bearer(app, P1), payload: { name: 'Maths 3e', typePresentation: 'MAN', sp: { metadataXml } } });

async function ssoXml(app: FastifyInstance) {
  const res = await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, ent), payload: { uai: UAI_A, personId: 'T1', resourceId: RES_P1 } });
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json().samlResponse as string;
}

function job(app: FastifyInstance, samlResponse: string, encrypted: boolean): VerifyJob {
  return {
    samlResponse,
    idpMetadata: app.idp.metadata(new Date()).xml,
    idpCert: testConfig().samlSigningCert,
    idpEntityId: app.idp.entityId,
    spEntityId: 'https://sp.test/metadata',
    acsUrl: 'https://sp.test/acs',
    spKey: sp.keyPem,
    spCert: sp.certPem,
    encrypted,
  };
}

t.test('a signing-only KeyDescriptor never encrypts; an encryption-only one does (samlify, xmlsec1)', async (t) => {
  const { app, database } = await buildTestApp(t, { now: new Date() });
  await world(database.db);

  const signingOnly = await put(app, metadata(keyDescriptor(sp.certPem, 'signing')));
  t.equal(signingOnly.statusCode, 200, signingOnly.body);
  t.notOk('encryptionCertificate' in signingOnly.json().sp, 'no encryption certificate stored');
  const read = await app.inject({ method: 'GET', url, headers: bearer(app, P1) });
  t.equal(read.json().sp.keyUse.assertions, 'signed, not encrypted');
  t.match(read.json().sp.keyUse.signing, { publicKey: 'RSA 2048', sha256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/ });
  t.notOk('encryption' in read.json().sp.keyUse);
  const plain = await ssoXml(app);
  const plainXml = Buffer.from(plain, 'base64').toString();
  t.notMatch(plainXml, /EncryptedAssertion/, 'the Assertion is not encrypted');
  t.match(await samlifyVerify(job(app, plain, false)), { valid: true }, 'samlify');
  t.match(await xmlsecVerify(plainXml, testConfig().samlSigningCert, false), { valid: true }, 'xmlsec1');

  const other = testCertificate('sp signing, separate');
  const encryptionOnly = await put(app, metadata(keyDescriptor(other.certPem, 'signing') + keyDescriptor(sp.certPem, 'encryption')));
  t.equal(encryptionOnly.statusCode, 200, encryptionOnly.body);
  t.equal(encryptionOnly.json().sp.keyUse.assertions, 'encrypted');
  t.not(encryptionOnly.json().sp.keyUse.encryption.sha256, encryptionOnly.json().sp.keyUse.signing.sha256, 'each use shows its own key');
  const sealed = await ssoXml(app);
  const sealedXml = Buffer.from(sealed, 'base64').toString();
  t.match(sealedXml, /<saml:EncryptedAssertion/, 'encrypted for the encryption key');
  t.match(await samlifyVerify(job(app, sealed, true)), { valid: true }, 'samlify decrypts with the encryption key');
  t.match(await xmlsecVerify(sealedXml, testConfig().samlSigningCert, true), { valid: true }, 'xmlsec1');

  const noUse = await put(app, metadata(keyDescriptor(sp.certPem)));
  t.equal(noUse.json().sp.keyUse.assertions, 'encrypted', 'a KeyDescriptor without use serves both');
});

t.test('encryption keys the broker cannot use are refused at registration, saying what is accepted', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  for (const name of ['ec-p256', 'rsa-512', 'rsa-1024']) {
    const pem = fixture(`${name}.crt`);
    const viaMetadata = await put(app, metadata(keyDescriptor(sp.certPem, 'signing') + keyDescriptor(pem, 'encryption')));
    t.equal(viaMetadata.statusCode, 400, `${name} in metadata`);
    t.match(viaMetadata.json().detail, /cannot be used for encryption.*accepted: an RSA key of 2048 bits or more/, name);
    const viaField = await app.inject({
      method: 'PUT',
      url,
      headers: bearer(app, P1),
      payload: { name: 'M', typePresentation: 'MAN', sp: { entityId: 'https://sp.test/metadata', acsUrl: 'https://sp.test/acs', encryptionCertificate: pem } },
    });
    t.equal(viaField.statusCode, 400, `${name} as a field`);
    t.match(viaField.json().errors, [{ path: 'body/sp/encryptionCertificate', message: /RSA key of 2048 bits/ }]);
  }
  // Offered without use, an EC key is a signing key: accepted, the Assertion is then not encrypted.
  const ecBoth = await put(app, metadata(keyDescriptor(fixture('ec-p256.crt'))));
  t.equal(ecBoth.statusCode, 200, ecBoth.body);
  t.equal(ecBoth.json().sp.keyUse.assertions, 'signed, not encrypted');
  t.match(ecBoth.json().warnings, [/used to check signatures only/]);
});

t.test('the ACS and keys are read only from md: elements directly inside the SPSSODescriptor', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const evil =
    '<evil:AssertionConsumerService xmlns:evil="urn:x" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://evil.test/acs" isDefault="true" index="0"/>';
  const hidden =
    '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://hidden.test/acs" isDefault="true" index="0"/>' +
    keyDescriptor(testCertificate('hidden').certPem, 'encryption');
  const res = await put(app, metadata(evil + keyDescriptor(sp.certPem, 'signing'), hidden));
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().sp.acsUrl, 'https://sp.test/acs', 'neither the foreign-namespace ACS nor one inside md:Extensions');
  t.notOk('encryptionCertificate' in res.json().sp, 'a KeyDescriptor inside md:Extensions is not a key of the SP');
});

t.test('deeply nested metadata is refused before parsing, quickly', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const n = 30_000;
  const nested = '<e>'.repeat(n) + '</e>'.repeat(n);
  const xml = metadata(keyDescriptor(sp.certPem, 'signing'), `<x:w xmlns:x="urn:x">${nested}</x:w>`);
  t.ok(Buffer.byteLength(xml) < 256 * 1024, 'under the size cap');
  const started = process.hrtime.bigint();
  const res = await put(app, xml);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.equal(res.statusCode, 400);
  t.match(res.json().detail, /deeper than 32 levels/);
  t.ok(ms < 300, `answered in ${ms.toFixed(0)} ms`);
  // A comment or an attribute value holding '<' or '/>' does not fool the count.
  const tricky = metadata(keyDescriptor(sp.certPem, 'signing'), `<!-- <a><a><a> --><x:w xmlns:x="urn:x" v="/>"><x:y/></x:w>`);
  t.equal((await put(app, tricky)).statusCode, 200);
});
