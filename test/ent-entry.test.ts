import t from 'tap';
import { createPublicKey, createSign, verify } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { buildApp } from '../src/app.js';
import type { Database } from '../src/db/database.js';
import { buildTestApp, testConfig } from './helper.js';
import { world, approve } from './sso-world.js';
import { RES_P1, RES_P2, UAI_A, UAI_OTHER_ENT, insertPerson, insertResource, insertSubscription, insertAssignment } from './factories.js';
import { b64, newId, newTestIdp, pysaml2Response, sign, unsignedResponse, type ResponseOptions, type TestIdp } from './idps/ent-idp.js';

/*
 * The ENT door through HTTP: /domaineGar → signed AuthnRequest → the ENT IdP's Response → ACS →
 * decision (app.access) → redirect to the resource or posted Response; refusals as pages.
 */

const SP_ENTITY = 'https://broker.test/saml/sp/metadata';
const ACS = 'https://broker.test/saml/sp/acs';
const RES_URL = 'https://maths.p1.example/entree';
const b64s = (s: string) => Buffer.from(s).toString('base64');
const link = (o: { ent?: string; uai?: string | null; res?: string } = {}) =>
  `/domaineGar?idENT=${b64s(o.ent ?? 'Z0')}${o.uai === null ? '' : `&idEtab=${b64s(o.uai ?? UAI_A)}`}&idRessource=${encodeURIComponent(o.res ?? RES_P1)}`;

async function registerIdp(db: Kysely<Database>, entId: string, idp: TestIdp, allowSha1 = true) {
  await db
    .insertInto('ent_idps')
    .values({ ent_id: entId, entity_id: idp.entityId, sso_url: idp.ssoUrl, sso_binding: 'HTTP-Redirect', signing_certificates: [idp.certPem], metadata_xml: null, allow_sha1: allowSha1 })
    .execute();
}

/** The world of sso-world.ts, an IdP for Z0, and RES_P1 with its landing page (redirect mode). */
async function setup(t: Parameters<typeof buildTestApp>[0], now = new Date('2026-11-25T09:00:00Z')) {
  const ctx = await buildTestApp(t, { now });
  const db = ctx.database.db;
  await world(db);
  const idp = newTestIdp('ent');
  await registerIdp(db, 'Z0', idp);
  await db.updateTable('resources').set({ resource_url: RES_URL }).where('id', '=', RES_P1).execute();
  return { ...ctx, db, idp };
}

function fromLocation(res: LightMyRequestResponse) {
  const location = String(res.headers.location);
  const q = new URL(location).searchParams;
  const xml = inflateRawSync(Buffer.from(q.get('SAMLRequest')!, 'base64')).toString();
  return { location, q, xml, requestId: /ID="([^"]+)"/.exec(xml)![1]!, relayState: q.get('RelayState')! };
}

const answer = (app: FastifyInstance, samlResponse: string, relayState: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/saml/sp/acs',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(),
  });

const entResponse = (idp: TestIdp, requestId: string, now: Date, o: Partial<ResponseOptions> = {}) =>
  b64(sign(unsignedResponse({ requestId, acsUrl: ACS, spEntityId: SP_ENTITY, now, idEnt: 'Z0', personId: 'E1', issuer: idp.entityId, ...o }), idp, { assertion: true, alg: 'sha1' }));

const cookieOf = (res: LightMyRequestResponse) => {
  const c = [res.headers['set-cookie']].flat().find((x) => x?.startsWith('gar_session='));
  return c?.split(';')[0];
};

