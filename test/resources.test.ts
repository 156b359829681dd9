import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer, operator, ministry } from './helper.js';
import { testCertificate } from './keys.js';
import { certBody, fixture, spMetadata } from './fixtures/sp/sp-fixtures.js';

const PUB_A = { sub: 'alice@editions-exemple', role: 'publisher', publisherId: 'editions-exemple' } as const;
const PUB_B = { sub: 'bob@autre-editeur', role: 'publisher', publisherId: '123456789_0000000000000001' } as const;
const ARK = 'ark:/12345/maths-3e';
const enc = encodeURIComponent;

async function onboard(app: FastifyInstance) {
  for (const [id, name] of [
    [PUB_A.publisherId, 'Éditions Exemple'],
    [PUB_B.publisherId, 'Autre Éditeur'],
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/publishers',
      headers: bearer(app, operator),
      payload: { id, name, contactEmail: 'contact@example.test' },
    });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
}

const post = (app: FastifyInstance, caller: Record<string, unknown>, payload: object) =>
  app.inject({ method: 'POST', url: '/v1/resources', headers: bearer(app, caller), payload });

const resource = (sp: object, id = ARK) => ({ id, name: 'Maths 3e', typePresentation: 'MAN', sp });

t.test('a resource is imported from real-looking SP metadata', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const signing = testCertificate('sp signing');
  const encryption = testCertificate('sp encryption');
  const xml = spMetadata({ signingCert: signing.certPem, encryptionCert: encryption.certPem });
  const res = await post(app, PUB_A, {
    ...resource({ metadataXml: xml }),
    description: 'Manuel numérique',
    urlVignette: 'https://maths.editions-exemple.test/vignette.png',
    urlAccesRessource: 'https://maths.editions-exemple.test/',
  });
  t.equal(res.statusCode, 201, res.body);
  const body = res.json();
  t.equal(body.id, ARK);
  t.equal(body.publisherId, PUB_A.publisherId);
  t.equal(body.sp.entityId, 'https://maths.editions-exemple.test/shibboleth');
  t.equal(body.sp.acsUrl, 'https://maths.editions-exemple.test/Shibboleth.sso/SAML2/POST', 'the default HTTP-POST ACS');
  t.equal(certBody(body.sp.signingCertificate), certBody(signing.certPem), 'signing KeyDescriptor');
  t.equal(certBody(body.sp.encryptionCertificate), certBody(encryption.certPem), 'encryption KeyDescriptor');
  t.match(body.sp.signingCertificate, /^-----BEGIN CERTIFICATE-----\n/, 'stored as PEM');
  t.equal(body.sp.fromMetadata, true);
  t.same(body.sp.requestedAttributes, ['IDO', 'UAI', 'PRO', 'DIV', 'GRO', 'P_MEL'], 'names, friendly names and URN suffixes mapped to codes');
  t.equal(body.warnings.length, 1);
  t.match(body.warnings[0], /DateNaissance.*never be released/);
  t.equal(body.urlVignette, 'https://maths.editions-exemple.test/vignette.png');

  const read = await app.inject({ method: 'GET', url: `/v1/resources/${enc(ARK)}`, headers: bearer(app, PUB_A) });
  t.equal(read.statusCode, 200);
  const { warnings: _w, ...stored } = body;
  t.same(read.json(), stored, 'what was written is what is read');
});

t.test('the SP may be given as fields; http is accepted for localhost only', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const cert = testCertificate('local sp');
  const ok = await post(app, PUB_A, resource({ entityId: 'http://localhost:8080/sp', acsUrl: 'http://localhost:8080/acs', signingCertificate: cert.certPem }));
  t.equal(ok.statusCode, 201, ok.body);
  t.equal(ok.json().sp.fromMetadata, false);
  t.same(ok.json().sp.requestedAttributes, []);
  t.notOk('encryptionCertificate' in ok.json().sp);

  const remoteHttp = await post(app, PUB_A, resource({ entityId: 'https://sp.test/x', acsUrl: 'http://sp.test/acs' }, 'ark:/12345/other'));
  t.equal(remoteHttp.statusCode, 400);
  t.match(remoteHttp.json().errors, [{ path: 'body/sp/acsUrl', message: /https/ }]);
});

