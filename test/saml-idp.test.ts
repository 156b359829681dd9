import t, { type Test } from 'tap';
import { deflateRawSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { testCertificate } from './keys.js';
import { decodeRedirect, readLogoutResponse, verifyRedirectSignature } from '../src/saml/inbound.js';
import { bearer, buildTestApp, freshDatabase, ministry, testConfig } from './helper.js';
import { buildApp } from '../src/app.js';
import { propagateLogout } from '../src/doors/saml-idp/slo.js';
import { pickResource } from '../src/doors/saml-idp/sso.js';
import type { SpResource } from '../src/doors/saml-idp/saml-idp.repository.js';
import { approve, world } from './sso-world.js';
import { RES_P1, UAI_A, insertAssignment, insertResource, insertSubscription } from './factories.js';
import { openSession } from './browser-session.js';
import { NAMEID, formOf, lasso, registerSp, samlifySp, spKeys, spMetadata } from './sp-stacks.js';

const RES_B = 'ark:/12345/histoire-4e';
const SAMLIFY = { entityId: 'https://sp.test/metadata', base: 'https://sp.test' };
const LASSO = { entityId: 'https://lasso.test/metadata', base: 'https://lasso.test' };
const SSO = '/idp/profile/SAML2/Redirect/SSO';
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const pathOf = (url: string) => url.replace('https://broker.test', '');

/** RES_B: a second resource of P1 that E1 may open (a profile assignment at UAI_A), or not. */
async function secondResource(db: Kysely<Database>, granted: boolean) {
  await insertResource(db, { id: RES_B, publisherId: 'P1', name: 'Histoire 4e' });
  if (!granted) return;
  const sub = await insertSubscription(db, { id: 'ABO-HIST', publisherId: 'P1', resourceId: RES_B, uai: UAI_A });
  await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'profile', profile: 'National_elv' });
  await approve(db, RES_B, ['UAI', 'PRO']);
}

async function setup(t: Test, opts: { now?: Date } = {}) {
  // Real time: the SP stacks check validity windows against their own clocks.
  const built = await buildTestApp(t, { now: opts.now ?? new Date() });
  await world(built.database.db);
  const idpMetadata = (await built.app.inject({ url: '/idp/metadata' })).body;
  return { ...built, idpMetadata };
}

const login = async (app: FastifyInstance) => (await openSession(app, { entId: 'Z0', personId: 'E1', uaiHint: UAI_A })).cookie;

t.test('samlify SP, unsigned HTTP-Redirect, RelayState = resource URL: a transient NameID, InResponseTo, RelayState echoed', async (t) => {
  const { app, database, idpMetadata } = await setup(t);
  await registerSp(app, RES_P1, spMetadata({ ...SAMLIFY, nameIdFormats: [NAMEID.transient] }), 'https://sp.test/maths');
  const cookie = await login(app);
  const { sp, idp } = samlifySp({ ...SAMLIFY, signed: false, relayState: 'https://sp.test/maths', idpMetadata });
  const { id, context } = sp.createLoginRequest(idp, 'redirect') as { id: string; context: string };
  const res = await app.inject({ url: pathOf(context), headers: { cookie } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const form = formOf(res.body);
  t.equal(form.action, 'https://sp.test/acs');
  t.equal(form.RelayState, 'https://sp.test/maths', 'RelayState echoed');
  const { extract } = await sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: form.SAMLResponse } });
  t.equal(extract.response?.inResponseTo, id, 'InResponseTo is the AuthnRequest ID');
  t.match(extract.nameID, /^_[0-9a-f]{40}$/, 'transient: opaque, not the IDO');
  t.match(extract.attributes?.IDO, /^[0-9a-f]{128}$/, 'the IDO attribute publishers key on');
  const xml = decode(form.SAMLResponse!);
  t.match(xml, /AuthnContextClassRef>urn:oasis:names:tc:SAML:2\.0:ac:classes:PasswordProtectedTransport</);

  // Same session, same SP: the same transient NameID and SessionIndex (one per session and SP).
  const again = await app.inject({ url: pathOf((sp.createLoginRequest(idp, 'redirect') as { context: string }).context), headers: { cookie } });
  const xml2 = decode(formOf(again.body).SAMLResponse!);
  const nameId = (x: string) => /<saml:NameID[^>]*>([^<]+)</.exec(x)![1];
  const sessionIndex = (x: string) => /SessionIndex="([^"]+)"/.exec(x)![1];
  t.equal(nameId(xml2), extract.nameID);
  t.equal(sessionIndex(xml2), sessionIndex(xml));

  const rows = await database.db.selectFrom('access_log').selectAll().execute();
  t.equal(rows.length, 2);
  t.match(rows[0], { outcome: 'granted', resource_id: RES_P1, door: 'saml_idp' });
});

