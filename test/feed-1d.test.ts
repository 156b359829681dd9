import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer } from './helper.js';
import { UAI_B, dumpDirectory, entZ0, onboard } from './directory-fixtures.js';

const run = promisify(execFile);

/*
 * GAR-ENT-1D (primary schools). The fixtures are checked against the ministry's schema, which the
 * project does not ship: it is read from the shared reference folder beside the repository
 * (GAR_REFERENCE_DIR overrides where that is).
 */
const REFERENCE = process.env.GAR_REFERENCE_DIR ?? fileURLToPath(new URL('../../shared/reference/', import.meta.url));
const XSD_1D = `${REFERENCE.replace(/\/?$/, '/')}GAR-ENT-1D.xsd`;
const fixturePath = (name: string) => fileURLToPath(new URL(`./fixtures/gar-ent-1d/${name}`, import.meta.url));
const fixture = (name: string) => readFileSync(fixturePath(name), 'utf8');
const KINDS = ['etab.xml', 'eleve.xml', 'enseignant.xml', 'groupe.xml', 'respaff.xml'];

const postXml = (app: FastifyInstance, xml: string) =>
  app.inject({ method: 'POST', url: '/v1/feed/gar-ent', headers: { ...bearer(app, entZ0), 'content-type': 'application/xml' }, payload: xml });

t.test('the five 1D fixtures are valid against GAR-ENT-1D.xsd (xmllint)', { skip: existsSync(XSD_1D) ? false : `no ${XSD_1D}: set GAR_REFERENCE_DIR` }, async (t) => {
  for (const name of KINDS) {
    const { stderr } = await run('xmllint', ['--noout', '--nonet', '--schema', XSD_1D, fixturePath(name)]);
    t.match(stderr, /validates/, name);
  }
  // And the schema does refuse what the broker refuses: a teacher's e-mail.
  const withMail = fixture('enseignant.xml').replace('<GARPersonEtab>0650002Z</GARPersonEtab>\n    <GAREnsSpecialitesPostes>', '<GARPersonMail>c@x.fr</GARPersonMail><GARPersonEtab>0650002Z</GARPersonEtab>\n    <GAREnsSpecialitesPostes>');
  const dir = mkdtempSync(join(tmpdir(), 'garb-1d-'));
  const tmp = join(dir, 'mail.xml');
  writeFileSync(tmp, withMail);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await t.rejects(run('xmllint', ['--noout', '--nonet', '--schema', XSD_1D, tmp]), 'the XSD refuses a 1D teacher e-mail too');
});

