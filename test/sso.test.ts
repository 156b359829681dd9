import t from 'tap';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { testCertificate } from './keys.js';
import { buildTestApp, bearer, testConfig, operator } from './helper.js';
import { sp, world } from './sso-world.js';
import {
  RES_P1,
  RES_P2,
  UAI_A,
  UAI_B,
  UAI_OTHER_ENT,
  insertPerson,
  insertSubscription,
} from './factories.js';
import { pythonVerify, samlifyVerify, schemaValidate, xmlsecVerify, type VerifyJob } from './saml-verifiers.js';

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const entZ1 = { sub: 'ent-z1', role: 'ent', entId: 'Z1' } as const;

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const attrNames = (xml: string) => [...xml.matchAll(/<saml:Attribute Name="([^"]+)"/g)].map((m) => m[1]);
const attrValues = (xml: string, name: string) => {
  const m = new RegExp(`<saml:Attribute Name="${name}"[^>]*>(.*?)</saml:Attribute>`).exec(xml);
  return m ? [...m[1]!.matchAll(/<saml:AttributeValue>(.*?)<\/saml:AttributeValue>/g)].map((v) => v[1]) : [];
};

const sso = (app: Parameters<typeof bearer>[0], body: Record<string, unknown>, caller: Record<string, unknown> = ent, headers = {}) =>
  app.inject({ method: 'POST', url: '/v1/sso', headers: { ...bearer(app, caller), ...headers }, payload: body });

t.test('a pupil and a teacher of the same class get different, minimal attribute sets', async (t) => {
  const { app, database } = await buildTestApp(t);
  const { e1 } = await world(database.db);
  await database.db.updateTable('people').set({ birth_date: '2012-03-14', birth_name: 'Berthier' }).where('id', '=', e1).execute();
  const pupil = await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1, relayState: 'page=2' });
  t.equal(pupil.statusCode, 200, pupil.body);
  const body = pupil.json();
  t.equal(body.destination, 'https://sp.test/acs');
  t.equal(body.binding, 'HTTP-POST');
  t.equal(body.relayState, 'page=2');
  const pupilXml = decode(body.samlResponse);
  t.same(attrNames(pupilXml), ['IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO'], 'pupil: no P_MEL (staff only), no CIV (refused)');
  t.same(attrValues(pupilXml, 'DIV'), ['3A'], 'only the classes of this UAI');
  t.same(attrValues(pupilXml, 'GRO'), ['LAT3']);
  t.same(attrValues(pupilXml, 'PRO'), ['National_elv']);
  t.same(attrValues(pupilXml, 'NOM'), ['Martin &amp; &lt;Fils&gt;'], 'values are XML-escaped');
  t.same(body.attributes, ['IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO']);

  const teacher = await sso(app, { uai: UAI_A, personId: 'T1', resourceId: RES_P1 });
  t.equal(teacher.statusCode, 200, teacher.body);
  const teacherXml = decode(teacher.json().samlResponse);
  t.same(attrNames(teacherXml), ['IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'P_MEL']);
  t.same(attrValues(teacherXml, 'P_MEL'), ['paul.durand@ac-test.fr']);
  t.notMatch(teacherXml, /Name="CIV"/, 'a refused attribute is never present');
  // The stored birth date and birth name never leave (no attribute exists for them). Matched as
  // whole values: a bare "2012" can occur by chance in the random IDs and signature values.
  t.notMatch(pupilXml, /2012-03-14|14\/03\/2012|20120314|Berthier|Naissance/i, 'no birth data');

  const rows = await database.db.selectFrom('access_log').selectAll().orderBy('id').execute();
  t.equal(rows.length, 2, 'one log row per decision');
  t.match(rows[0], { outcome: 'granted', uai: UAI_A, ent_id: 'Z0', resource_id: RES_P1, publisher_id: 'P1', profile: 'National_elv' });
  t.same(rows[0]!.attributes, ['IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO'], 'attribute names logged, never values');
  t.notMatch(JSON.stringify(rows), /Martin|Léa|paul\.durand/, 'no personal values in the log');
  t.ok(rows[0]!.key_id && rows[0]!.response_id && rows[0]!.request_id);

  const policy = await app.inject({ method: 'GET', url: `/v1/resources/${encodeURIComponent(RES_P1)}/data-policy`, headers: bearer(app, operator) });
  t.equal(policy.statusCode, 200, policy.body);
  const released = Object.fromEntries(policy.json().releasedLast30Days.map((r: { code: string; accesses: number }) => [r.code, r.accesses]));
  t.same(released, { IDO: 2, UAI: 2, PRO: 2, NOM: 2, PRE: 2, DIV: 2, GRO: 1, P_MEL: 1 }, 'transparency: what actually went out');
});