t.test('samlify SP with AuthnRequestsSigned: signed Redirect and POST accepted, unsigned and forged refused', async (t) => {
  const { app, database, idpMetadata } = await setup(t);
  await registerSp(app, RES_P1, spMetadata({ ...SAMLIFY, signed: true }), 'https://sp.test/maths');
  const cookie = await login(app);
  const { sp, idp } = samlifySp({ ...SAMLIFY, signed: true, relayState: 'https://sp.test/maths', idpMetadata });

  const redirect = sp.createLoginRequest(idp, 'redirect') as { context: string };
  const r1 = await app.inject({ url: pathOf(redirect.context), headers: { cookie } });
  t.equal(r1.statusCode, 200, r1.body.slice(0, 300));
  await t.resolves(sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: formOf(r1.body).SAMLResponse } }), 'signed Redirect answered');

  const post = sp.createLoginRequest(idp, 'post') as { context: string; relayState?: string };
  const r2 = await app.inject({
    method: 'POST',
    url: '/idp/profile/SAML2/POST/SSO',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ SAMLRequest: post.context, RelayState: 'https://sp.test/maths' }).toString(),
  });
  t.equal(r2.statusCode, 200, r2.body.slice(0, 300));
  await t.resolves(sp.parseLoginResponse(idp, 'post', { body: { SAMLResponse: formOf(r2.body).SAMLResponse } }), 'signed POST answered');

  const unsigned = samlifySp({ ...SAMLIFY, signed: false, relayState: 'https://sp.test/maths', idpMetadata });
  const r3 = await app.inject({ url: pathOf((unsigned.sp.createLoginRequest(unsigned.idp, 'redirect') as { context: string }).context), headers: { cookie } });
  t.equal(r3.statusCode, 403);
  t.match(r3.headers['content-type'], /text\/html/);
  t.match(r3.body, /must be signed/);

  // The same request signed by another key (the SP's key stolen? no: an attacker's).
  const other = testCertificate('attacker');
  const q = new URL(redirect.context).searchParams;
  const { sign } = await import('node:crypto');
  const forgedQuery = `SAMLRequest=${encodeURIComponent(q.get('SAMLRequest')!)}&RelayState=${encodeURIComponent(q.get('RelayState')!)}&SigAlg=${encodeURIComponent(q.get('SigAlg')!)}`;
  const forgedSig = sign('sha256', Buffer.from(forgedQuery), other.key).toString('base64');
  const r4 = await app.inject({ url: `${SSO}?${forgedQuery}&Signature=${encodeURIComponent(forgedSig)}`, headers: { cookie } });
  t.equal(r4.statusCode, 403);
  t.match(r4.body, /does not verify/);
  // A tampered POST body: the signed request with another ACS index breaks the enveloped signature.
  const tampered = Buffer.from(decode(post.context).replace('AssertionConsumerServiceURL="https://sp.test/acs"', 'AssertionConsumerServiceURL="https://sp.test/acs2"')).toString('base64');
  const r5 = await app.inject({
    method: 'POST',
    url: '/idp/profile/SAML2/POST/SSO',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ SAMLRequest: tampered }).toString(),
  });
  t.equal(r5.statusCode, 403, 'tampered POST refused');
  t.equal((await database.db.selectFrom('access_log').selectAll().execute()).length, 2, 'refused requests decide nothing');
});