t.test('entry link → signed AuthnRequest → ENT Response → decision → redirect to the resource; the session serves a second resource', async (t) => {
  const { app, db, idp, clock } = await setup(t);
  // A second resource of P1, assigned to E1 directly.
  const RES2 = 'ark:/12345/histoire-3e';
  await insertResource(db, { id: RES2, publisherId: 'P1', name: 'Histoire 3e' });
  await db.updateTable('resources').set({ resource_url: 'https://histoire.p1.example/' }).where('id', '=', RES2).execute();
  const e1 = (await db.selectFrom('people').select('id').where('person_id', '=', 'E1').executeTakeFirstOrThrow()).id;
  const sub = await insertSubscription(db, { id: 'ABO-H', publisherId: 'P1', resourceId: RES2, uai: UAI_A });
  await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'person', personId: e1 });
  await approve(db, RES2, ['UAI']);

  const entry = await app.inject({ method: 'GET', url: link() });
  t.equal(entry.statusCode, 302);
  const req = fromLocation(entry);
  t.ok(req.location.startsWith(`${idp.ssoUrl}?SAMLRequest=`), 'to the project’s IdP');
  t.notMatch(req.xml, /ForceAuthn="true"/, 'ForceAuthn off');
  t.match(req.xml, `AssertionConsumerServiceURL="${ACS}"`);
  t.equal(req.q.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  const signed = req.location.slice(req.location.indexOf('SAMLRequest='), req.location.indexOf('&Signature='));
  t.ok(verify('sha256', Buffer.from(signed), createPublicKey(app.idp.keys.key), Buffer.from(req.q.get('Signature')!, 'base64')), 'the redirect signature verifies');
  t.ok(await db.selectFrom('entry_requests').select('id').where('id', '=', req.relayState).executeTakeFirst(), 'the request is kept server-side');

  const acs = await answer(app, entResponse(idp, req.requestId, clock.now), req.relayState);
  t.equal(acs.statusCode, 303, acs.body.slice(0, 300));
  t.equal(acs.headers.location, RES_URL);
  const cookie = cookieOf(acs);
  t.ok(cookie, 'a broker session starts');
  t.match(String([acs.headers['set-cookie']].flat().find((c) => c?.startsWith('gar_session='))), /HttpOnly/);
  const log = await db.selectFrom('access_log').selectAll().execute();
  t.equal(log.length, 1);
  t.match(log[0], { outcome: 'granted', door: 'entry_link', uai: UAI_A, resource_id: RES_P1, attributes: [] });
  t.notOk(await db.selectFrom('entry_requests').select('id').where('id', '=', req.relayState).executeTakeFirst(), 'the request is consumed');

  const second = await app.inject({ method: 'GET', url: link({ res: RES2 }), headers: { cookie: cookie! } });
  t.equal(second.statusCode, 302);
  t.equal(second.headers.location, 'https://histoire.p1.example/', 'no new AuthnRequest');
  t.equal((await db.selectFrom('access_log').select('id').execute()).length, 2);

  // Replay of the same POST: the kept request is gone.
  const again = await answer(app, entResponse(idp, req.requestId, clock.now), req.relayState);
  t.equal(again.statusCode, 400);
  t.match(again.body, /Lien expiré/);
});

t.test('pysaml2 as the ENT IdP (assertion-only RSA-SHA1, Audience = ACS, transient NameID)', async (t) => {
  const now = new Date();
  const { app, db, idp } = await setup(t, now);
  // pysaml2 signs with the real clock: subscriptions around it.
  await db.updateTable('subscriptions').set({ starts_at: new Date(now.getTime() - 86_400_000), ends_at: new Date(now.getTime() + 300 * 86_400_000) }).execute();
  const spMetadata = (await app.inject({ method: 'GET', url: '/saml/sp/metadata' })).body;
  const entry = await app.inject({ method: 'GET', url: link({ uai: null }) });
  t.equal(entry.statusCode, 302);
  const out = pysaml2Response(idp, { spMetadata, location: String(entry.headers.location), idEnt: 'Z0', personId: 'E1' });
  t.match(Buffer.from(out.SAMLResponse, 'base64').toString(), `<ns1:Audience>${ACS}</ns1:Audience>`);
  const acs = await answer(app, out.SAMLResponse, out.RelayState);
  t.equal(acs.statusCode, 303, acs.body.slice(0, 400));
  t.equal(acs.headers.location, RES_URL);
  const metrics = await app.metrics.registry.getSingleMetricAsString('gar_broker_ent_idp_sha1_total');
  t.match(metrics, /gar_broker_ent_idp_sha1_total\{ent_id="Z0"\} 1/, 'SHA-1 counted');
});

