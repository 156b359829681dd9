import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildTestApp, bearer, ministry, operator } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, RES_P2, UAI_A, UAI_B, UAI_OTHER_ENT, insertPerson, insertResource, insertSubscription } from './factories.js';
import { UAI_A as FEED_UAI_A, UAI_B as FEED_UAI_B, entZ0, fixture, onboard } from './directory-fixtures.js';

/*
 * The values publishers parse (GET /v1/attributes `formats`), the format a resource was approved
 * under, and the identifier that survives a move between ENT projects, read from real SAML
 * Responses of POST /v1/sso.
 */

const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const entZ1 = { sub: 'ent-z1', role: 'ent', entId: 'Z1' } as const;
const P1 = { sub: 'pub-1', role: 'publisher', publisherId: 'P1' } as const;
const P2 = { sub: 'pub-2', role: 'publisher', publisherId: 'P2' } as const;
const enc = encodeURIComponent;

const unescape = (v: string) => v.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
/** Attribute name → values, from the SAML Response of a granted POST /v1/sso. */
async function released(app: FastifyInstance, body: Record<string, unknown>, caller: Record<string, unknown> = ent) {
  const res = await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, caller), payload: body });
  if (res.statusCode !== 200) throw new Error(`sso ${res.statusCode}: ${res.body}`);
  const xml = Buffer.from(res.json().samlResponse, 'base64').toString('utf8');
  const out: Record<string, string[]> = {};
  for (const m of xml.matchAll(/<saml:Attribute Name="([^"]+)"[^>]*>(.*?)<\/saml:Attribute>/g)) {
    out[m[1]!] = [...m[2]!.matchAll(/<saml:AttributeValue>(.*?)<\/saml:AttributeValue>/g)].map((v) => unescape(v[1]!));
  }
  return { attrs: out, xml };
}

/** A publisher's data request for `codes`, approved in full by the ministry (a new approval). */
async function approveThroughReview(app: FastifyInstance, resourceId: string, codes: string[], publisher: Record<string, unknown> = P1) {
  const asked = await app.inject({
    method: 'POST',
    url: `/v1/resources/${enc(resourceId)}/data-requests`,
    headers: bearer(app, publisher),
    payload: { attributes: codes.map((code) => ({ code, purpose: `needs ${code}` })) },
  });
  if (asked.statusCode !== 201) throw new Error(asked.body);
  const reviewed = await app.inject({
    method: 'POST',
    url: `/v1/data-requests/${asked.json().id}/review`,
    headers: bearer(app, ministry),
    payload: { decisions: codes.map((code) => ({ code, approved: true, comment: 'ok' })) },
  });
  if (reviewed.statusCode !== 200) throw new Error(reviewed.body);
}