t.test('IDO: stable across the project’s establishments, different across projects and for pairwise resources', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const nameId = (xml: string) => /<saml:NameID[^>]*>([^<]+)<\/saml:NameID>/.exec(xml)![1];
  const a = nameId(decode((await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 })).json().samlResponse));
  const b = nameId(decode((await sso(app, { uai: UAI_B, personId: 'E1', resourceId: RES_P1 })).json().samlResponse));
  t.match(a, /^[0-9a-f]{128}$/);
  t.equal(a, b, 'same IDO at both UAIs of project Z0');

  // The same ENT person id in another project is another person.
  const sub = await insertSubscription(database.db, { id: 'ABO-Z1', publisherId: 'P1', resourceId: RES_P1, uai: UAI_OTHER_ENT, assignmentType: 'ETABL' });
  t.ok(sub);
  await insertPerson(database.db, { entId: 'Z1', personId: 'E1', uai: UAI_OTHER_ENT, profiles: ['National_elv'] });
  const other = await sso(app, { uai: UAI_OTHER_ENT, personId: 'E1', resourceId: RES_P1 }, entZ1);
  t.equal(other.statusCode, 200, other.body);
  t.not(nameId(decode(other.json().samlResponse)), a, 'different IDO in another project');

  await database.db.updateTable('resources').set({ ido_scope: 'pairwise' }).where('id', '=', RES_P1).execute();
  const pairwise = nameId(decode((await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 })).json().samlResponse));
  t.not(pairwise, a, 'pairwise scope changes the IDO');
});

t.test('every refusal reason: 403 with reason, nothing issued, the refusal logged', async (t) => {
  const { app, database, clock } = await buildTestApp(t);
  const { e1 } = await world(database.db);
  const db = database.db;
  const expectRefusal = async (body: Record<string, unknown>, reason: string, caller: Record<string, unknown> = ent) => {
    const before = (await db.selectFrom('access_log').select(sql<number>`count(*)::int`.as('n')).where('outcome', '=', 'refused').executeTakeFirstOrThrow()).n;
    const res = await sso(app, body, caller);
    t.equal(res.statusCode, 403, `${reason}: ${res.body}`);
    t.match(res.headers['content-type'], 'application/problem+json');
    t.equal(res.json().reason, reason);
    t.notOk(res.json().samlResponse, 'no assertion');
    const last = await db.selectFrom('access_log').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    t.match(last, { outcome: 'refused', reason });
    const after = (await db.selectFrom('access_log').select(sql<number>`count(*)::int`.as('n')).where('outcome', '=', 'refused').executeTakeFirstOrThrow()).n;
    t.equal(after, before + 1);
  };
  const ask = { uai: UAI_A, personId: 'E1', resourceId: RES_P1 };
  await expectRefusal({ ...ask, uai: UAI_OTHER_ENT }, 'establishment_out_of_scope');
  await expectRefusal({ ...ask, personId: 'NOBODY' }, 'unknown_person');
  await expectRefusal({ ...ask, resourceId: 'ark:/99999/none' }, 'unknown_resource');
  await expectRefusal({ ...ask, resourceId: RES_P2 }, 'no_subscription');
  await insertPerson(db, { personId: 'D1', uai: UAI_A, profiles: ['National_doc'] });
  await expectRefusal({ ...ask, personId: 'D1' }, 'not_assigned');
  await insertSubscription(db, { id: 'ABO-P2', publisherId: 'P2', resourceId: RES_P2, uai: UAI_A, assignmentType: 'ETABL' });
  await expectRefusal({ ...ask, resourceId: RES_P2 }, 'no_approved_data_request');

  await db.updateTable('people').set({ restricted_at: new Date() }).where('id', '=', e1).execute();
  await expectRefusal(ask, 'restricted');
  await db.updateTable('people').set({ restricted_at: null, objected_at: new Date() }).where('id', '=', e1).execute();
  await expectRefusal(ask, 'objected');
  await db.updateTable('people').set({ objected_at: null }).where('id', '=', e1).execute();
  await db.updateTable('establishment_people').set({ gone_at: new Date() }).where('person_id', '=', e1).where('uai', '=', UAI_A).execute();
  await expectRefusal(ask, 'person_gone');
  await db.updateTable('establishment_people').set({ gone_at: null }).where('person_id', '=', e1).execute();

  clock.set('2027-09-02T00:00:00Z');
  await expectRefusal(ask, 'subscription_expired');
  clock.set('2026-08-01T00:00:00Z');
  await expectRefusal(ask, 'subscription_not_started');
  clock.set('2026-11-25T09:00:00Z');
  t.equal((await sso(app, ask)).statusCode, 200, 'granted again once every rule holds');
});

t.test('an ENT token is required; other roles are refused; bad bodies are 400', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const asOperator = await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 }, operator);
  t.equal(asOperator.statusCode, 403);
  const bad = await sso(app, { uai: 'nope', personId: '', resourceId: RES_P1, relayState: 'x'.repeat(81) });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().errors.length, 3, 'uai, personId and relayState reported');
});