t.test('bad metadata is refused with a clear problem and nothing is stored', async (t) => {
  const { app, clock } = await buildTestApp(t);
  await onboard(app);
  const expired = testCertificate('expired', 365, new Date(clock.now.getTime() - 2 * 365 * 86_400_000));
  const cases: Array<[string, string, RegExp]> = [
    ['broken XML', fixture('broken.xml'), /not well-formed/],
    ['not XML at all', 'this is not metadata', /not well-formed|root element/],
    ['expired signing certificate', spMetadata({ signingCert: expired.certPem }), /signing KeyDescriptor.*expired on/],
    ['http ACS', spMetadata({ acsUrl: 'http://maths.editions-exemple.test/acs' }), /AssertionConsumerService.*https/],
    ['entity expansion (billion laughs)', fixture('billion-laughs.xml'), /DOCTYPE or ENTITY/],
    ['external entity', fixture('external-entity.xml'), /DOCTYPE or ENTITY/],
    [
      'IdP metadata instead of SP metadata',
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.test"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>',
      /no SPSSODescriptor/,
    ],
    ['a foreign root element', '<html><body>metadata</body></html>', /root element must be an md:EntityDescriptor/],
    ['no HTTP-POST ACS', spMetadata().replace(/bindings:HTTP-POST/g, 'bindings:HTTP-Redirect'), /no HTTP-POST AssertionConsumerService/],
  ];
  for (const [what, xml, detail] of cases) {
    const res = await post(app, PUB_A, resource({ metadataXml: xml }));
    t.equal(res.statusCode, 400, what);
    t.match(res.headers['content-type'], 'application/problem+json', what);
    t.match(res.json().detail, detail, what);
    t.ok(res.json().errors.every((e: { path: string }) => e.path.startsWith('body/sp/metadataXml')), `${what}: names the field`);
  }
  const huge = spMetadata().replace('<md:Organization>', `<!-- ${'x'.repeat(300 * 1024)} --><md:Organization>`);
  const tooBig = await post(app, PUB_A, resource({ metadataXml: huge }));
  t.equal(tooBig.statusCode, 400, 'over 256 KiB');
  t.match(tooBig.json().errors, [{ path: 'body/sp/metadataXml' }]);

  const expiredField = await post(app, PUB_A, resource({ entityId: 'https://sp.test/e', acsUrl: 'https://sp.test/acs', encryptionCertificate: expired.certPem }));
  t.equal(expiredField.statusCode, 400);
  t.match(expiredField.json().errors, [{ path: 'body/sp/encryptionCertificate', message: /expired/ }]);
  const garbage = await post(app, PUB_A, resource({ entityId: 'https://sp.test/e', acsUrl: 'https://sp.test/acs', signingCertificate: 'MIIBnotacert' }));
  t.equal(garbage.statusCode, 400);
  t.match(garbage.json().errors, [{ path: 'body/sp/signingCertificate', message: /does not parse/ }]);

  const list = await app.inject({ method: 'GET', url: '/v1/resources', headers: bearer(app, PUB_A) });
  t.same(list.json(), { items: [] }, 'nothing was stored');
});

t.test('ids are ARKs; an id or entityID already used is a 409', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const bad = await post(app, PUB_A, resource({ metadataXml: spMetadata() }, 'maths-3e'));
  t.equal(bad.statusCode, 400);
  t.match(bad.json().errors, [{ path: 'body/id' }]);

  t.equal((await post(app, PUB_A, resource({ metadataXml: spMetadata() }))).statusCode, 201);
  const sameId = await post(app, PUB_B, resource({ entityId: 'https://b.test/sp', acsUrl: 'https://b.test/acs' }));
  t.equal(sameId.statusCode, 409);
  t.match(sameId.json().detail, /resource id .* is not available/, "does not say whose (issue 11, item 10)");
  const ownAgain = await post(app, PUB_A, resource({ entityId: 'https://a2.test/sp', acsUrl: 'https://a2.test/acs' }));
  t.same({ ...ownAgain.json(), requestId: 0 }, { ...sameId.json(), requestId: 0 }, 'the same answer for your own id and another publisher\'s');
  const sameEntity = await post(app, PUB_B, resource({ metadataXml: spMetadata() }, 'ark:/67890/histoire'));
  t.equal(sameEntity.statusCode, 409);
  t.match(sameEntity.json().detail, /entityID .* is not available/);

  const unknownPublisher = await post(app, { sub: 'x', role: 'publisher', publisherId: 'not-onboarded' }, resource({ entityId: 'https://c.test/sp', acsUrl: 'https://c.test/acs' }, 'ark:/11111/c'));
  t.equal(unknownPublisher.statusCode, 403);
  t.match(unknownPublisher.json().detail, /not registered/);
});

