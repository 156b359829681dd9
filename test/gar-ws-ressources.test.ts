import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { bearer, buildTestApp } from './helper.js';
import { baseWorld, insertAssignment, insertEstablishment, insertPerson, insertResource, insertSubscription, RES_P1, RES_P2, UAI_A, UAI_B, UAI_OTHER_ENT } from './factories.js';
import { validateXml } from './gar-ws-xsd.js';
import { entryLink } from '../src/lib/entry-link.js';

const ENT = { sub: 'ent-z0', role: 'ent', entId: 'Z0' };
const P1 = { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' };
const SIREN_P1 = '123456789_0000000000000001';
const CATALOGUE = {
  typePedagogique: [{ uri: 'http://data.education.fr/voc/scolomfr/concept/scolomfr-voc-010-num-014', nom: "manuel d'enseignement" }],
  niveauEducatif: [{ uri: 'http://data.education.fr/voc/scolomfr/concept/scolomfr-voc-022-num-027', nom: '3e' }],
  distributeurTech: '987654321_0000000000000002',
};

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const { app, database } = await buildTestApp(t);
  const db = database.db;
  await baseWorld(db);
  await db.updateTable('publishers').set({ siren_isni: SIREN_P1 }).where('id', '=', 'P1').execute();
  await db.updateTable('resources').set({ catalogue: JSON.stringify(CATALOGUE), thumbnail_url: 'https://cdn.example/m.png' }).where('id', '=', RES_P1).execute();
  await insertResource(db, { id: 'ark:/12345/hidden', publisherId: 'P1', name: 'Hidden' });
  await db.updateTable('resources').set({ catalogue: JSON.stringify({ diffusable: false }) }).where('id', '=', 'ark:/12345/hidden').execute();
  const e1 = await insertPerson(db, { personId: 'E1', uai: UAI_A, profiles: ['National_elv'] });
  const sub = await insertSubscription(db, { id: 'S1', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A });
  await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'person', personId: e1 });
  await insertSubscription(db, { id: 'S2', publisherId: 'P2', resourceId: RES_P2, uai: UAI_A, assignmentType: 'ETABL', audiences: ['ENSEIGNANT'] });
  await db.updateTable('establishments').set({ official: JSON.stringify({ nature_uai: '340', nature_uai_libe: 'COLLEGE', type_uai: 'CLG', commune: '65440', appellation_officielle: 'Collège Jean Moulin', code_postal_uai: '65000' }) }).where('uai', '=', UAI_A).execute();
  return { app, db };
}