t.test('Lasso SP: signed Redirect, persistent NameID = IDO, assertion encrypted with the SP’s declared AES-128-CBC', async (t) => {
  const { app, idpMetadata } = await setup(t);
  const metadata = spMetadata({ ...LASSO, signed: true, nameIdFormats: [NAMEID.persistent], encryptionMethods: ['http://www.w3.org/2001/04/xmlenc#aes128-cbc', 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p'] });
  await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths');
  const cookie = await login(app);
  const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, binding: 'redirect', sign: true, relayState: 'https://lasso.test/maths', nameIdFormat: NAMEID.persistent });
  const res = await app.inject({ url: pathOf(req.url!), headers: { cookie } });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const form = formOf(res.body);
  const xml = decode(form.SAMLResponse!);
  t.match(xml, /<saml:EncryptedAssertion/);
  t.match(xml, /EncryptionMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#aes128-cbc"/, 'the SP’s declared algorithm');
  const out = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: form.SAMLResponse });
  t.ok(out.valid, String(out.error));
  t.equal(out.inResponseTo, req.requestId);
  t.equal(out.nameIdFormat, NAMEID.persistent);
  t.match(out.nameId, /^[0-9a-f]{128}$/);
  t.same(out.attributes!.IDO, [out.nameId], 'persistent NameID is the IDO');
  t.ok(out.sessionIndex);
});

t.test('Lasso SP: unsigned HTTP-POST, transient, with the samlify-style GCM default when nothing is declared', async (t) => {
  const { app, idpMetadata } = await setup(t);
  const metadata = spMetadata({ ...LASSO, nameIdFormats: [NAMEID.transient], encryptionMethods: [] });
  await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths');
  const cookie = await login(app);
  const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, binding: 'post', sign: false, relayState: 'https://lasso.test/maths/chapitre-2' });
  const res = await app.inject({
    method: 'POST',
    url: '/idp/profile/SAML2/POST/SSO',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ SAMLRequest: req.body!, RelayState: req.relayState! }).toString(),
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const form = formOf(res.body);
  t.equal(form.RelayState, 'https://lasso.test/maths/chapitre-2', 'a deep link inside the resource names it');
  t.match(decode(form.SAMLResponse!), /aes256-gcm/);
  const out = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: form.SAMLResponse });
  t.ok(out.valid, String(out.error));
  t.equal(out.nameIdFormat, NAMEID.transient);
});

t.test('two resources behind one SP: RelayState picks the resource; without it the request is ambiguous', async (t) => {
  const { app, database, idpMetadata } = await setup(t);
  await secondResource(database.db, false);
  const metadata = spMetadata({ ...LASSO });
  await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths');
  await registerSp(app, RES_B, metadata, 'https://lasso.test/histoire');
  const cookie = await login(app);
  const go = async (relayState?: string) => {
    const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, sign: false, ...(relayState ? { relayState } : {}) });
    return app.inject({ url: pathOf(req.url!), headers: { cookie } });
  };
  const maths = await go('https://lasso.test/maths');
  t.ok(lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf(maths.body).SAMLResponse }).valid);
  const histoire = await go('https://lasso.test/histoire');
  const denied = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf(histoire.body).SAMLResponse });
  t.notOk(denied.valid);
  t.match(denied.status, { code: 'urn:oasis:names:tc:SAML:2.0:status:Responder', sub: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied', message: /no subscription/ });
  const log = await database.db.selectFrom('access_log').select(['resource_id', 'outcome', 'reason']).orderBy('id').execute();
  t.match(log, [{ resource_id: RES_P1, outcome: 'granted' }, { resource_id: RES_B, outcome: 'refused', reason: 'no_subscription' }]);
  const ambiguous = await go();
  t.equal(ambiguous.statusCode, 400);
  t.match(ambiguous.body, /serves 2 resources/);

  // Another publisher cannot take the SP entityID; the same publisher can (done above).
  const stolen = await app.inject({
    method: 'PUT',
    url: `/v1/resources/${encodeURIComponent('ark:/67890/atlas')}`,
    headers: bearer(app, { sub: 'pub-2', role: 'publisher', publisherId: 'P2' }),
    payload: { name: 'Atlas', typePresentation: 'MAN', sp: { metadataXml: metadata } },
  });
  t.equal(stolen.statusCode, 409);
});