t.test('current formats: DIV and GRO code##label, idENT in Base64, IDC, LRA family, CIV, MEFSTAT4 levels in both degrees', async (t) => {
  const { app, database } = await buildTestApp(t);
  const db = database.db;
  const { e1, t1 } = await world(db);
  await db.updateTable('groups').set({ name: 'Troisième A' }).where('code', '=', '3A').execute();
  await db.updateTable('groups').set({ name: 'Latin ## 3e' }).where('code', '=', 'LAT3').execute();
  // The establishment's MEF list gives each MEF's MEFSTAT11; the person rows give MEF codes only.
  await db
    .insertInto('mefs')
    .values([
      { uai: UAI_A, code: '10310019110', name: '3EME', mefstat11: '21160010110' },
      { uai: UAI_A, code: '20010010110', name: '2NDE GT', mefstat11: '22110010110' },
      { uai: UAI_A, code: '99999999999', name: 'sans MEFSTAT11' },
    ])
    .execute();
  await db.updateTable('establishment_people').set({ mefs: ['10310019110', '99999999999'] }).where('person_id', '=', e1).where('uai', '=', UAI_A).execute();
  await db.updateTable('establishment_people').set({ mefs: ['10310019110', '20010010110'] }).where('person_id', '=', t1).execute();
  // UAI_B becomes a primary school: its feed's levels are MEFSTAT4 codes themselves.
  await db.updateTable('establishments').set({ degree: 1 }).where('uai', '=', UAI_B).execute();
  await db.updateTable('establishment_people').set({ mefs: ['1113'] }).where('person_id', '=', e1).where('uai', '=', UAI_B).execute();
  // A family: RES_P1 is the mother, a member resource of the same publisher has its own site.
  await db
    .updateTable('resources')
    .set({ access_url: 'https://maths.example/go', resource_url: 'https://maths.example/notice', catalogue: JSON.stringify({ mereFamille: true }) })
    .where('id', '=', RES_P1)
    .execute();
  await insertResource(db, { id: 'ark:/12345/maths-exos', publisherId: 'P1', accessUrl: 'https://exos.example/' });
  await db.updateTable('resources').set({ catalogue: JSON.stringify({ membreFamille: RES_P1 }) }).where('id', '=', 'ark:/12345/maths-exos').execute();

  const codes = ['UAI', 'CIV', 'DIV', 'GRO', 'idENT', 'IDC', 'LRA', 'MEF', 'E_MS4', 'P_MS4'];
  await approveThroughReview(app, RES_P1, codes);
  const stored = await db.selectFrom('released_attributes').select(['code', 'format_version']).where('resource_id', '=', RES_P1).execute();
  const versions = Object.fromEntries(stored.map((r) => [r.code, r.format_version]));
  t.same(versions, { UAI: 1, CIV: 1, DIV: 2, GRO: 2, idENT: 2, IDC: 1, LRA: 2, MEF: 1, E_MS4: 1, P_MS4: 1 }, 'a new approval stores the current version of each code');

  const pupil = await released(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 });
  const ido = pupil.attrs.IDO![0]!;
  t.match(ido, /^[0-9a-f]{128}$/);
  t.same(pupil.attrs.DIV, ['3A##Troisième A'], 'DIV: code##label');
  t.same(pupil.attrs.GRO, ['LAT3##Latin ## 3e'], 'GRO: code##label, the label as the feed gave it');
  t.same(pupil.attrs.idENT, ['WjA='], 'idENT: Base64 of Z0, padded, as in the entry link');
  t.equal(Buffer.from(pupil.attrs.idENT![0]!, 'base64').toString(), 'Z0');
  t.same(pupil.attrs.IDC, [`${RES_P1}_${ido}`], 'IDC: <idRessource>_<IDO>');
  t.same(pupil.attrs.LRA, ['https://maths.example/go', 'https://maths.example/notice', 'https://exos.example/'], 'LRA: the family’s URLs, its own first');
  t.same(pupil.attrs.CIV, ['Mme']);
  t.same(pupil.attrs.MEF, ['10310019110', '99999999999']);
  t.same(pupil.attrs.E_MS4, ['2116'], 'E_MS4 in 2D: the first four characters of the MEF’s MEFSTAT11; a MEF without one gives nothing');
  t.notOk(pupil.attrs.P_MS4, 'P_MS4 is for teachers');

  const teacher = await released(app, { uai: UAI_A, personId: 'T1', resourceId: RES_P1 });
  t.same(teacher.attrs.P_MS4, ['2116', '2211'], 'P_MS4: the levels of the MEFs taught');
  t.same(teacher.attrs.DIV, ['3A##Troisième A']);
  t.notOk(teacher.attrs.E_MS4);

  const primary = await released(app, { uai: UAI_B, personId: 'E1', resourceId: RES_P1 });
  t.same(primary.attrs.E_MS4, ['1113'], 'E_MS4 in 1D: GARPersonMEFSTAT4 as fed');
  t.notOk(primary.attrs.MEF, 'MEF has no source in a primary school: never sent from one, even approved');
  t.same(primary.attrs.DIV, ['5C##Groupe 5C'], 'classes of that school only');

  const dictionary = await app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, P1) });
  const byCode = Object.fromEntries(dictionary.json().items.map((a: { code: string }) => [a.code, a]));
  for (const code of ['DIV', 'GRO', 'idENT', 'LRA']) {
    t.same(byCode[code].formats.map((f: { version: number }) => f.version), [2, 1], `${code}: current format first, the older one kept`);
  }
  t.same(byCode.E_MS4.degrees, [1, 2]);
  t.same(byCode.P_MS4.degrees, [1, 2]);
  t.match(byCode.DIV.formats[0], { format: /##/, example: '3A##3e A' });
  t.notOk(byCode.P_MAT, 'P_MAT: no documented source, not in the dictionary');
});