t.test('ssoMode unsolicited: the broker posts a signed Response to the publisher’s ACS', async (t) => {
  const { app, db, idp, clock } = await setup(t);
  await db.updateTable('resources').set({ sso_mode: 'unsolicited' }).where('id', '=', RES_P1).execute();
  const req = fromLocation(await app.inject({ method: 'GET', url: link() }));
  const acs = await answer(app, entResponse(idp, req.requestId, clock.now), req.relayState);
  t.equal(acs.statusCode, 200);
  t.match(acs.headers['content-type'], /text\/html/);
  t.match(acs.body, /<form method="post" action="https:\/\/sp.test\/acs">/);
  const response = Buffer.from(/name="SAMLResponse" value="([^"]+)"/.exec(acs.body)![1]!, 'base64').toString();
  t.match(response, /<saml:Attribute Name="IDO"/);
  const row = await db.selectFrom('access_log').selectAll().executeTakeFirstOrThrow();
  t.match(row, { outcome: 'granted', door: 'entry_link' });
  t.ok(row.attributes.includes('IDO') && row.response_id, 'released names and the response id are logged');
});

t.test('the session is shared by two app instances on one database', async (t) => {
  const { app, db, idp, clock, database } = await setup(t);
  const other = await buildApp(testConfig(), { database, clock: () => clock.now });
  t.teardown(() => other.close());
  const req = fromLocation(await app.inject({ method: 'GET', url: link() }));
  const acs = await answer(app, entResponse(idp, req.requestId, clock.now), req.relayState);
  const cookie = cookieOf(acs)!;
  const onOther = await other.inject({ method: 'GET', url: link(), headers: { cookie } });
  t.equal(onOther.statusCode, 302);
  t.equal(onOther.headers.location, RES_URL, 'the other instance knows the session');
  t.equal((await db.selectFrom('access_log').select('id').execute()).length, 2);
});