t.test('RelayState names the resource by its ARK, its urlAccesRessource or its resourceUrl (where the entry link sent the browser)', async (t) => {
  const r = (id: string, accessUrl: string | null, resourceUrl: string | null) => ({ id, accessUrl, resourceUrl }) as SpResource;
  const both = [r('ark:/1/a', 'https://sp.test/a', null), r('ark:/1/b', null, 'https://sp.test/b/')];
  t.equal(pickResource(both, 'https://sp.test/a').id, 'ark:/1/a', 'urlAccesRessource');
  t.equal(pickResource(both, 'https://sp.test/b').id, 'ark:/1/b', 'resourceUrl (trailing slash ignored)');
  t.equal(pickResource(both, 'https://sp.test/b/chapitre?x=1').id, 'ark:/1/b', 'a deep link under the resourceUrl');
  t.equal(pickResource(both, 'ark:/1/b').id, 'ark:/1/b', 'the ARK');
  t.throws(() => pickResource(both, 'https://sp.test/bb'), { message: /serves 2 resources/ }, 'no match at a non-boundary');
  t.throws(() => pickResource(both, undefined), { message: /serves 2 resources/ }, 'none named: ambiguous');
});

t.test('a wrong ACS, an unknown SP and hostile XML are readable pages, never a post to an unregistered URL', async (t) => {
  const { app, idpMetadata } = await setup(t);
  await registerSp(app, RES_P1, spMetadata({ ...SAMLIFY }), 'https://sp.test/maths');
  const cookie = await login(app);
  const evil = samlifySp({ entityId: SAMLIFY.entityId, base: 'https://evil.test', signed: false, idpMetadata });
  const wrong = await app.inject({ url: pathOf((evil.sp.createLoginRequest(evil.idp, 'redirect') as { context: string }).context), headers: { cookie } });
  t.equal(wrong.statusCode, 400);
  t.match(wrong.body, /AssertionConsumerServiceURL https:\/\/evil\.test\/acs is not registered/);
  t.notMatch(wrong.body, /<form/);

  const stranger = samlifySp({ entityId: 'https://stranger.test/metadata', base: 'https://stranger.test', signed: false, idpMetadata });
  const unknown = await app.inject({ url: pathOf((stranger.sp.createLoginRequest(stranger.idp, 'redirect') as { context: string }).context), headers: { cookie } });
  t.equal(unknown.statusCode, 403);

  const enc = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));
  const doctype = await app.inject({ url: `${SSO}?SAMLRequest=${enc('<!DOCTYPE x [<!ENTITY a "aaa">]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&a;</samlp:AuthnRequest>')}`, headers: { cookie } });
  t.equal(doctype.statusCode, 400);
  t.match(doctype.body, /DOCTYPE/);
  const deep = await app.inject({ url: `${SSO}?SAMLRequest=${enc('<a>'.repeat(100) + '</a>'.repeat(100))}`, headers: { cookie } });
  t.equal(deep.statusCode, 400);
  t.match(deep.body, /deeper than/);
  const bomb = await app.inject({ url: `${SSO}?SAMLRequest=${enc('<a>' + ' '.repeat(2_000_000) + '</a>')}`, headers: { cookie } });
  t.equal(bomb.statusCode, 400);
  t.match(bomb.body, /inflates to more than/);
  const garbage = await app.inject({ url: `${SSO}?SAMLRequest=not-deflate`, headers: { cookie } });
  t.equal(garbage.statusCode, 400);
});