t.test('the five 1D kinds are imported into the same records as a 2D feed, and the school becomes degree 1', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const results: Record<string, Record<string, unknown>> = {};
  for (const name of KINDS) {
    const res = await postXml(app, fixture(name));
    t.equal(res.statusCode, 200, `${name}: ${res.body}`);
    results[name] = res.json();
  }
  t.match(results['etab.xml'], { kind: 'GAR-ENT-Etab', version: '1.0', degree: 1, uais: [UAI_B], establishments: { updated: 1 } });
  t.match(results['eleve.xml'], { kind: 'GAR-ENT-Eleve', degree: 1, records: 4, people: { created: 2 } });
  t.match(results['enseignant.xml'], { kind: 'GAR-ENT-Enseignant', people: { created: 2 } });
  t.match(results['groupe.xml'], { groups: { created: 2 }, memberships: { added: 3 } });
  t.match(results['respaff.xml'], { assignmentManagers: { created: 1 } });

  const est = await database.db.selectFrom('establishments').select(['name', 'degree']).where('uai', '=', UAI_B).executeTakeFirstOrThrow();
  t.same(est, { name: 'École élémentaire Jules Ferry', degree: 1 });
  const pupil = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/people/P1-000001`, headers: bearer(app, entZ0) });
  t.match(pupil.json(), { profiles: ['National_elv'], mefs: ['1113'], subjects: [], groups: [{ code: 'CE2A' }, { code: 'CHORALE' }] });
  const teacher = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_B}/people/P1-000900`, headers: bearer(app, entZ0) });
  t.match(teacher.json(), { profiles: ['National_ens'], disciplines: ['ENSCLASSE'], emails: [], mefs: ['1113'] });

  // The same content as a JSON snapshot with degree 1 gives the same rows.
  const viaJson = await buildTestApp(t);
  await onboard(viaJson.app);
  const snap = await viaJson.app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_B}/directory`, headers: bearer(viaJson.app, entZ0), payload: primarySnapshot() });
  t.equal(snap.statusCode, 200, snap.body);
  const a = await dumpDirectory(database.db, UAI_B);
  const b = await dumpDirectory(viaJson.database.db, UAI_B);
  t.ok(a.people.length === 4, 'something to compare');
  t.same(b, a, 'JSON (degree 1) and GAR-ENT-1D end in the same rows');
  const degree = await viaJson.database.db.selectFrom('establishments').select('degree').where('uai', '=', UAI_B).executeTakeFirstOrThrow();
  t.equal(degree.degree, 1, 'the snapshot set the degree');
});

t.test('1D rules: MEFSTAT4 at most 4 characters, no teacher e-mail, no 2D elements, paths in 1D names', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const long = fixture('eleve.xml').replace('<GARMEFSTAT4Code>1114</GARMEFSTAT4Code>', '<GARMEFSTAT4Code>10310019110</GARMEFSTAT4Code>');
  const r1 = await postXml(app, long);
  t.equal(r1.statusCode, 400);
  t.same(r1.json().errors, [{ path: '/GARPersonMEFSTAT4/1/GARMEFSTAT4Code', message: 'a MEFSTAT4 code has at most 4 characters' }]);

  const mail = fixture('enseignant.xml').replace('<GARPersonEtab>0650002Z</GARPersonEtab>\n    <GAREnsSpecialitesPostes>', '<GARPersonMail>c@x.fr</GARPersonMail><GARPersonEtab>0650002Z</GARPersonEtab>\n    <GAREnsSpecialitesPostes>');
  const r2 = await postXml(app, mail);
  t.equal(r2.statusCode, 400);
  t.match(r2.json().errors, [{ path: '/GAREnseignant/0/GARPersonMail', message: /no teacher e-mail/ }]);

  const subjects = fixture('eleve.xml').replace('</GAR-ENT-Eleve>', '<GAREleveEnseignement><GARStructureUAI>0650002Z</GARStructureUAI></GAREleveEnseignement></GAR-ENT-Eleve>');
  const r3 = await postXml(app, subjects);
  t.equal(r3.statusCode, 400);
  t.match(r3.json().detail, /<GAREleveEnseignement> does not belong in a GAR-ENT-Eleve file/);

  const dangling = fixture('eleve.xml').replace('<GARPersonIdentifiant>P1-000002</GARPersonIdentifiant>\n    <GARMEFSTAT4Code>', '<GARPersonIdentifiant>ghost</GARPersonIdentifiant>\n    <GARMEFSTAT4Code>');
  const r4 = await postXml(app, dangling);
  t.equal(r4.statusCode, 400);
  t.same(r4.json().errors, [{ path: '/GARPersonMEFSTAT4/1/GARPersonIdentifiant', message: `no person "ghost" at ${UAI_B}` }]);

  // The namespace says 1D, whatever the Version attribute: read as 1D (the value is only reported).
  const version = await postXml(app, fixture('etab.xml').replace('Version="1.0"', 'Version="1.7"'));
  t.equal(version.statusCode, 200, 'a 2D version number on a 1D file is read by its namespace');
  t.match(version.json(), { version: '1.7', degree: 1 });
  t.same((await dumpDirectory(database.db, UAI_B)).people, [], 'nothing stored');

  // The JSON snapshot of a primary school says the same.
  const snap = primarySnapshot();
  (snap.people[0] as Record<string, unknown>).mefs = ['10310019110'];
  (snap.people[2] as Record<string, unknown>).emails = ['c@x.fr'];
  const bad = { ...snap, subjects: [{ code: '030201', name: 'Maths' }] };
  const res = await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_B}/directory`, headers: bearer(app, entZ0), payload: bad });
  t.equal(res.statusCode, 400);
  t.same(
    (res.json().errors as Array<{ path: string }>).map((e) => e.path).sort(),
    ['/people/0/mefs/0', '/people/2/emails', '/subjects'],
  );
});

function primarySnapshot() {
  const pupil = (id: string, lastName: string, firstName: string, mef: string, civility?: string) => ({
    id,
    lastName,
    firstName,
    otherFirstNames: [firstName],
    ...(civility ? { civility } : {}),
    ...(id === 'P1-000001' ? { birthDate: '2017-02-03' } : {}),
    profiles: [{ uai: UAI_B, profile: 'National_elv' }],
    mefs: [mef],
  });
  return {
    establishment: { name: 'École élémentaire Jules Ferry', degree: 1 as const },
    people: [
      pupil('P1-000001', 'Petit', 'Jade', '1113', 'Mme') as Record<string, unknown> & { mefs: string[] },
      pupil('P1-000002', 'Moreau', 'Noé', '1114'),
      { id: 'P1-000900', lastName: 'Bernard', firstName: 'Claire', otherFirstNames: ['Claire'], civility: 'Mme', profiles: [{ uai: UAI_B, profile: 'National_ens' }], disciplines: ['ENSCLASSE'], mefs: ['1113'] },
      { id: 'P1-000901', lastName: 'Lefèvre', firstName: 'Marc', otherFirstNames: ['Marc'], civility: 'M.', profiles: [{ uai: UAI_B, profile: 'National_dir' }] },
    ],
    groups: [
      { code: 'CE2A', name: 'CE2 A', kind: 'DIVISION' as const },
      { code: 'CHORALE', name: 'Chorale', kind: 'GROUPE' as const, divisions: ['CE2A'] },
    ],
    memberships: [
      { personId: 'P1-000001', groupCode: 'CE2A' },
      { personId: 'P1-000001', groupCode: 'CHORALE' },
      { personId: 'P1-000900', groupCode: 'CE2A' },
    ],
  };
}
