import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer } from './helper.js';
import { UAI_A, UAI_B, UAI_OTHER, dumpDirectory, entZ0, entZ1, fixture, onboard, sampleSnapshot } from './directory-fixtures.js';

const postXml = (app: FastifyInstance, xml: string, caller: Parameters<typeof bearer>[1] = entZ0, type = 'application/xml') =>
  app.inject({ method: 'POST', url: '/v1/feed/gar-ent', headers: { ...bearer(app, caller), 'content-type': type }, payload: xml });

const ALL = ['etab.xml', 'eleve.xml', 'enseignant.xml', 'groupe.xml', 'respaff.xml'];

t.test('each of the five kinds is imported', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);

  const etab = await postXml(app, fixture('etab.xml'));
  t.equal(etab.statusCode, 200, etab.body);
  t.match(etab.json(), { kind: 'GAR-ENT-Etab', version: '1.7', uais: [UAI_A], records: 4, establishments: { updated: 1 }, subjects: { upserted: 2 }, mefs: { upserted: 1 } });

  const eleve = await postXml(app, fixture('eleve.xml'));
  t.equal(eleve.statusCode, 200, eleve.body);
  t.match(eleve.json(), { kind: 'GAR-ENT-Eleve', records: 5, people: { created: 2, updated: 0, unchanged: 0 } });

  const ens = await postXml(app, fixture('enseignant.xml'), entZ0, 'text/xml; charset=utf-8');
  t.equal(ens.statusCode, 200, ens.body);
  t.match(ens.json(), { kind: 'GAR-ENT-Enseignant', uais: [UAI_A, UAI_B], people: { created: 2 } });

  const groupe = await postXml(app, fixture('groupe.xml'));
  t.equal(groupe.statusCode, 200, groupe.body);
  t.match(groupe.json(), { kind: 'GAR-ENT-Groupe', groups: { created: 2 }, memberships: { added: 3 }, teachings: { added: 2, updated: 0 } });

  const resp = await postXml(app, fixture('respaff.xml'));
  t.equal(resp.statusCode, 200, resp.body);
  t.match(resp.json(), { kind: 'GAR-ENT-RespAff', assignmentManagers: { created: 1, updated: 0, unchanged: 0 } });
  const managers = await database.db.selectFrom('assignment_managers').select(['ent_id', 'person_id', 'email', 'uais']).execute();
  t.same(managers, [{ ent_id: 'Z0', person_id: 'E1-000001', email: 'ce.0650001y@ac-toulouse.fr', uais: [UAI_A, UAI_B] }]);

  const teacherB = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/people/E1-000900`, headers: bearer(app, entZ0) });
  t.match(teacherB.json(), { profiles: ['National_ens'], goneAt: null }, 'a teacher of two schools is placed in both');
  const doc = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/E1-000950`, headers: bearer(app, entZ0) });
  t.same(doc.json().profiles, ['National_doc'], 'National_DOC stored in canonical form');
  const summary = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0) });
  t.match(summary.json(), { name: 'Collège Jean Moulin', people: { active: 4 }, memberships: 3, teachings: 2, assignmentManagers: 1 });

  // The same files again: nothing to do.
  for (const name of ALL) {
    const again = await postXml(app, fixture(name));
    t.equal(again.statusCode, 200);
    const j = again.json();
    t.same(
      [j.people.created, j.people.updated, j.groups.created, j.groups.updated, j.memberships.added, j.teachings.added, j.teachings.updated, j.assignmentManagers.updated],
      [0, 0, 0, 0, 0, 0, 0, 0],
      `${name} twice changes nothing`,
    );
  }
});

t.test('the JSON and XML feeds give the same stored directory for the same content', async (t) => {
  const viaJson = await buildTestApp(t);
  await onboard(viaJson.app);
  const res = await viaJson.app.inject({
    method: 'PUT',
    url: `/v1/establishments/${UAI_A}/directory`,
    headers: bearer(viaJson.app, entZ0),
    payload: sampleSnapshot(),
  });
  t.equal(res.statusCode, 200, res.body);

  const viaXml = await buildTestApp(t);
  await onboard(viaXml.app);
  for (const name of ['etab.xml', 'eleve.xml', 'enseignant.xml', 'groupe.xml']) {
    const r = await postXml(viaXml.app, fixture(name));
    t.equal(r.statusCode, 200, r.body);
  }
  const a = await dumpDirectory(viaJson.database.db, UAI_A);
  const b = await dumpDirectory(viaXml.database.db, UAI_A);
  t.ok(a.people.length === 4 && a.members.length === 3, 'something to compare');
  t.same(b, a);
});