t.test('no session: IsPassive gets NoPassive at once; otherwise the request is kept and answered after the ENT login', async (t) => {
  const { app, database, idpMetadata } = await setup(t);
  const metadata = spMetadata({ ...LASSO, nameIdFormats: [NAMEID.transient] });
  await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths');

  const passive = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, isPassive: true, relayState: 'https://lasso.test/maths' });
  const p = await app.inject({ url: pathOf(passive.url!) });
  t.equal(p.statusCode, 200);
  t.match(lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf(p.body).SAMLResponse }).status, { sub: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive' });

  const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, relayState: 'https://lasso.test/maths' });
  const first = await app.inject({ url: pathOf(req.url!) });
  t.equal(first.statusCode, 302);
  const location = String(first.headers.location);
  const ret = new URL(location, 'https://broker.test').searchParams.get('return');
  t.match(ret, /^\/idp\/profile\/SAML2\/Redirect\/SSO\?resume=[0-9a-f-]{36}$/, 'the login comes back to the kept request');
  t.equal((await database.db.selectFrom('saml_idp_pending').selectAll().execute()).length, 1);

  // Coming back without a session: the ENT could not authenticate the person.
  const failed = await app.inject({ url: ret! });
  t.match(lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf(failed.body).SAMLResponse }).status, { sub: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed' });

  const again = await app.inject({ url: pathOf(req.url!) });
  const ret2 = new URL(String(again.headers.location), 'https://broker.test').searchParams.get('return')!;
  const cookie = await login(app);
  const answered = await app.inject({ url: ret2, headers: { cookie } });
  t.equal(answered.statusCode, 200, answered.body.slice(0, 300));
  const form = formOf(answered.body);
  t.equal(form.RelayState, 'https://lasso.test/maths');
  const out = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: form.SAMLResponse });
  t.ok(out.valid, String(out.error));
  t.equal(out.inResponseTo, req.requestId, 'the original AuthnRequest is answered');
  const replay = await app.inject({ url: ret2, headers: { cookie } });
  t.equal(replay.statusCode, 400, 'a kept request is answered once');
});

t.test('NameID policy: a format the broker cannot give is InvalidNameIDPolicy; IDO scope set by the ministry', async (t) => {
  const { app, idpMetadata } = await setup(t);
  const metadata = spMetadata({ ...LASSO, nameIdFormats: [NAMEID.email, NAMEID.persistent] });
  await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths');
  const cookie = await login(app);
  const ask = async (nameIdFormat?: string) => {
    const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, relayState: 'https://lasso.test/maths', nameIdFormat: nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified' });
    const res = await app.inject({ url: pathOf(req.url!), headers: { cookie } });
    return lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf(res.body).SAMLResponse });
  };
  t.match((await ask(NAMEID.email)).status, { code: 'urn:oasis:names:tc:SAML:2.0:status:Requester', sub: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy' });
  const dflt = await ask();
  t.equal(dflt.nameIdFormat, NAMEID.persistent, 'the SP’s first declared format the broker can give');
  const project = dflt.nameId;

  const scope = await app.inject({ method: 'PUT', url: `/v1/resources/${encodeURIComponent(RES_P1)}/ido-scope`, headers: bearer(app, ministry), payload: { idoScope: 'pairwise' } });
  t.equal(scope.statusCode, 200, scope.body);
  t.equal(scope.json().idoScope, 'pairwise');
  const pairwise = (await ask(NAMEID.persistent)).nameId;
  t.not(pairwise, project, 'pairwise: another IDO for this publisher');
  const denied = await app.inject({ method: 'PUT', url: `/v1/resources/${encodeURIComponent(RES_P1)}/ido-scope`, headers: bearer(app, { sub: 'pub-1', role: 'publisher', publisherId: 'P1' }), payload: { idoScope: 'project' } });
  t.equal(denied.statusCode, 403, 'the publisher cannot choose its own IDO scope');
});