t.test("a publisher sees and changes only its own resources; ministry and operator read them all", async (t) => {
  const { app, clock } = await buildTestApp(t);
  await onboard(app);
  t.equal((await post(app, PUB_A, resource({ metadataXml: spMetadata() }))).statusCode, 201);
  const b = await post(app, PUB_B, resource({ entityId: 'https://b.test/sp', acsUrl: 'https://b.test/acs' }, 'ark:/67890/histoire'));
  t.equal(b.statusCode, 201);

  const url = `/v1/resources/${enc(ARK)}`;
  const other = await app.inject({ method: 'GET', url, headers: bearer(app, PUB_B) });
  t.equal(other.statusCode, 404, "another publisher's resource does not exist for B");
  t.match(other.json().detail, /resource "ark:\/12345\/maths-3e" not found/);
  const put = await app.inject({ method: 'PUT', url, headers: bearer(app, PUB_B), payload: { name: 'stolen', typePresentation: 'MAN', sp: { entityId: 'https://b.test/x', acsUrl: 'https://b.test/acs' } } });
  t.equal(put.statusCode, 404);

  const listB = await app.inject({ method: 'GET', url: '/v1/resources', headers: bearer(app, PUB_B) });
  t.same(listB.json().items.map((r: { id: string }) => r.id), ['ark:/67890/histoire']);
  const spy = await app.inject({ method: 'GET', url: `/v1/resources?publisherId=${PUB_A.publisherId}`, headers: bearer(app, PUB_B) });
  t.equal(spy.statusCode, 403);

  for (const reader of [ministry, operator]) {
    t.equal((await app.inject({ method: 'GET', url, headers: bearer(app, reader) })).statusCode, 200, reader.role);
    const all = await app.inject({ method: 'GET', url: '/v1/resources?limit=1', headers: bearer(app, reader) });
    t.equal(all.json().items.length, 1);
    t.ok(all.json().next, 'paged');
    const rest = await app.inject({ method: 'GET', url: `/v1/resources?limit=1&after=${enc(all.json().next)}`, headers: bearer(app, reader) });
    t.equal(rest.json().items.length, 1);
    t.not(rest.json().items[0].id, all.json().items[0].id);
    const onlyA = await app.inject({ method: 'GET', url: `/v1/resources?publisherId=${PUB_A.publisherId}`, headers: bearer(app, reader) });
    t.same(onlyA.json().items.map((r: { id: string }) => r.id), [ARK]);
  }
  t.equal((await app.inject({ method: 'PUT', url, headers: bearer(app, ministry), payload: {} })).statusCode, 403, 'the ministry does not write');
  t.equal((await app.inject({ method: 'GET', url, headers: bearer(app, { sub: 'e', role: 'ent', entId: 'Z0' }) })).statusCode, 403);

  clock.advance(60_000);
  const cert = testCertificate('new');
  const update = await app.inject({
    method: 'PUT',
    url,
    headers: bearer(app, PUB_A),
    payload: { name: 'Maths 3e (2027)', typePresentation: 'MAN', sp: { entityId: 'https://maths.editions-exemple.test/v2', acsUrl: 'https://maths.editions-exemple.test/acs2', signingCertificate: certBody(cert.certPem) } },
  });
  t.equal(update.statusCode, 200, update.body);
  t.equal(update.json().name, 'Maths 3e (2027)');
  t.equal(update.json().sp.entityId, 'https://maths.editions-exemple.test/v2');
  t.equal(update.json().sp.fromMetadata, false);
  t.equal(update.json().updatedAt, clock.now.toISOString());
  t.not(update.json().createdAt, update.json().updatedAt);
  const taken = await app.inject({
    method: 'PUT',
    url,
    headers: bearer(app, PUB_A),
    payload: { name: 'x', typePresentation: 'MAN', sp: { entityId: 'https://b.test/sp', acsUrl: 'https://maths.editions-exemple.test/acs2' } },
  });
  t.equal(taken.statusCode, 409, "another resource's entityID");
  const missing = await app.inject({ method: 'GET', url: `/v1/resources/${enc('ark:/12345/nothing')}`, headers: bearer(app, PUB_A) });
  t.equal(missing.statusCode, 404);
});

t.test('the attribute dictionary is readable by every role and holds no birth data', async (t) => {
  const { app } = await buildTestApp(t);
  const callers = [operator, ministry, PUB_A, { sub: 'e', role: 'ent', entId: 'Z0' }, { sub: 'h', role: 'establishment', uais: ['0650001Y'] }];
  for (const caller of callers) {
    const res = await app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, caller) });
    t.equal(res.statusCode, 200, caller.role);
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/attributes' })).statusCode, 401);
  const { items } = (await app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, PUB_A) })).json();
  t.same(items.filter((a: { alwaysSent: boolean }) => a.alwaysSent).map((a: { code: string }) => a.code), ['IDO']);
  const codes = items.map((a: { code: string }) => a.code);
  t.same(codes.sort(), ['CIV', 'DIV', 'E_MS', 'E_MS4', 'GRO', 'IDC', 'IDO', 'LRA', 'MEF', 'NOM', 'PRE', 'PRO', 'P_MEL', 'P_MS', 'P_MS4', 'UAI', 'idENT'].sort());
  t.notOk(items.some((a: { code: string; label: string }) => /naiss|birth|patro|autres/i.test(`${a.code} ${a.label}`)));
  const pMel = items.find((a: { code: string }) => a.code === 'P_MEL');
  t.notOk(pMel.profiles.includes('National_elv'), 'P_MEL is never sent for pupils');
  t.ok(pMel.profiles.includes('National_ens'));
  t.equal(items.find((a: { code: string }) => a.code === 'CIV').origin, 'ours');
  t.equal(items.find((a: { code: string }) => a.code === 'DIV').multiValued, true);
});