t.test('ENT resource service: JSON and XML, always gzip, entry links, errors raw', async (t) => {
  const { app } = await setup(t);
  const url = `/ws/ressources/Z0/${UAI_A}/E1`;
  const json = await app.inject({ method: 'GET', url, headers: { ...bearer(app, ENT), accept: 'application/json', 'accept-encoding': 'gzip, deflate' } });
  t.equal(json.statusCode, 200);
  t.equal(json.headers['content-encoding'], 'gzip');
  const body = JSON.parse(gunzipSync(json.rawPayload).toString('utf8'));
  t.same(body, {
    listeRessources: {
      ressource: [
        {
          idRessource: RES_P1,
          idType: 'ARK',
          nomRessource: 'Maths 3e',
          idEditeur: SIREN_P1,
          nomEditeur: 'Éditions P1',
          urlVignette: 'https://cdn.example/m.png',
          typePresentation: { code: 'MAN', nom: 'manuels numériques' },
          typePedagogique: CATALOGUE.typePedagogique,
          typologieDocument: [],
          niveauEducatif: CATALOGUE.niveauEducatif,
          domaineEnseignement: [],
          urlAccesRessource: entryLink('https://broker.test', 'Z0', UAI_A, RES_P1),
          nomSourceEtiquetteGar: "Accessible via le Gestionnaire d'accès aux ressources (GAR)",
          urlSourceEtiquette: '',
          distributeurTech: '987654321_0000000000000002',
          validateurTech: SIREN_P1,
        },
      ],
    },
  });
  const link = new URL(body.listeRessources.ressource[0].urlAccesRessource);
  t.equal(link.pathname, '/domaineGar');
  t.equal(Buffer.from(link.searchParams.get('idENT')!, 'base64').toString(), 'Z0');
  t.equal(Buffer.from(link.searchParams.get('idEtab')!, 'base64').toString(), UAI_A);
  t.equal(link.searchParams.get('idRessource'), RES_P1);

  // No Accept header (laclasse): XML, gzip all the same, even without Accept-Encoding.
  const xml = await app.inject({ method: 'GET', url, headers: bearer(app, ENT) });
  t.equal(xml.statusCode, 200);
  t.equal(xml.headers['content-encoding'], 'gzip');
  t.match(xml.headers['content-type'], /application\/xml/);
  const text = gunzipSync(xml.rawPayload).toString('utf8');
  t.match(text, '<listeRessources><ressource><idRessource>ark:/12345/maths-3e</idRessource>');
  t.match(text, '<typePresentation><code>MAN</code><nom>manuels numériques</nom></typePresentation>');
  await validateXml(t, text);

  // The JSON API's list gives the same items.
  const api = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/E1/resources`, headers: bearer(app, ENT) });
  const { description: _d, subscriptionId: _s, validUntil: _v, sso: _o, ...same } = api.json().items[0];
  t.same(same, body.listeRessources.ressource[0], 'the JSON API lists the same fields');

  // Errors: never gzip, GAR's Erreur, a 4xx.
  const cases: Array<[string, number, string]> = [
    [`/ws/ressources/Z1/${UAI_OTHER_ENT}/F1`, 403, 'not your project'],
    [`/ws/ressources/Z0/${UAI_OTHER_ENT}/E1`, 404, 'Établissement non trouvé'],
    [`/ws/ressources/Z0/0650001X/E1`, 400, 'not a valid UAI'],
    [`/ws/ressources/Z0/${UAI_A}/NOBODY`, 404, 'Utilisateur non trouvé'],
  ];
  for (const [u, status, message] of cases) {
    const res = await app.inject({ method: 'GET', url: u, headers: { ...bearer(app, ENT), accept: 'application/json' } });
    t.equal(res.statusCode, status, u);
    t.equal(res.headers['content-encoding'], undefined, `${u}: not gzip-encoded`);
    t.match(res.json(), { Erreur: { Code: /./, Message: new RegExp(message), Resource: /^ressources\// } });
  }
  const xmlErr = await app.inject({ method: 'GET', url: `/ws/ressources/Z0/${UAI_A}/NOBODY`, headers: bearer(app, ENT) });
  await validateXml(t, xmlErr.body);
  const noToken = await app.inject({ method: 'GET', url });
  t.equal(noToken.statusCode, 401);
  t.match(noToken.body, '<Erreur>');
  const publisher = await app.inject({ method: 'GET', url, headers: bearer(app, P1) });
  t.equal(publisher.statusCode, 403);

  // A person with nothing assigned: an empty list, still gzip.
  await insertPerson(app.db, { personId: 'E9', uai: UAI_B, profiles: ['National_elv'] });
  const empty = await app.inject({ method: 'GET', url: `/ws/ressources/Z0/${UAI_B}/E9`, headers: { ...bearer(app, ENT), accept: 'application/json' } });
  t.same(JSON.parse(gunzipSync(empty.rawPayload).toString()), { listeRessources: { ressource: [] } });
});

t.test('resources open for diffusion', async (t) => {
  const { app } = await setup(t);
  const res = await app.inject({ method: 'GET', url: '/ws/ressourcesDiffusables', headers: bearer(app, ENT) });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-encoding'], 'gzip');
  const text = gunzipSync(res.rawPayload).toString();
  t.match(text, '<listeRessourcesDiffusables xmlns="http://gar.education.fr/schemas/init/0/1/"><dateGeneration>2026-11-25T10:00:00.000+01:00</dateGeneration>');
  t.notMatch(text, 'Hidden', 'a resource not open for diffusion is left out');
  await validateXml(t, text);
  const json = await app.inject({ method: 'GET', url: '/ws/ressourcesDiffusables', headers: { ...bearer(app, ENT), accept: 'application/json' } });
  const list = JSON.parse(gunzipSync(json.rawPayload).toString()).listeRessourcesDiffusables.ressourceDiffusable;
  t.match(list, [
    { idRessource: RES_P1, idEditeur: SIREN_P1, distributeursCom: [{ distributeurCom: SIREN_P1, nomDistributeurCom: 'Éditions P1' }], distributeurTech: '987654321_0000000000000002', affichable: true, diffusable: true, mereFamille: false },
    { idRessource: RES_P2, idEditeur: 'P2' },
  ]);
  t.equal(list.length, 2);
});

t.test('publishers: establishments list and assignment counts', async (t) => {
  const { app, db } = await setup(t);
  await insertEstablishment(db, '0650004B', 'Z1');
  const list = await app.inject({ method: 'GET', url: '/ws/abonnement/etablissements/etablissements.xml', headers: bearer(app, P1) });
  t.equal(list.statusCode, 200);
  t.match(list.headers['content-type'], /application\/xml/);
  t.match(list.body, '<listEtablissement xmlns="http://www.atosworldline.com/listEtablissement/v1.0/">');
  t.match(
    list.body,
    `<etablissement><uai>${UAI_A}</uai><idENT>WjA=</idENT><nature_uai>340</nature_uai><nature_uai_libe>COLLEGE</nature_uai_libe><type_uai>CLG</type_uai><commune>65440</commune><code_postal_uai>65000</code_postal_uai><appellation_officielle>Collège Jean Moulin</appellation_officielle></etablissement>`,
  );
  t.match(list.body, `<uai>${UAI_B}</uai><idENT>WjA=</idENT><appellation_officielle>Collège ${UAI_B}</appellation_officielle>`, 'the name when the official one is unknown');
  await validateXml(t, list.body);

  await db.updateTable('subscriptions').set({ project_code: 'PRJ-1' }).where('id', '=', 'S1').execute();
  const csv = await app.inject({ method: 'GET', url: '/ws/decompteaffectations?codeProjetRessource=PRJ-1', headers: bearer(app, P1) });
  t.equal(csv.statusCode, 200);
  t.match(csv.headers['content-type'], /text\/csv/);
  t.equal(
    csv.body,
    'UAI;idAbonnement;codeProjetRessource;idRessource;cumulAffectationEleve;cumulAffectationEnseignant;cumulAffectationDocumentaliste;cumulAffectationAutrePersonnel\n' +
      `${UAI_A};S1;PRJ-1;${RES_P1};1;0;null;null\n`,
  );
  const byId = await app.inject({ method: 'GET', url: '/ws/decompteaffectations?idAbonnement=S1', headers: bearer(app, P1) });
  t.match(byId.body, `${UAI_A};S1;PRJ-1;`);
  const other = await app.inject({ method: 'GET', url: '/ws/decompteaffectations?idAbonnement=S2', headers: bearer(app, P1) });
  t.equal(other.body.trim().split('\n').length, 1, "another publisher's subscription is not counted");
  for (const q of ['', '?idAbonnement=S1&codeProjetRessource=PRJ-1']) {
    const bad = await app.inject({ method: 'GET', url: `/ws/decompteaffectations${q}`, headers: bearer(app, P1) });
    t.equal(bad.statusCode, 400, `one of the two, not ${q || 'none'}`);
  }
});