t.test('signing and NameFormat options: Response only, Assertion only, uri attributes — accepted by Lasso', async (t) => {
  const { app, idpMetadata } = await setup(t);
  const metadata = spMetadata({ ...LASSO });
  for (const signing of ['response', 'assertion'] as const) {
    await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths', { signing, attributeNameFormat: 'uri' });
    const cookie = await login(app);
    const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, relayState: 'https://lasso.test/maths' });
    const res = await app.inject({ url: pathOf(req.url!), headers: { cookie } });
    const xml = decode(formOf(res.body).SAMLResponse!);
    t.equal((xml.match(/<ds:Signature /g) ?? []).length, 1, `${signing}: one signature`);
    t.match(xml, signing === 'response' ? /<\/saml:Issuer><ds:Signature[\s\S]*<saml:Assertion/ : /<saml:Assertion[\s\S]*<ds:Signature/);
    t.match(xml, /NameFormat="urn:oasis:names:tc:SAML:2\.0:attrname-format:uri"/);
    const out = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf(res.body).SAMLResponse });
    t.ok(out.valid, `${signing}: ${out.error}`);
  }
  const noKey = await app.inject({
    method: 'PUT',
    url: `/v1/resources/${encodeURIComponent(RES_P1)}/saml-options`,
    headers: bearer(app, { sub: 'pub-1', role: 'publisher', publisherId: 'P1' }),
    payload: { encrypt: true },
  });
  t.equal(noKey.statusCode, 400, 'encryption needs the SP’s encryption certificate');
  const seen = await app.inject({ url: `/v1/resources/${encodeURIComponent(RES_P1)}`, headers: bearer(app, ministry) });
  t.match(seen.json().samlOptions, { signing: 'assertion', attributeNameFormat: 'uri', encrypt: false, requireSignedAuthnRequests: false }, 'the ministry sees the options');
});

