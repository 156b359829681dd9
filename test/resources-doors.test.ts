import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer, operator } from './helper.js';
import { clientSecretOf } from '../src/doors/oidc/oidc.clients.js';

const PUB_A = { sub: 'alice@a', role: 'publisher', publisherId: 'PA' } as const;
const PUB_B = { sub: 'bob@b', role: 'publisher', publisherId: 'PB' } as const;
const enc = encodeURIComponent;

async function onboard(app: FastifyInstance) {
  for (const id of [PUB_A.publisherId, PUB_B.publisherId]) {
    const res = await app.inject({ method: 'POST', url: '/v1/publishers', headers: bearer(app, operator), payload: { id, name: id, contactEmail: 'c@example.test' } });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
}
const post = (app: FastifyInstance, caller: Record<string, unknown>, payload: object) =>
  app.inject({ method: 'POST', url: '/v1/resources', headers: bearer(app, caller), payload });
const resource = (id: string, doors: object) => ({ id, name: 'R', typePresentation: 'MAN', ...doors });

t.test('a resource reached by CAS only, or OpenID only; at least one door', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const cas = await post(app, PUB_A, resource('ark:/12345/cas', { cas: { serviceUrls: ['https://app.a.test/cas/*', 'https://app.a.test/login'] } }));
  t.equal(cas.statusCode, 201, cas.body);
  t.notOk('sp' in cas.json(), 'no SAML SP');
  t.same(cas.json().cas, { serviceUrls: ['https://app.a.test/cas/*', 'https://app.a.test/login'], backChannelLogout: true });
  const read = await app.inject({ url: `/v1/resources/${enc('ark:/12345/cas')}`, headers: bearer(app, PUB_A) });
  t.same(read.json().cas, { serviceUrls: ['https://app.a.test/cas/*', 'https://app.a.test/login'], backChannelLogout: true }, 'read back');

  const o = await post(app, PUB_A, resource('ark:/12345/oidc', { oidc: { redirectUris: ['https://app.a.test/cb'] } }));
  t.equal(o.statusCode, 201, o.body);
  const { clientId, clientSecret, redirectUris, tokenEndpointAuthMethod } = o.json().oidc;
  t.match(clientId, /^gar-/);
  t.same(redirectUris, ['https://app.a.test/cb']);
  t.equal(tokenEndpointAuthMethod, 'client_secret_basic');
  t.ok(clientSecret && clientSecret.length >= 40, 'the secret, once');
  const readO = await app.inject({ url: `/v1/resources/${enc('ark:/12345/oidc')}`, headers: bearer(app, PUB_A) });
  t.notOk('clientSecret' in readO.json().oidc, 'never shown again');
  const row = await app.db.selectFrom('oidc_clients').selectAll().executeTakeFirstOrThrow();
  t.not(row.secret_salt, clientSecret, 'the secret is not stored');
  t.equal(clientSecretOf(app.config.idoSecret, clientId, row.secret_salt!), clientSecret);

  const rotated = await app.inject({ method: 'POST', url: `/v1/resources/${enc('ark:/12345/oidc')}/oidc/secret`, headers: bearer(app, PUB_A) });
  t.equal(rotated.statusCode, 200, rotated.body);
  t.not(rotated.json().clientSecret, clientSecret, 'rotation gives a new secret');
  t.equal(rotated.json().clientId, clientId, 'same client');
  const foreignRotate = await app.inject({ method: 'POST', url: `/v1/resources/${enc('ark:/12345/oidc')}/oidc/secret`, headers: bearer(app, PUB_B) });
  t.equal(foreignRotate.statusCode, 404, 'another publisher’s resource');
  const noClient = await app.inject({ method: 'POST', url: `/v1/resources/${enc('ark:/12345/cas')}/oidc/secret`, headers: bearer(app, PUB_A) });
  t.equal(noClient.statusCode, 404);

  const pub = await post(app, PUB_A, resource('ark:/12345/spa', { oidc: { redirectUris: ['http://localhost:3000/cb'], tokenEndpointAuthMethod: 'none' } }));
  t.equal(pub.statusCode, 201, pub.body);
  t.notOk('clientSecret' in pub.json().oidc, 'a public client has no secret');

  const none = await post(app, PUB_A, resource('ark:/12345/none', {}));
  t.equal(none.statusCode, 400);
  t.match(none.json().detail, /at least one of sp, cas, oidc/);

  const put = await app.inject({
    method: 'PUT',
    url: `/v1/resources/${enc('ark:/12345/cas')}`,
    headers: bearer(app, PUB_A),
    payload: { name: 'R', typePresentation: 'MAN', oidc: { redirectUris: ['https://app.a.test/cb2'] } },
  });
  t.equal(put.statusCode, 200, put.body);
  t.notOk('cas' in put.json(), 'PUT replaces: CAS gone');
  t.equal(await app.db.selectFrom('cas_services').selectAll().where('resource_id', '=', 'ark:/12345/cas').execute().then((r) => r.length), 0);
});

t.test('CAS service URLs: no open pattern, https, one resource per URL', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const bad = await post(app, PUB_A, resource('ark:/12345/bad', {
    cas: { serviceUrls: ['https://app.a.test*', 'http://app.a.test/cas', 'https://*.a.test/', 'https://u:p@app.a.test/', 'not a url', 'https://app.a.test/x#f'] },
  }));
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors.length, 6, bad.body);
  const ok = await post(app, PUB_A, resource('ark:/12345/a', { cas: { serviceUrls: ['https://app.a.test/cas/*', 'http://localhost:8080/app'] } }));
  t.equal(ok.statusCode, 201, ok.body);
  for (const url of ['https://app.a.test/cas/sub/*', 'https://app.a.test/*', 'https://app.a.test/cas/page']) {
    const clash = await post(app, PUB_B, resource('ark:/67890/b', { cas: { serviceUrls: [url] } }));
    t.equal(clash.statusCode, 409, `overlaps: ${url}`);
  }
  const beside = await post(app, PUB_B, resource('ark:/67890/b', { cas: { serviceUrls: ['https://app.a.test/other/*'] } }));
  t.equal(beside.statusCode, 201, 'beside it, not overlapping');
});

t.test('OpenID registration: redirect URIs exact and https; private_key_jwt needs keys', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const bad = await post(app, PUB_A, resource('ark:/12345/o', { oidc: { redirectUris: ['http://app.a.test/cb', 'https://app.a.test/cb#x'] } }));
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors.length, 2, bad.body);
  const noKeys = await post(app, PUB_A, resource('ark:/12345/o', { oidc: { redirectUris: ['https://app.a.test/cb'], tokenEndpointAuthMethod: 'private_key_jwt' } }));
  t.equal(noKeys.statusCode, 400);
  const withUri = await post(app, PUB_A, resource('ark:/12345/o', { oidc: { redirectUris: ['https://app.a.test/cb'], tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.a.test/jwks' } }));
  t.equal(withUri.statusCode, 201, withUri.body);
  t.notOk('clientSecret' in withUri.json().oidc);
});