t.test('when the access log cannot be written: 503 and no assertion', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  await sql`alter table access_log rename to access_log_away`.execute(database.db);
  const res = await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 });
  t.equal(res.statusCode, 503);
  t.match(res.headers['content-type'], 'application/problem+json');
  t.notMatch(res.body, /samlResponse|PHNhbWxw/, 'no Response in the answer');
  await sql`alter table access_log_away rename to access_log`.execute(database.db);
  t.equal((await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 })).statusCode, 200, 'works again');
  const n = await database.db.selectFrom('access_log').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  t.equal(n.n, 1, 'only the issued assertion has a row');
});

t.test('with Accept: text/html, a page that posts at once under a strict CSP', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const res = await sso(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1, relayState: 'a"b' }, ent, { accept: 'text/html' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, /<form method="post" action="https:\/\/sp\.test\/acs">/);
  t.match(res.body, /name="RelayState" value="a&quot;b"/);
  t.match(res.body, /<noscript>.*<button type="submit">/);
  const csp = String(res.headers['content-security-policy']);
  t.match(csp, /default-src 'none'/);
  t.match(csp, /script-src 'sha256-/);
  t.match(csp, /form-action https:\/\/sp\.test/);
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('IdP metadata lists the current and the next signing certificate', async (t) => {
  const next = testCertificate('next IdP key');
  const { app } = await buildTestApp(t, { config: { samlNextSigningCert: next.certPem } });
  const res = await app.inject({ method: 'GET', url: '/saml/metadata' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/samlmetadata\+xml/);
  t.match(res.body, /entityID="https:\/\/broker\.test\/saml\/metadata"/);
  const certs = [...res.body.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => m[1]);
  t.equal(certs.length, 2);
  t.equal(certs[1], next.certPem.replace(/-----[^-]+-----|\s/g, ''));
  const cached = await app.inject({ method: 'GET', url: '/saml/metadata', headers: { 'if-none-match': String(res.headers.etag) } });
  t.equal(cached.statusCode, 304);
});

for (const encrypted of [false, true]) {
  t.test(`independent verifiers accept the Response${encrypted ? ' with an encrypted Assertion' : ''} and reject a tampered one`, async (t) => {
    // Real time: the verifiers check the validity window against their own clock.
    const { app, database } = await buildTestApp(t, { now: new Date() });
    await db_world(database.db, encrypted);
    const res = await sso(app, { uai: UAI_A, personId: 'T1', resourceId: RES_P1 });
    t.equal(res.statusCode, 200, res.body);
    const xml = decode(res.json().samlResponse);
    if (encrypted) t.match(xml, /<saml:EncryptedAssertion/);
    if (encrypted) t.notMatch(xml, /Durand/, 'no clear values outside the encryption');
    const job: VerifyJob = {
      samlResponse: res.json().samlResponse,
      idpMetadata: app.idp.metadata(new Date()).xml,
      idpCert: testConfig().samlSigningCert,
      idpEntityId: app.idp.entityId,
      spEntityId: 'https://sp.test/metadata',
      acsUrl: 'https://sp.test/acs',
      spKey: sp.keyPem,
      spCert: sp.certPem,
      encrypted,
    };
    t.match(await schemaValidate(xml), { valid: true }, 'valid against the OASIS protocol schema');
    t.match(await xmlsecVerify(xml, job.idpCert, encrypted), { valid: true }, 'xmlsec1');
    const bySamlify = await samlifyVerify(job);
    t.match(bySamlify, { valid: true }, `samlify SP ${bySamlify.error ?? ''}`);
    t.same(bySamlify.attributes?.P_MEL, ['paul.durand@ac-test.fr']);
    const py = await pythonVerify(job);
    t.match(py.onelogin, { valid: true }, 'python3-saml');
    t.same(py.onelogin.attributes?.DIV, ['3A']);
    t.match(py.lasso, { valid: true }, 'Lasso');
    t.equal(py.lasso.nameId, bySamlify.nameId, 'same subject for every verifier');

    // Tampering: change one byte inside the signed content (or the ciphertext).
    const tamperedXml = encrypted
      ? xml.replace(/(<xenc:CipherValue>)([A-Za-z0-9+/])/g, (_m, a, c) => a + (c === 'A' ? 'B' : 'A'))
      : xml.replace('<saml:AttributeValue>3A<', '<saml:AttributeValue>3B<');
    t.not(tamperedXml, xml);
    const tampered = { ...job, samlResponse: Buffer.from(tamperedXml).toString('base64') };
    t.match(await xmlsecVerify(tamperedXml, job.idpCert, encrypted), { valid: false }, 'xmlsec1 rejects the tampered one');
    t.match(await samlifyVerify(tampered), { valid: false }, 'samlify rejects');
    const pyBad = await pythonVerify(tampered);
    t.match(pyBad.onelogin, { valid: false }, 'python3-saml rejects');
    t.match(pyBad.lasso, { valid: false }, 'Lasso rejects');
  });
}

async function db_world(db: Kysely<Database>, encrypt: boolean) {
  await world(db, { encrypt });
}