t.test('single logout from an SP: the session ends, the other SP is told in a frame, the initiator gets a LogoutResponse', async (t) => {
  const { app, database, idpMetadata } = await setup(t);
  await secondResource(database.db, true);
  const lassoMd = spMetadata({ ...LASSO, nameIdFormats: [NAMEID.transient] });
  await registerSp(app, RES_P1, lassoMd, 'https://lasso.test/maths');
  await registerSp(app, RES_B, spMetadata({ ...SAMLIFY }), 'https://sp.test/histoire');
  const cookie = await login(app);

  const lreq = lasso({ cmd: 'login', spMetadata: lassoMd, idpMetadata, relayState: 'https://lasso.test/maths' });
  const lres = await app.inject({ url: pathOf(lreq.url!), headers: { cookie } });
  const lassoSession = lasso({ cmd: 'consume', spMetadata: lassoMd, idpMetadata, samlResponse: formOf(lres.body).SAMLResponse });
  t.ok(lassoSession.valid, String(lassoSession.error));
  const s = samlifySp({ ...SAMLIFY, signed: false, relayState: 'https://sp.test/histoire', idpMetadata });
  const sres = await app.inject({ url: pathOf((s.sp.createLoginRequest(s.idp, 'redirect') as { context: string }).context), headers: { cookie } });
  const { extract: samlifyLogin } = await s.sp.parseLoginResponse(s.idp, 'post', { body: { SAMLResponse: formOf(sres.body).SAMLResponse } });

  // Lasso's SP starts logout (signed Redirect: it has a signing key, so a signature is required).
  const lo = lasso({ cmd: 'logout', spMetadata: lassoMd, idpMetadata, session: lassoSession.session });
  const unsigned = new URL(lo.url!);
  unsigned.searchParams.delete('Signature');
  t.equal((await app.inject({ url: pathOf(unsigned.toString()), headers: { cookie } })).statusCode, 403, 'an unsigned LogoutRequest from an SP with a key is refused');
  const step = await app.inject({ url: pathOf(lo.url!), headers: { cookie } });
  t.equal(step.statusCode, 200, step.body.slice(0, 300));
  t.match(String(step.headers['set-cookie']), /gar_session=;/, 'the session cookie is cleared');
  const frame = /<iframe id="slo" title="[^"]*" src="([^"]+)"/.exec(step.body)![1]!.replace(/&amp;/g, '&');
  const next = /<a id="next" href="([^"]+)"/.exec(step.body)![1]!.replace(/&amp;/g, '&');
  t.match(frame, /^https:\/\/sp\.test\/slo\?SAMLRequest=/, 'the other SP is told at its SingleLogoutService');
  const fq = new URL(frame);
  const { extract: logoutReq } = await s.sp.parseLogoutRequest(s.idp, 'redirect', { query: Object.fromEntries(fq.searchParams), octetString: fq.search.slice(1).replace(/&Signature=[^&]*/, '') });
  t.equal(logoutReq.nameID, samlifyLogin.nameID, 'with the NameID it was given');
  t.same([logoutReq.sessionIndex].flat().filter(Boolean), [samlifyLogin.sessionIndex?.sessionIndex].filter(Boolean));

  // The other SP answers inside the frame; then the page moves on to the initiator's answer.
  const answer = s.sp.createLogoutResponse(s.idp, { extract: { request: { id: logoutReq.request?.id as string } } }, 'redirect', fq.searchParams.get('RelayState')!) as { context: string };
  const inFrame = await app.inject({ url: pathOf(answer.context) });
  t.equal(inFrame.statusCode, 200);
  const done = await app.inject({ url: next });
  t.equal(done.statusCode, 302);
  const back = String(done.headers.location);
  t.match(back, /^https:\/\/lasso\.test\/slo\?SAMLResponse=/);
  // Checked with the broker's certificate as the initiator would: signed query, InResponseTo, Success.
  t.doesNotThrow(() => verifyRedirectSignature(back.split('?')[1]!, 'SAMLResponse', [testConfig().samlSigningCert]));
  const logoutResponse = readLogoutResponse(decodeRedirect(new URL(back).searchParams.get('SAMLResponse')!));
  t.equal(logoutResponse.inResponseTo, lo.requestId);
  t.equal(logoutResponse.status, 'urn:oasis:names:tc:SAML:2.0:status:Success');
  t.notMatch(logoutResponse.xml, /PartialLogout/, 'the other SP confirmed');

  // The session is over: the next AuthnRequest goes to the ENT login.
  const after = await app.inject({ url: pathOf(lasso({ cmd: 'login', spMetadata: lassoMd, idpMetadata, relayState: 'https://lasso.test/maths' }).url!), headers: { cookie } });
  t.equal(after.statusCode, 302);
});