t.test('refused assertions: unsigned, wrong key, wrapped, expired, wrong Destination, InResponseTo, idEnt, replayed', async (t) => {
  const { app, db, idp, clock } = await setup(t);
  const z1Idp = idp; // Z1 shares the IdP: idEnt must still name the link's project.
  await registerIdp(db, 'Z1', z1Idp);
  const evil = newTestIdp('evil');
  const cases: Array<[string, (requestId: string) => string, RegExp, number]> = [
    ['unsigned', (id) => b64(unsignedResponse({ requestId: id, acsUrl: ACS, spEntityId: SP_ENTITY, now: clock.now, idEnt: 'Z0', personId: 'E1', issuer: idp.entityId })), /Connexion non valide/, 400],
    ['another key', (id) => b64(sign(unsignedResponse({ requestId: id, acsUrl: ACS, spEntityId: SP_ENTITY, now: clock.now, idEnt: 'Z0', personId: 'E1', issuer: idp.entityId }), evil, { assertion: true })), /Connexion non valide/, 400],
    ['wrapped', (id) => {
      const good = Buffer.from(entResponse(idp, id, clock.now), 'base64').toString();
      const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(good)![0];
      const wrapped = good.replace(assertion, assertion.replace('>E1<', '>T1<').replace(/ID="[^"]+"/, 'ID="_x"').replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')).replace('<samlp:Status>', `<samlp:Extensions>${assertion}</samlp:Extensions><samlp:Status>`);
      return b64(wrapped);
    }, /Connexion non valide/, 400],
    ['expired', (id) => entResponse(idp, id, new Date(clock.now.getTime() - 2 * 3600_000)), /Connexion expirée/, 400],
    ['wrong Destination', (id) => entResponse(idp, id, clock.now, { destination: 'https://other.example/acs' }), /Connexion non valide/, 400],
    ['wrong InResponseTo', () => entResponse(idp, newId(), clock.now), /Connexion non valide/, 400],
    ['wrong idEnt', (id) => entResponse(idp, id, clock.now, { idEnt: 'Z1' }), /Connexion non valide/, 400],
    ['IdP error', (id) => b64(unsignedResponse({ requestId: id, acsUrl: ACS, spEntityId: SP_ENTITY, now: clock.now, idEnt: 'Z0', personId: 'E1', statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })), /Connexion refusée par l’ENT/, 403],
  ];
  for (const [what, make, text, status] of cases) {
    const req = fromLocation(await app.inject({ method: 'GET', url: link() }));
    const res = await answer(app, make(req.requestId), req.relayState);
    t.equal(res.statusCode, status, what);
    t.match(res.body, text, what);
    t.notOk(cookieOf(res), `${what}: no session`);
  }
  t.equal((await db.selectFrom('access_log').select('id').execute()).length, 0, 'nothing decided');

  // Replay across replicas: the same assertion ID once more, even for a request that is still waiting.
  const req = fromLocation(await app.inject({ method: 'GET', url: link() }));
  const assertionId = newId();
  const first = await answer(app, entResponse(idp, req.requestId, clock.now, { assertionId }), req.relayState);
  t.equal(first.statusCode, 303);
  const kept = { id: 'again', authn_request_id: req.requestId, ent_id: 'Z0', uai: UAI_A, resource_id: RES_P1, return_path: null, created_at: clock.now, expires_at: new Date(clock.now.getTime() + 60_000) };
  await db.insertInto('entry_requests').values(kept).execute();
  const replay = await answer(app, entResponse(idp, req.requestId, clock.now, { assertionId }), 'again');
  t.equal(replay.statusCode, 400, 'a replayed assertion ID is refused');
  t.ok(await db.selectFrom('saml_seen_assertions').select('assertion_id').where('assertion_id', '=', assertionId).executeTakeFirst(), 'remembered in the database');
});

t.test('every refusal of the decision and every door failure is a page with a 4xx', async (t) => {
  const { app, db, clock } = await setup(t);
  const e1 = (await db.selectFrom('people').select('id').where('person_id', '=', 'E1').executeTakeFirstOrThrow()).id;
  await insertPerson(db, { personId: 'E2', uai: UAI_A, profiles: ['National_elv'] });
  for (const [id, pid] of [['ark:/12345/vieux', 'ABO-OLD'], ['ark:/12345/futur', 'ABO-NEW'], ['ark:/12345/sans-dr', 'ABO-NODR']] as const) {
    await insertResource(db, { id, publisherId: 'P1' });
    const dates = pid === 'ABO-OLD' ? { startsAt: '2025-09-01T00:00:00Z', endsAt: '2026-07-01T00:00:00Z' } : pid === 'ABO-NEW' ? { startsAt: '2027-01-01T00:00:00Z', endsAt: '2027-09-01T00:00:00Z' } : {};
    const sub = await insertSubscription(db, { id: pid, publisherId: 'P1', resourceId: id, uai: UAI_A, ...dates });
    await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'person', personId: e1 });
    if (pid !== 'ABO-NODR') await approve(db, id, ['UAI']);
  }
  const session = async (personId: string) => `gar_session=${(await app.sessions.create({ entId: 'Z0', personId })).token}`;
  const e1Cookie = await session('E1');
  const cases: Array<[string, string, string | undefined, RegExp, number]> = [
    ['establishment_out_of_scope', link({ uai: UAI_OTHER_ENT }), e1Cookie, /Établissement non rattaché/, 403],
    ['unknown_person', link(), await session('NOBODY'), /Compte inconnu/, 403],
    ['unknown_resource', link({ res: 'ark:/99999/nothing' }), e1Cookie, /Ressource inconnue/, 403],
    ['no_subscription', link({ res: RES_P2 }), e1Cookie, /Pas d’abonnement/, 403],
    ['subscription_expired', link({ res: 'ark:/12345/vieux' }), e1Cookie, /Abonnement terminé/, 403],
    ['subscription_not_started', link({ res: 'ark:/12345/futur' }), e1Cookie, /pas encore commencé/, 403],
    ['not_assigned', link(), await session('E2'), /Ressource non attribuée/, 403],
    ['no_approved_data_request', link({ res: 'ark:/12345/sans-dr' }), e1Cookie, /pas encore autorisée/, 403],
    ['unknown_ent_project', link({ ent: 'ZZ' }), undefined, /ENT inconnu/, 404],
    ['ent_not_connected', link({ ent: 'Z1', uai: UAI_OTHER_ENT }), undefined, /ENT non raccordé/, 404],
    ['broken_entry_link', '/domaineGar?idENT=%%%', undefined, /Lien incomplet/, 400],
    ['broken_entry_link (no resource)', `/domaineGar?idENT=${b64s('Z0')}`, undefined, /Lien incomplet/, 400],
  ];
  for (const [reason, url, cookie, text, status] of cases) {
    const res = await app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    t.equal(res.statusCode, status, reason);
    t.match(res.headers['content-type'], /^text\/html/, reason);
    t.match(res.body, text, reason);
    t.match(res.body, res.headers['x-request-id'] as string, `${reason}: the request id`);
    t.notMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
  }
  const named = await app.inject({ method: 'GET', url: link({ res: RES_P2 }), headers: { cookie: e1Cookie } });
  t.match(named.body, /Atlas/, 'the resource by name');
  t.match(named.body, new RegExp(`Collège ${UAI_A}`), 'the establishment by name');
  const english = await app.inject({ method: 'GET', url: link({ res: RES_P2 }), headers: { cookie: e1Cookie, 'accept-language': 'en-GB,en;q=0.9' } });
  t.match(english.body, /No subscription/);
  const states: Array<[string, { gone_at?: Date; restricted_at?: Date; objected_at?: Date }]> = [
    ['person_gone', { gone_at: clock.now }],
    ['restricted', { restricted_at: clock.now }],
    ['objected', { objected_at: clock.now }],
  ];
  for (const [what, set] of states) {
    await db.updateTable('people').set({ gone_at: null, restricted_at: null, objected_at: null, ...set }).where('id', '=', e1).execute();
    const fresh = await session('E1');
    const res = await app.inject({ method: 'GET', url: link(), headers: { cookie: fresh } });
    t.ok(res.statusCode === 403 || (res.statusCode === 302 && String(res.headers.location).startsWith('https://ent.example')), `${what}: refused, or the session ended`);
    if (res.statusCode === 403) t.match(res.body, new RegExp(what === 'person_gone' ? 'plus inscrit' : what === 'restricted' ? 'Accès suspendu' : 'Accès impossible'));
  }
  const refused = await db.selectFrom('access_log').select(['reason', 'door']).where('outcome', '=', 'refused').execute();
  t.ok(refused.length >= 8 && refused.every((r) => r.door === 'entry_link'), 'each decision refusal logged, by door');
  const acsBad = await app.inject({ method: 'POST', url: '/saml/sp/acs', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'SAMLResponse=x&RelayState=nope' });
  t.equal(acsBad.statusCode, 400);
  t.match(acsBad.body, /Lien expiré/);
  const acsJson = await app.inject({ method: 'POST', url: '/saml/sp/acs', payload: { a: 1 } });
  t.equal(acsJson.statusCode, 400);
  t.match(acsJson.headers['content-type'], /^text\/html/);
});