t.test('a resource approved under version 1 keeps the old shapes until the publisher opts in or the ministry re-approves', async (t) => {
  const { app, database } = await buildTestApp(t);
  const db = database.db;
  await world(db); // approved under version 1, as before formats were versioned
  await db.updateTable('groups').set({ name: 'Troisième A' }).where('code', '=', '3A').execute();

  const before = await released(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 });
  t.same(before.attrs.DIV, ['3A'], 'version 1: the class code alone');
  t.same(before.attrs.GRO, ['LAT3']);

  const policyUrl = `/v1/resources/${enc(RES_P1)}/data-policy`;
  const policy = await app.inject({ method: 'GET', url: policyUrl, headers: bearer(app, P1) });
  const div = policy.json().approved.find((a: { code: string }) => a.code === 'DIV');
  t.match(div, { formatVersion: 1, currentFormatVersion: 2 }, 'the policy shows the format sent and the current one');

  const formatsUrl = `/v1/resources/${enc(RES_P1)}/attribute-formats`;
  const notReleased = await app.inject({ method: 'PUT', url: formatsUrl, headers: bearer(app, P1), payload: { codes: ['DIV', 'idENT'] } });
  t.equal(notReleased.statusCode, 400, 'idENT is not released for this resource');
  t.match(notReleased.json().errors, [{ path: 'body/codes/1' }]);
  const otherPublisher = await app.inject({ method: 'PUT', url: formatsUrl, headers: bearer(app, P2), payload: {} });
  t.equal(otherPublisher.statusCode, 404, 'another publisher cannot see the resource');
  const byMinistry = await app.inject({ method: 'PUT', url: formatsUrl, headers: bearer(app, ministry), payload: {} });
  t.equal(byMinistry.statusCode, 403, 'the opt-in is the publisher’s');

  const optIn = await app.inject({ method: 'PUT', url: formatsUrl, headers: bearer(app, P1), payload: { codes: ['DIV'] } });
  t.equal(optIn.statusCode, 200, optIn.body);
  t.match(optIn.json().approved.find((a: { code: string }) => a.code === 'DIV'), { formatVersion: 2, currentFormatVersion: 2 });
  t.match(optIn.json().approved.find((a: { code: string }) => a.code === 'GRO'), { formatVersion: 1 });
  const afterOptIn = await released(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 });
  t.same(afterOptIn.attrs.DIV, ['3A##Troisième A'], 'opted in: the new shape');
  t.same(afterOptIn.attrs.GRO, ['LAT3'], 'GRO was not opted in: still version 1');
  t.same(Object.keys(afterOptIn.attrs), Object.keys(before.attrs), 'nothing more is released');

  // The ministry re-approves (a new request, reviewed): every approved code takes its current format.
  await approveThroughReview(app, RES_P1, ['UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO', 'P_MEL']);
  const reapproved = await released(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 });
  t.same(reapproved.attrs.GRO, ['LAT3##Groupe LAT3'], 're-approved: the current shape');

  // A stored version the dictionary does not know never invents a shape: it falls back to the current one.
  await db.updateTable('released_attributes').set({ format_version: 9 }).where('code', '=', 'DIV').execute();
  t.same((await released(app, { uai: UAI_A, personId: 'E1', resourceId: RES_P1 })).attrs.DIV, ['3A##Troisième A']);
});