t.test('metadata tells the truth: both SSO bindings, SLO, NameID formats, validity; the signed copy verifies with xmlsec1', async (t) => {
  const next = testCertificate('next IdP key');
  const { app } = await buildTestApp(t, { config: { samlNextSigningCert: next.certPem }, now: new Date() });
  const idp = await app.inject({ url: '/idp/metadata' });
  const saml = await app.inject({ url: '/saml/metadata' });
  t.equal(idp.statusCode, 200);
  t.equal(idp.body, saml.body, 'one document at both paths');
  t.equal(idp.headers.etag, saml.headers.etag);
  for (const re of [
    /SingleSignOnService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-Redirect" Location="https:\/\/broker\.test\/idp\/profile\/SAML2\/Redirect\/SSO"/,
    /SingleSignOnService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-POST" Location="https:\/\/broker\.test\/idp\/profile\/SAML2\/POST\/SSO"/,
    /SingleLogoutService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-Redirect" Location="https:\/\/broker\.test\/idp\/profile\/SAML2\/Redirect\/SLO"/,
    /SingleLogoutService Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-POST" Location="https:\/\/broker\.test\/idp\/profile\/SAML2\/POST\/SLO"/,
    /<md:NameIDFormat>urn:oasis:names:tc:SAML:2\.0:nameid-format:persistent</,
    /<md:NameIDFormat>urn:oasis:names:tc:SAML:2\.0:nameid-format:transient</,
    /validUntil="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/,
    /cacheDuration="PT24H"/,
  ]) t.match(idp.body, re);
  t.notMatch(idp.body, /\/v1\/sso/, 'the JSON API is not an SSO endpoint');
  t.equal([...idp.body.matchAll(/<ds:X509Certificate>/g)].length, 2, 'current and next certificates');
  t.equal((await app.inject({ url: '/idp/metadata', headers: { 'if-none-match': String(idp.headers.etag) } })).statusCode, 304);

  const signed = await app.inject({ url: '/idp/metadata?signed=true' });
  t.equal(signed.statusCode, 200);
  const dir = mkdtempSync(join(tmpdir(), 'garb-md-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'md.xml'), signed.body);
  writeFileSync(join(dir, 'idp.pem'), testConfig().samlSigningCert);
  t.doesNotThrow(() => execFileSync('xmlsec1', ['--verify', '--trusted-pem', join(dir, 'idp.pem'), '--id-attr:ID', 'EntityDescriptor', join(dir, 'md.xml')], { stdio: 'pipe' }), 'xmlsec1 verifies the signed metadata');
  writeFileSync(join(dir, 'md.xml'), signed.body.replace('PT24H', 'PT48H'));
  t.throws(() => execFileSync('xmlsec1', ['--verify', '--trusted-pem', join(dir, 'idp.pem'), '--id-attr:ID', 'EntityDescriptor', join(dir, 'md.xml')], { stdio: 'pipe' }), 'and refuses a changed copy');
  // The schema: xmllint against the OASIS metadata schema.
  writeFileSync(join(dir, 'plain.xml'), idp.body);
  t.doesNotThrow(
    () => execFileSync('xmllint', ['--noout', '--nonet', '--schema', '/usr/lib/python3/dist-packages/onelogin/saml2/schemas/saml-schema-metadata-2.0.xsd', join(dir, 'plain.xml')], { stdio: 'pipe' }),
    'valid against saml-schema-metadata-2.0',
  );
});


t.test('logout started at the ENT: propagateLogout tells the session’s SAML SPs, then returns to the ENT door', async (t) => {
  const database = await freshDatabase(t);
  const app = await buildApp(testConfig(), { database, clock: () => new Date() });
  t.teardown(() => app.close());
  // Stands for the ENT door's SLO endpoint, which calls the exported function.
  app.get('/test/ent-slo', async (request, reply) => {
    const session = await app.sessions.current(request);
    return propagateLogout(app, reply, { sessionId: session!.id, returnTo: '/saml/sp/slo/done' });
  });
  await app.ready();
  await world(database.db);
  const idpMetadata = (await app.inject({ url: '/idp/metadata' })).body;
  const metadata = spMetadata({ ...LASSO, nameIdFormats: [NAMEID.transient] });
  await registerSp(app, RES_P1, metadata, 'https://lasso.test/maths');
  const cookie = await login(app);
  const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, relayState: 'https://lasso.test/maths' });
  const got = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: formOf((await app.inject({ url: pathOf(req.url!), headers: { cookie } })).body).SAMLResponse });
  t.ok(got.valid, String(got.error));
  const step = await app.inject({ url: '/test/ent-slo', headers: { cookie } });
  t.equal(step.statusCode, 200);
  const frame = /<iframe id="slo" title="[^"]*" src="([^"]+)"/.exec(step.body)![1]!.replace(/&amp;/g, '&');
  const seen = lasso({ cmd: 'slo-request', spMetadata: metadata, idpMetadata, query: frame.split('?')[1] });
  t.ok(seen.valid, String(seen.error));
  t.equal(seen.nameId, got.nameId, 'the SP is told with the NameID it was given');
  const next = /<a id="next" href="([^"]+)"/.exec(step.body)![1]!.replace(/&amp;/g, '&');
  const done = await app.inject({ url: next });
  t.equal(done.statusCode, 302);
  t.equal(done.headers.location, '/saml/sp/slo/done');
  t.equal((await app.inject({ url: pathOf(req.url!), headers: { cookie } })).statusCode, 302, 'the session is over');
});