t.test('a file naming another project’s establishment is refused whole', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const xml = fixture('eleve.xml').replace(
    '<GARPersonEtab>0650001Y</GARPersonEtab>\n    <GARPersonDateNaissance>2012-05-06',
    `<GARPersonEtab>0650001Y</GARPersonEtab>\n    <GARPersonEtab>${UAI_OTHER}</GARPersonEtab>\n    <GARPersonDateNaissance>2012-05-06`,
  );
  t.not(xml, fixture('eleve.xml'));
  const res = await postXml(app, xml);
  t.equal(res.statusCode, 403);
  t.same(res.json().uais, [UAI_OTHER]);
  t.same((await dumpDirectory(database.db, UAI_A)).people, [], 'nothing stored');
  t.equal((await postXml(app, fixture('etab.xml'), entZ1)).statusCode, 403, 'another project’s whole file');
});

t.test('invalid files are 400 with every failing value', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const bad = fixture('eleve.xml')
    .replace('<GARPersonProfil>National_elv</GARPersonProfil>', '<GARPersonProfil>National_xyz</GARPersonProfil>')
    .replace('<GARPersonCivilite>M.</GARPersonCivilite>', '<GARPersonCivilite>Dr</GARPersonCivilite>')
    .replace('<GARPersonIdentifiant>E1-000124</GARPersonIdentifiant>\n    <GARMEFCode>', '<GARPersonIdentifiant>ghost</GARPersonIdentifiant>\n    <GARMEFCode>');
  const res = await postXml(app, bad);
  t.equal(res.statusCode, 400, res.body);
  t.same(
    (res.json().errors as Array<{ path: string }>).map((e) => e.path),
    ['/GAREleve/0/GARPersonProfils/0/GARPersonProfil', '/GAREleve/0/GARPersonEtab/0', '/GAREleve/1/GARPersonCivilite'],
  );
  // With the people fixed, the dangling MEF reference is reported (it needs the database to know).
  const dangling = fixture('eleve.xml').replace(
    '<GARPersonIdentifiant>E1-000124</GARPersonIdentifiant>\n    <GARMEFCode>',
    '<GARPersonIdentifiant>ghost</GARPersonIdentifiant>\n    <GARMEFCode>',
  );
  const r2 = await postXml(app, dangling);
  t.equal(r2.statusCode, 400);
  t.same(r2.json().errors, [{ path: '/GARPersonMEF/1/GARPersonIdentifiant', message: `no person "ghost" at ${UAI_A}` }]);
  t.same((await dumpDirectory(database.db, UAI_A)).people, [], 'nothing stored');

  const groupsFirst = await postXml(app, fixture('groupe.xml'));
  t.equal(groupsFirst.statusCode, 400, 'memberships of people not yet fed');
  t.ok((groupsFirst.json().errors as unknown[]).length >= 4);

  for (const [what, xml] of [
    ['not XML', 'hello'],
    ['not well-formed', '<GAR-ENT-Eleve xmlns="http://data.education.fr/ns/gar" Version="1.7"><GAREleve></GAR-ENT-Eleve>'],
    ['wrong namespace', '<GAR-ENT-Eleve xmlns="urn:other" Version="1.7"/>'],
    ['unknown root', '<GAR-ENT-Autre xmlns="http://data.education.fr/ns/gar" Version="1.7"/>'],
    ['element of another kind', '<GAR-ENT-Eleve xmlns="http://data.education.fr/ns/gar" Version="1.7"><GARGroupe/></GAR-ENT-Eleve>'],
    ['undefined entity', '<GAR-ENT-RespAff xmlns="http://data.education.fr/ns/gar" Version="1.7">&foo;</GAR-ENT-RespAff>'],
  ] as const) {
    const r = await postXml(app, xml);
    t.equal(r.statusCode, 400, what);
    t.match(r.headers['content-type'], 'application/problem+json');
  }
  const json = await app.inject({ method: 'POST', url: '/v1/feed/gar-ent', headers: bearer(app, entZ0), payload: { a: 1 } });
  t.equal(json.statusCode, 415, 'a JSON body is not a GAR-ENT file');
});