t.test('entry-link variants: padding, %3D, idSrc, raw ARK', async (t) => {
  const { app } = await setup(t);
  for (const url of [
    `/domaineGar?idENT=WjA%3D&idRessource=${encodeURIComponent(RES_P1)}`,
    `/domaineGar?idENT=WjA=&idEtab=${b64s(UAI_A)}&idRessource=${encodeURIComponent(RES_P1)}`,
    `/domaineGar?idENT=WjA&idRessource=${RES_P1}`,
    `/domaineGar?idENT=WjA&idSrc=${encodeURIComponent(b64s(RES_P1))}`,
  ]) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 302, url);
  }
});

t.test('discovery: choose the ENT, remembered; login then back to the broker path; no open redirect', async (t) => {
  const { app, idp, clock } = await setup(t);
  const page = await app.inject({ method: 'GET', url: '/discovery?return=%2Fidp%2Fprofile%2FSAML2%2FRedirect%2FSSO%3Fresume%3Dabc&q=z0' });
  t.equal(page.statusCode, 200);
  t.match(page.body, /ENT Z0/);
  t.match(page.body, /<form method="get" action="\/discovery"/);
  const empty = await app.inject({ method: 'GET', url: '/discovery?return=%2F&q=nothing-like-this' });
  t.match(empty.body, /Aucun ENT/);
  const start = await app.inject({ method: 'GET', url: '/discovery?return=%2Fidp%2Fprofile%2FSAML2%2FRedirect%2FSSO%3Fresume%3Dabc&entId=Z0' });
  t.equal(start.statusCode, 302);
  t.match(String(start.headers['set-cookie']), /gar_ent=Z0/);
  const req = fromLocation(start);
  const acs = await answer(app, entResponse(idp, req.requestId, clock.now), req.relayState);
  t.equal(acs.statusCode, 303);
  t.equal(acs.headers.location, '/idp/profile/SAML2/Redirect/SSO?resume=abc');
  const remembered = await app.inject({ method: 'GET', url: '/discovery?return=%2F', headers: { cookie: 'gar_ent=Z0' } });
  t.match(remembered.body, /Continuer avec ENT Z0/);
  const withSession = await app.inject({ method: 'GET', url: '/discovery?return=%2Fx', headers: { cookie: cookieOf(acs)! } });
  t.equal(withSession.statusCode, 302);
  t.equal(withSession.headers.location, '/x');
  for (const bad of ['%2F%2Fevil.example%2F', 'https%3A%2F%2Fevil.example%2F', '%2F%5Cevil.example']) {
    const res = await app.inject({ method: 'GET', url: `/discovery?return=${bad}&entId=Z0` });
    t.equal(res.statusCode, 400, bad);
  }
});

