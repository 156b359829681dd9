import t from 'tap';
import { bearer, buildTestApp, operator } from './helper.js';
import { insertEntProject } from './factories.js';
import { newTestIdp } from './idps/ent-idp.js';
import { pemBody } from '../src/saml/keys.js';

/* PUT|GET /v1/ent-projects/{entId}/idp: metadata or fields, hardened like SP metadata, shared IdPs. */

const idp = newTestIdp('ent');
const metadata = (entityAttr = 'entityID', body = '') =>
  `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ${entityAttr}="${idp.entityId}">` +
  `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
  `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${pemBody(idp.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
  `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>` +
  `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${idp.ssoUrl}"/>${body}` +
  `</md:IDPSSODescriptor></md:EntityDescriptor>`;

t.test('register from metadata, from fields, read back, shared by two projects', async (t) => {
  const { app, database } = await buildTestApp(t);
  await insertEntProject(database.db, 'Z0');
  await insertEntProject(database.db, 'Z1');
  const h = bearer(app, operator);

  const created = await app.inject({ method: 'PUT', url: '/v1/ent-projects/Z0/idp', headers: h, payload: { metadataXml: metadata() } });
  t.equal(created.statusCode, 201, created.body);
  t.match(created.json(), { entId: 'Z0', entityId: idp.entityId, ssoUrl: idp.ssoUrl, fromMetadata: true, allowSha1: true, attributeNames: { entId: 'idEnt', personId: 'GARPersonIdentifiant' }, sharedWith: [] });
  t.match(created.json().signingCertificates[0], /BEGIN CERTIFICATE/);

  // laclasse writes a non-standard `entityId` attribute.
  const shared = await app.inject({
    method: 'PUT',
    url: '/v1/ent-projects/Z1/idp',
    headers: h,
    payload: { metadataXml: metadata('entityId'), attributeNames: { entId: 'codeProjet', personId: 'uid' }, allowSha1: false },
  });
  t.equal(shared.statusCode, 201, shared.body);
  t.same(shared.json().sharedWith, ['Z0'], 'two projects, one IdP');
  t.match(shared.json(), { attributeNames: { entId: 'codeProjet', personId: 'uid' }, allowSha1: false });

  const fields = await app.inject({
    method: 'PUT',
    url: '/v1/ent-projects/Z0/idp',
    headers: h,
    payload: { entityId: idp.entityId, ssoUrl: 'https://ent.example/other/sso', signingCertificates: [pemBody(idp.certPem)] },
  });
  t.equal(fields.statusCode, 200, 'replaced');
  t.match(fields.json(), { fromMetadata: false, ssoUrl: 'https://ent.example/other/sso', sharedWith: ['Z1'] });

  const read = await app.inject({ method: 'GET', url: '/v1/ent-projects/Z0/idp', headers: h });
  t.equal(read.statusCode, 200);
  t.equal(read.json().ssoUrl, 'https://ent.example/other/sso');
  t.equal((await app.inject({ method: 'GET', url: '/v1/ent-projects/Z9/idp', headers: h })).statusCode, 404);
  t.equal((await app.inject({ method: 'PUT', url: '/v1/ent-projects/Z9/idp', headers: h, payload: { metadataXml: metadata() } })).statusCode, 404);
});

t.test('bad IdP registrations are 400s that say why', async (t) => {
  const { app, database } = await buildTestApp(t);
  await insertEntProject(database.db, 'Z0');
  const h = bearer(app, operator);
  const put = (payload: object) => app.inject({ method: 'PUT', url: '/v1/ent-projects/Z0/idp', headers: h, payload });
  const cases: Array<[object, RegExp]> = [
    [{ metadataXml: `<!DOCTYPE x [<!ENTITY a "b">]>${metadata()}` }, /DOCTYPE/],
    [{ metadataXml: '<md:EntityDescriptor' }, /not well-formed/],
    [{ metadataXml: metadata().replace(/HTTP-Redirect/, 'HTTP-POST') }, /no HTTP-Redirect SingleSignOnService/],
    [{ metadataXml: metadata().replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, '') }, /no valid signing certificate/],
    [{ entityId: idp.entityId, ssoUrl: 'http://ent.example/sso', signingCertificates: [pemBody(idp.certPem)] }, /https/],
    [{ entityId: idp.entityId, ssoUrl: idp.ssoUrl, signingCertificates: ['not a cert'] }, /certificate/],
    [{ entityId: idp.entityId, ssoUrl: idp.ssoUrl, signingCertificates: [] }, /.+/],
  ];
  for (const [payload, why] of cases) {
    const r = await put(payload);
    t.equal(r.statusCode, 400, JSON.stringify(payload).slice(0, 80));
    t.match(r.json().detail, why);
  }
});