t.test('files as deployed exporters write them: any Version is read by namespace and content, one file may mix establishments', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const v10 = (name: string) => fixture(name).replace('Version="1.7"', 'Version="1.0"');
  // A pupil of the second school in the same file as the first school's pupils.
  const pupilB = fixture('eleve.xml').split('<GAREleve>')[1]!.split('</GAREleve>')[0]!.replaceAll('0650001Y', UAI_B).replace('E1-000123', 'E2-000001');
  const mixed = v10('eleve.xml').replace('<GARPersonMEF>', `<GAREleve>${pupilB}</GAREleve>\n  <GARPersonMEF>`);
  for (const [name, xml] of [['etab.xml', v10('etab.xml')], ['eleve.xml', mixed], ['enseignant.xml', v10('enseignant.xml')], ['groupe.xml', v10('groupe.xml')]] as const) {
    const r = await postXml(app, xml);
    t.equal(r.statusCode, 200, `${name} with Version="1.0": ${r.body.slice(0, 300)}`);
    t.equal(r.json().version, '1.0', 'the version is reported as written');
  }
  t.equal((await dumpDirectory(database.db, UAI_A)).people.length, 4);
  const b = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/people/E2-000001`, headers: bearer(app, entZ0) });
  t.equal(b.statusCode, 200, 'the other school’s pupil of the mixed file is stored there');
  for (const version of ['1.6', '2.0', '']) {
    const r = await postXml(app, `<GAR-ENT-Eleve xmlns="http://data.education.fr/ns/gar"${version ? ` Version="${version}"` : ''}/>`);
    t.equal(r.statusCode, 200, `Version "${version}" is read`);
  }
  // What the content breaks is still refused, whatever the version.
  const broken = v10('eleve.xml').replace('<GARPersonNom>Martin</GARPersonNom>', '');
  const r = await postXml(app, broken);
  t.equal(r.statusCode, 400);
  t.match(r.json().errors, [{ path: '/GAREleve/0/GARPersonNom', message: 'is required' }]);
});

t.test('hostile XML is refused at once', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const laughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('\n') +
    '\n]>\n<GAR-ENT-RespAff xmlns="http://data.education.fr/ns/gar" Version="1.7"><GARRespAff><GARPersonIdentifiant>&lol9;</GARPersonIdentifiant></GARRespAff></GAR-ENT-RespAff>';
  const xxe =
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
    '<GAR-ENT-RespAff xmlns="http://data.education.fr/ns/gar" Version="1.7"><GARRespAff><GARPersonIdentifiant>&x;</GARPersonIdentifiant></GARRespAff></GAR-ENT-RespAff>';
  // A quadratic blow-up without DTD: one huge text node.
  const longText = `<GAR-ENT-RespAff xmlns="http://data.education.fr/ns/gar" Version="1.7"><GARRespAff><GARPersonNom>${'a'.repeat(1_000_000)}</GARPersonNom></GARRespAff></GAR-ENT-RespAff>`;
  const deep = `<GAR-ENT-RespAff xmlns="http://data.education.fr/ns/gar" Version="1.7">${'<GARRespAff>'.repeat(5000)}</GAR-ENT-RespAff>`;
  // "At once" is asserted by the reason, not by a clock: each is refused by the streaming
  // parser's own guard (DTD, text length, depth), which stops reading at the first offence.
  for (const [what, xml, reason] of [
    ['billion laughs', laughs, /DTD|DOCTYPE/i],
    ['external entity', xxe, /DTD|DOCTYPE/i],
    ['huge text node', longText, /longer than 4096 characters/],
    ['deep nesting', deep, /deep|depth|nest/i],
  ] as const) {
    const res = await postXml(app, xml);
    t.equal(res.statusCode, 400, what);
    t.match(res.body, reason, `${what} is refused by its guard`);
    t.notOk(res.body.includes('root:'), 'nothing of the host leaks');
  }
  const big = await postXml(app, `<GAR-ENT-Etab xmlns="http://data.education.fr/ns/gar" Version="1.7"><!--${'x'.repeat(21 * 1024 * 1024)}--></GAR-ENT-Etab>`);
  t.equal(big.statusCode, 413, 'more than 20 MiB');
});

t.test('a file of 10,000 nodes goes through', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const n = 10_000;
  const people = Array.from(
    { length: n },
    (_, i) =>
      `<GAREleve><GARPersonIdentifiant>P${i}</GARPersonIdentifiant><GARPersonProfils><GARStructureUAI>${UAI_A}</GARStructureUAI>` +
      `<GARPersonProfil>National_elv</GARPersonProfil></GARPersonProfils><GARPersonNom>Nom${i}</GARPersonNom>` +
      `<GARPersonPrenom>Prenom${i}</GARPersonPrenom><GARPersonAutresPrenoms>Prenom${i}</GARPersonAutresPrenoms>` +
      `<GARPersonEtab>${UAI_A}</GARPersonEtab></GAREleve>`,
  ).join('\n');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<GAR-ENT-Eleve xmlns="http://data.education.fr/ns/gar" Version="1.7">\n${people}\n</GAR-ENT-Eleve>`;
  const started = performance.now();
  const res = await postXml(app, xml);
  t.equal(res.statusCode, 200, res.body.slice(0, 500));
  t.match(res.json(), { records: n, people: { created: n } });
  t.comment(`10,000 pupils imported in ${(performance.now() - started).toFixed(0)} ms (${(xml.length / 1e6).toFixed(1)} MB)`);
  const summary = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(app, entZ0) });
  t.equal(summary.json().people.active, n);
});