/** A LogoutRequest from the ENT's IdP, HTTP-Redirect binding, its query signed with `key` (RSA-SHA256) unless null. */
function idpLogoutUrl(o: { issuer: string; nameId: string; sessionIndex?: string; key: string | null; relayState?: string; now: Date }) {
  const id = newId();
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" ` +
    `IssueInstant="${o.now.toISOString()}" Destination="https://broker.test/saml/sp/slo"><saml:Issuer>${o.issuer}</saml:Issuer>` +
    `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">${o.nameId}</saml:NameID>` +
    (o.sessionIndex ? `<samlp:SessionIndex>${o.sessionIndex}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`;
  let query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}`;
  if (o.relayState) query += `&RelayState=${encodeURIComponent(o.relayState)}`;
  if (o.key === null) return { url: `/saml/sp/slo?${query}`, id };
  query += `&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`;
  const signature = createSign('sha256').update(query).sign(o.key, 'base64');
  return { url: `/saml/sp/slo?${query}&Signature=${encodeURIComponent(signature)}`, id };
}

t.test('logout started at the ENT: a signed LogoutRequest ends the session, tells the SAML publisher, and the IdP gets a signed LogoutResponse', async (t) => {
  const { app, db, idp, clock } = await setup(t);
  const IDP_SLO = 'https://ent.example/auth/saml/slo';
  await db.updateTable('ent_idps').set({ slo_url: IDP_SLO }).where('ent_id', '=', 'Z0').execute();
  const metadata = (await app.inject({ url: '/saml/sp/metadata' })).body;
  t.match(metadata, /<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-Redirect" Location="https:\/\/broker\.test\/saml\/sp\/slo"\/>/, 'the SP metadata offers its SLO endpoint');

  const req = fromLocation(await app.inject({ method: 'GET', url: link() }));
  const cookie = cookieOf(await answer(app, entResponse(idp, req.requestId, clock.now), req.relayState))!;
  const row = await db.selectFrom('browser_sessions').select(['id', 'idp_name_id', 'idp_session_index']).executeTakeFirstOrThrow();
  await app.sessions.addParticipant(row.id, { door: 'saml_idp', resourceId: RES_P1, party: 'https://sp.test/metadata', nameId: 'opaque-1', sessionIndex: '_s1', sloUrl: 'https://sp.test/slo' });
  const alive = async () => (await app.inject({ url: link(), headers: { cookie } })).headers.location === RES_URL;
  const subject = { issuer: idp.entityId, nameId: row.idp_name_id!, sessionIndex: row.idp_session_index!, now: clock.now };

  const unsigned = await app.inject({ url: idpLogoutUrl({ ...subject, key: null }).url, headers: { cookie } });
  t.equal(unsigned.statusCode, 403, 'an unsigned LogoutRequest is refused');
  t.match(unsigned.headers['content-type'], /text\/html/);
  const forged = await app.inject({ url: idpLogoutUrl({ ...subject, key: newTestIdp('evil').keyPem }).url, headers: { cookie } });
  t.equal(forged.statusCode, 403, 'one signed by another key too');
  const stranger = await app.inject({ url: idpLogoutUrl({ ...subject, issuer: 'https://unknown.example/idp', key: idp.keyPem }).url, headers: { cookie } });
  t.equal(stranger.statusCode, 403, 'an IdP no project registered');
  const otherSession = await app.inject({ url: idpLogoutUrl({ ...subject, sessionIndex: '_another', key: idp.keyPem }).url, headers: { cookie } });
  t.equal(otherSession.statusCode, 302, 'a SessionIndex of another session is answered…');
  t.ok(await alive(), '…and leaves this session alone');

  const lo = idpLogoutUrl({ ...subject, key: idp.keyPem, relayState: 'ent-relay-1' });
  const step = await app.inject({ url: lo.url, headers: { cookie } });
  t.equal(step.statusCode, 200, step.body.slice(0, 300));
  t.match(String(step.headers['set-cookie']), /gar_session=;/, 'the session cookie is cleared');
  const frame = /<iframe id="slo" title="[^"]*" src="([^"]+)"/.exec(step.body)![1]!.replace(/&amp;/g, '&');
  t.match(frame, /^https:\/\/sp\.test\/slo\?SAMLRequest=/, 'the publisher is told at its SingleLogoutService');
  t.match(inflateRawSync(Buffer.from(new URL(frame).searchParams.get('SAMLRequest')!, 'base64')).toString(), /<saml:NameID[^>]*>opaque-1</, 'with the NameID it was given');
  const next = /<a id="next" href="([^"]+)"/.exec(step.body)![1]!.replace(/&amp;/g, '&');
  const toDone = await app.inject({ url: next });
  t.equal(toDone.statusCode, 302);
  t.match(String(toDone.headers.location), /^\/saml\/sp\/slo\?done=/);
  const done = await app.inject({ url: String(toDone.headers.location) });
  t.equal(done.statusCode, 302);
  const back = new URL(String(done.headers.location));
  t.equal(`${back.origin}${back.pathname}`, IDP_SLO, 'the IdP is answered at its SingleLogoutService');
  t.equal(back.searchParams.get('RelayState'), 'ent-relay-1', 'RelayState echoed');
  const signed = String(done.headers.location).split('?')[1]!;
  const octets = signed.slice(0, signed.indexOf('&Signature='));
  t.ok(verify('sha256', Buffer.from(octets), createPublicKey(testConfig().samlSigningCert), Buffer.from(back.searchParams.get('Signature')!, 'base64')), 'signed by the broker’s SP key');
  const response = inflateRawSync(Buffer.from(back.searchParams.get('SAMLResponse')!, 'base64')).toString();
  t.match(response, new RegExp(`InResponseTo="${lo.id}"`));
  t.match(response, /StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Success"/);
  t.match(response, /<saml:Issuer[^>]*>https:\/\/broker\.test\/saml\/sp\/metadata<\/saml:Issuer>/, "issued by the broker as SP");
  t.notOk(await alive(), 'the session is over: the entry link goes back to the ENT');
  t.equal((await app.inject({ url: String(toDone.headers.location) })).statusCode, 200, 'the answer is given once; a replay only says “logged out”');
  const notAnId = await app.inject({ url: `/saml/sp/slo?done=${'-'.repeat(36)}` });
  t.equal(notAnId.statusCode, 200, 'a kept-answer id that is no UUID is unknown, not a database error');
});