t.test('stable identifiers: the same across ENT projects for linked records, on resources the ministry set to stable', async (t) => {
  const { app, database } = await buildTestApp(t);
  const db = database.db;
  await world(db);
  // E1 of Z0 moved to a school of project Z1, where the ENT knows them as N9.
  await insertPerson(db, { entId: 'Z1', personId: 'N9', uai: UAI_OTHER_ENT, profiles: ['National_elv'] });
  await insertSubscription(db, { id: 'ABO-Z1', publisherId: 'P1', resourceId: RES_P1, uai: UAI_OTHER_ENT, assignmentType: 'ETABL' });
  await insertSubscription(db, { id: 'ABO-P2', publisherId: 'P2', resourceId: RES_P2, uai: UAI_A, assignmentType: 'ETABL' });
  await insertSubscription(db, { id: 'ABO-P2-Z1', publisherId: 'P2', resourceId: RES_P2, uai: UAI_OTHER_ENT, assignmentType: 'ETABL' });
  await db.insertInto('data_requests').values({ resource_id: RES_P2, status: 'reviewed', submitted_by: 'p', submitted_at: new Date() }).execute();
  const idoOf = async (resourceId: string, who: 'old' | 'new') =>
    (who === 'old'
      ? await released(app, { uai: UAI_A, personId: 'E1', resourceId })
      : await released(app, { uai: UAI_OTHER_ENT, personId: 'N9', resourceId }, entZ1)
    ).attrs.IDO![0]!;

  const projectOld = await idoOf(RES_P1, 'old');
  const projectNew = await idoOf(RES_P1, 'new');
  t.not(projectOld, projectNew, 'default (project scope): a move gives a new IDO, as GAR');

  const scope = (resourceId: string, idoScope: string) =>
    app.inject({ method: 'PUT', url: `/v1/resources/${enc(resourceId)}/ido-scope`, headers: bearer(app, ministry), payload: { idoScope } });
  t.equal((await scope(RES_P1, 'stable')).statusCode, 200);
  t.equal((await scope(RES_P2, 'stable')).statusCode, 200);
  const notYetLinked = [await idoOf(RES_P1, 'old'), await idoOf(RES_P1, 'new')];
  t.not(notYetLinked[0], notYetLinked[1], 'stable, but no link confirmed: still two people');

  const link = (caller: Record<string, unknown>, entId: string, personId: string, sameAs: Record<string, string>) =>
    app.inject({ method: 'PUT', url: `/v1/people/${entId}/${personId}/link`, headers: bearer(app, caller), payload: { sameAs } });
  t.equal((await link(ministry, 'Z1', 'N9', { entId: 'Z0', personId: 'E1' })).statusCode, 403, 'an operator’s decision');
  t.equal((await link(operator, 'Z1', 'N9', { entId: 'Z1', personId: 'N9' })).statusCode, 400, 'same project');
  t.equal((await link(operator, 'Z1', 'N9', { entId: 'Z0', personId: 'NOBODY' })).statusCode, 404);
  const linked = await link(operator, 'Z1', 'N9', { entId: 'Z0', personId: 'E1' });
  t.equal(linked.statusCode, 200, linked.body);
  t.match(linked.json(), { entId: 'Z1', personId: 'N9', sameAs: { entId: 'Z0', personId: 'E1' }, linkedRecords: 2 });

  const stableOld = await idoOf(RES_P1, 'old');
  const stableNew = await idoOf(RES_P1, 'new');
  t.equal(stableNew, stableOld, 'linked: the same identifier in both ENT projects');
  t.equal(stableOld, notYetLinked[0], 'the earlier record keeps the identifier it had: the publisher’s account stays');
  t.match(stableOld, /^[0-9a-f]{128}$/);
  const otherPublisher = await idoOf(RES_P2, 'old');
  t.equal(await idoOf(RES_P2, 'new'), otherPublisher, 'stable for the other publisher too');
  t.not(otherPublisher, stableOld, 'but per publisher: two publishers cannot join their users');

  const exported = await app.inject({ method: 'GET', url: '/v1/people/Z1/N9/export', headers: bearer(app, operator) });
  t.match(exported.json().projectLink, { linkedRecords: 2, confirmedAt: String }, 'the right of access shows the link');
  t.equal((await app.inject({ method: 'GET', url: '/v1/people/Z0/T1/export', headers: bearer(app, operator) })).json().projectLink, null);

  t.equal((await scope(RES_P1, 'project')).statusCode, 200);
  t.not(await idoOf(RES_P1, 'old'), await idoOf(RES_P1, 'new'), 'option off: different IDOs again');

  // Nothing stored or logged names the people or their link.
  const links = await db.selectFrom('person_links').selectAll().execute();
  t.equal(links.length, 2);
  t.notMatch(JSON.stringify(links), /"(E1|N9)"|E1|N9/, 'person_links holds keyed hashes, no person id');
  t.notOk(links.some((l) => l.link_key.includes(app.config.idoSecret)), 'nor the secret');
  const logs = await sql<{ row: string }>`select row_to_json(a)::text as row from access_log a`.execute(db);
  t.ok(logs.rows.length > 0);
  t.notOk(logs.rows.some((r) => r.row.includes(links[0]!.link_key)), 'the access log never holds a link key');
});

t.test('the feeds carry each MEF’s MEFSTAT11: GARMEFSTAT11 in GAR-ENT-Etab, mefs[].mefstat11 in the JSON snapshot', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const xml = fixture('etab.xml').replace('<men:GARMEFLibelle>3EME</men:GARMEFLibelle>', '<men:GARMEFLibelle>3EME</men:GARMEFLibelle><men:GARMEFSTAT11>21160010110</men:GARMEFSTAT11>');
  const fed = await app.inject({ method: 'POST', url: '/v1/feed/gar-ent', headers: { ...bearer(app, entZ0), 'content-type': 'application/xml' }, payload: xml });
  t.equal(fed.statusCode, 200, fed.body);
  const mefsOf = (uai: string) => database.db.selectFrom('mefs').select(['code', 'mefstat11']).where('uai', '=', uai).orderBy('code').execute();
  t.same(await mefsOf(FEED_UAI_A), [{ code: '10310019110', mefstat11: '21160010110' }]);

  const snapshot = {
    people: [],
    mefs: [
      { code: '20010010110', name: '2NDE GT', mefstat11: '22110010110' },
      { code: '99999999999', name: 'sans MEFSTAT11' },
    ],
  };
  const put = await app.inject({ method: 'PUT', url: `/v1/establishments/${FEED_UAI_B}/directory`, headers: bearer(app, entZ0), payload: snapshot });
  t.equal(put.statusCode, 200, put.body);
  t.same(await mefsOf(FEED_UAI_B), [
    { code: '20010010110', mefstat11: '22110010110' },
    { code: '99999999999', mefstat11: null },
  ]);
  const tooShort = await app.inject({
    method: 'PUT',
    url: `/v1/establishments/${FEED_UAI_B}/directory`,
    headers: bearer(app, entZ0),
    payload: { ...snapshot, mefs: [{ code: 'X', name: 'x', mefstat11: '21' }] },
  });
  t.equal(tooShort.statusCode, 400, 'a MEFSTAT11 shorter than a MEFSTAT4 is refused');
});
