import t from 'tap';
import { sql } from 'kysely';
import { importExport, type ExportFiles } from '../src/modules/feed-jobs/export-import.js';
import { buildTestApp } from './helper.js';
import { UAI_A, UAI_B, onboard } from './directory-fixtures.js';
import { z0Export } from './export-archives.js';

/*
 * An export as nightly exporters write it: every file mixes both schools and is split every few
 * elements, so neither school is whole in any one file. The job must apply each school whole, while
 * holding one file or one school in memory, never the export.
 */

const NS = 'xmlns="http://data.education.fr/ns/gar" Version="1.0"';
const PUPILS = 30;
const SPLIT = 7;

function records(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const u of [UAI_A, UAI_B]) {
    out.push(['GAR-ENT-Etab', `<GAREtab><GARStructureUAI>${u}</GARStructureUAI><GARStructureNomCourant>École ${u}</GARStructureNomCourant></GAREtab>`]);
  }
  // Interleaved: pupil i of A, then pupil i of B, and their memberships likewise.
  for (let i = 0; i < PUPILS; i++) {
    for (const u of [UAI_A, UAI_B]) {
      out.push([
        'GAR-ENT-Eleve',
        `<GAREleve><GARPersonIdentifiant>${u}-P${i}</GARPersonIdentifiant><GARPersonProfils><GARStructureUAI>${u}</GARStructureUAI><GARPersonProfil>National_elv</GARPersonProfil></GARPersonProfils><GARPersonNom>Nom${i}</GARPersonNom><GARPersonPrenom>Léa</GARPersonPrenom><GARPersonAutresPrenoms>Léa</GARPersonAutresPrenoms><GARPersonEtab>${u}</GARPersonEtab></GAREleve>`,
      ]);
    }
  }
  for (const u of [UAI_A, UAI_B]) {
    out.push(['GAR-ENT-Groupe', `<GARGroupe><GARGroupeCode>6A</GARGroupeCode><GARStructureUAI>${u}</GARStructureUAI><GARGroupeLibelle>6A</GARGroupeLibelle><GARGroupeStatut>DIVISION</GARGroupeStatut></GARGroupe>`]);
  }
  for (let i = 0; i < PUPILS; i++) {
    for (const u of [UAI_A, UAI_B]) {
      out.push(['GAR-ENT-Groupe', `<GARPersonGroupe><GARStructureUAI>${u}</GARStructureUAI><GARPersonIdentifiant>${u}-P${i}</GARPersonIdentifiant><GARGroupeCode>6A</GARGroupeCode></GARPersonGroupe>`]);
    }
  }
  return out;
}

/** Files of SPLIT records of one kind each, in order. */
function files(): Array<{ name: string; text: string }> {
  const byRoot = new Map<string, string[]>();
  for (const [root, rec] of records()) (byRoot.get(root) ?? byRoot.set(root, []).get(root)!).push(rec);
  const out: Array<{ name: string; text: string }> = [];
  for (const [root, recs] of byRoot) {
    for (let i = 0; i < recs.length; i += SPLIT) {
      out.push({ name: `Z0_GAR-ENT_Complet_20261125_${root}_${String(i / SPLIT).padStart(4, '0')}.xml`, text: `<${root} ${NS}>\n${recs.slice(i, i + SPLIT).join('\n')}\n</${root}>` });
    }
  }
  return out;
}

const inMemory = (list: Array<{ name: string; text: string }>): ExportFiles => ({
  count: async () => list.length,
  entries: async function* () {
    yield* list;
  },
});

t.test('an export whose schools are split across mixed files applies each school whole, holding one school or one file at a time', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const list = files();
  const both = (text: string) => text.includes(UAI_A) && text.includes(UAI_B);
  t.ok(list.filter((f) => both(f.text)).length >= 3, 'several files mix both schools');

  const held = { peak: 0 };
  const report = await importExport({ db: database.db, entId: 'Z0', now: new Date(), actor: 'test', files: inMemory(list), held });
  t.equal(report.problemCount, 0, JSON.stringify(report.problems));
  const total = report.progress.records.read;
  t.equal(total, 2 * (1 + PUPILS + 1 + PUPILS));
  for (const uai of [UAI_A, UAI_B]) {
    const e = report.establishments.find((x) => x.uai === uai)!;
    t.match(e, { state: 'applied', people: PUPILS, records: total / 2, result: { people: { created: PUPILS } } });
    t.ok(e.files > 2, 'the school was spread over several files');
    const members = await sql<{ n: string }>`select count(*)::text as n from group_members gm join groups g on g.id = gm.group_id where g.uai = ${uai}`.execute(database.db);
    t.equal(Number(members.rows[0]!.n), PUPILS, `every membership of ${uai} applied`);
  }
  // One school (its records) or one file at most, never both schools' records at once.
  t.ok(held.peak > 0, 'the spy saw records');
  t.ok(held.peak <= total / 2, `peak ${held.peak} ≤ one school's ${total / 2} records`);

  // The same export again without a pupil of A: a complete export marks them gone, B unchanged.
  const again = list.map((f) => ({ ...f, text: f.text.replace(new RegExp(`<(GAREleve|GARPersonGroupe)>(?:(?!</\\1>).)*>${UAI_A}-P3<(?:(?!</\\1>).)*</\\1>`, 'g'), '') }));
  const second = await importExport({ db: database.db, entId: 'Z0', now: new Date(), actor: 'test', files: inMemory(again) });
  t.match(second.establishments.find((x) => x.uai === UAI_A), { state: 'applied', people: PUPILS - 1, result: { people: { gone: 1 } } });
  t.match(second.establishments.find((x) => x.uai === UAI_B), { state: 'applied', people: PUPILS });
});

t.test('a complete export with RespAff files withdraws the managers it no longer names; one without leaves them', async (t) => {
  const { app, database } = await buildTestApp(t);
  await onboard(app);
  const run = (files: Record<string, string>) =>
    importExport({ db: database.db, entId: 'Z0', now: new Date(), actor: 'test', files: inMemory(Object.entries(files).map(([name, text]) => ({ name, text }))) });
  const managers = async () =>
    (await sql<{ person_id: string; uais: string[] }>`select person_id, uais from assignment_managers where ent_id = 'Z0' order by person_id`.execute(database.db)).rows;
  const respAff = (name: string) => name.includes('RespAff');

  t.match((await run(z0Export())).establishments, [{ state: 'applied' }, { state: 'applied' }]);
  t.same(await managers(), [{ person_id: 'E1-000001', uais: [UAI_A, UAI_B] }]);

  // Next night: the RespAff file names someone else for A only.
  const next = z0Export();
  for (const name of Object.keys(next).filter(respAff)) {
    next[name] = next[name]!.replace('E1-000001', 'T1-000001').replace(`<GARRespAffEtab>${UAI_B}</GARRespAffEtab>`, '');
  }
  await run(next);
  t.same(await managers(), [
    { person_id: 'E1-000001', uais: [] },
    { person_id: 'T1-000001', uais: [UAI_A] },
  ], 'the manager no longer named keeps no establishment; the new one has A');

  // An export without RespAff files says nothing about managers.
  const without = Object.fromEntries(Object.entries(z0Export()).filter(([name]) => !respAff(name)));
  await run(without);
  t.same((await managers()).map((m) => m.uais), [[], [UAI_A]]);
});
