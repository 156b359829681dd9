import t from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { bearer, buildTestApp } from './helper.js';
import { baseWorld, insertEstablishment, RES_P1, RES_P2, UAI_A, UAI_B } from './factories.js';
import { parseGarDate, formatGarDate } from '../src/modules/gar-ws/gar-dates.js';
import { uaiCheckLetter } from '../src/lib/uai.js';
import { validateXml } from './gar-ws-xsd.js';

const NS = 'http://www.atosworldline.com/wsabonnement/v1.0/';
const SIREN_P1 = '123456789_0000000000000001';
const P1 = { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' };
const P2 = { sub: 'pub-p2', role: 'publisher', publisherId: 'P2' };
const UAI_PRIMARY = `0650009${uaiCheckLetter('0650009')}`;

/** An <abonnement> as GAR's clients send it (django-gar / edumedia order), with overrides; `null` removes an element. */
function abonnement(fields: Record<string, string | string[] | null> = {}): string {
  const base: Record<string, string | string[] | null> = {
    idAbonnement: 'ABO-1',
    commentaireAbonnement: 'Commande 42',
    idDistributeurCom: SIREN_P1,
    idRessource: RES_P1,
    typeIdRessource: 'ark',
    libelleRessource: 'Maths 3e',
    debutValidite: '2026-09-01T00:00:00',
    finValidite: '2027-08-31T23:59:59',
    uaiEtab: UAI_A,
    categorieAffectation: 'transferable',
    typeAffectation: 'INDIV',
    nbLicenceEnseignant: '10',
    nbLicenceEleve: 'ILLIMITE',
    publicCible: ['ENSEIGNANT', 'ELEVE'],
    ...fields,
  };
  const body = Object.entries(base)
    .filter(([, v]) => v !== null)
    .flatMap(([k, v]) => [v].flat().map((x) => `<${k}>${x}</${k}>`))
    .join('\n  ');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<abonnement xmlns="${NS}">\n  ${body}\n</abonnement>`;
}

async function world(db: Kysely<Database>) {
  await baseWorld(db);
  await db.updateTable('publishers').set({ siren_isni: SIREN_P1 }).where('id', '=', 'P1').execute();
  await insertEstablishment(db, UAI_PRIMARY, 'Z0');
  await db.updateTable('establishments').set({ official: JSON.stringify({ nature_uai: '151', type_uai: '1ORD' }) }).where('uai', '=', UAI_PRIMARY).execute();
}

const xmlHeaders = (app: FastifyInstance, who: Record<string, unknown> = P1) => ({ ...bearer(app, who), 'content-type': 'application/xml;charset=utf-8' });

t.test('dates: every shape clients send, one shape out', async (t) => {
  const want = '2026-09-01T00:00:00.000+02:00';
  for (const given of ['2026-09-01', '2026-09-01T00:00:00', '2026-09-01T00:00:00.000000', '2026-09-01T00:00:00.000+02:00', '2026-08-31T22:00:00Z', '2026-09-01 00:00:00']) {
    t.equal(formatGarDate(parseGarDate(given)!), want, given);
  }
  t.equal(formatGarDate(parseGarDate('2027-01-15')!), '2027-01-15T00:00:00.000+01:00', 'winter offset');
  for (const bad of ['2026-02-30', '2026-13-01', 'demain', '2026-09-01T25:00:00']) t.equal(parseGarDate(bad), undefined, bad);
});

t.test('create, read back by search, update without uaiEtab, delete, aboSuppr', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);

  const created = await app.inject({ method: 'PUT', url: '/ws/abonnement/ABO-1', headers: xmlHeaders(app), payload: abonnement() });
  t.equal(created.statusCode, 201, created.body);
  t.match(created.headers['content-type'], /application\/xml/);
  t.match(created.body, `<abonnement xmlns="${NS}">`);
  t.match(created.body, '<debutValidite>2026-09-01T00:00:00.000+02:00</debutValidite>');
  await validateXml(t, created.body);
  t.match(
    await database.db.selectFrom('audit_log').selectAll().execute(),
    [{ actor_role: 'publisher', action: 'PUT /ws/abonnement/:idAbonnement', object_id: 'ABO-1', fields: ['abonnement'], status: 201 }],
    'audited as the JSON API is',
  );

  const dup = await app.inject({ method: 'PUT', url: '/ws/abonnement/ABO-1', headers: xmlHeaders(app), payload: abonnement() });
  t.equal(dup.statusCode, 409);
  t.match(dup.body, 'existe deja');
  t.match(dup.body, /<Erreur><Code>Conflict<\/Code><Message>[^<]+<\/Message><Resource>ABO-1<\/Resource><\/Erreur>/);
  await validateXml(t, dup.body);

  // The JSON API sees the same subscription.
  const viaApi = await app.inject({ method: 'GET', url: '/v1/subscriptions/ABO-1', headers: bearer(app, P1) });
  t.equal(viaApi.statusCode, 200);
  t.match(viaApi.json(), { uai: UAI_A, resourceId: RES_P1, assignmentType: 'INDIV', licences: { teachers: 10, pupils: 'unlimited', librarians: 0, otherStaff: 0 }, category: 'transferable', resourceLabel: 'Maths 3e' });

  // Update: the whole record without uaiEtab, as edumedia re-posts it.
  const updated = await app.inject({
    method: 'POST',
    url: '/ws/abonnement/ABO-1',
    headers: { ...xmlHeaders(app), accept: 'application/json' },
    payload: abonnement({ uaiEtab: null, commentaireAbonnement: 'Avenant', finValidite: null, anneeFinValidite: '2027-2028', codeProjetRessource: 'PRJ-7' }),
  });
  t.equal(updated.statusCode, 200, updated.body);
  t.match(updated.json(), { idAbonnement: 'ABO-1', commentaireAbonnement: 'Avenant', anneeFinValidite: '2027-2028', finValidite: '2028-09-01T00:00:00.000+02:00', uaiEtab: UAI_A, codeProjetRessource: 'PRJ-7', publicCible: ['ELEVE', 'ENSEIGNANT'] });

  const withUai = await app.inject({ method: 'POST', url: '/ws/abonnement/ABO-1', headers: xmlHeaders(app), payload: abonnement({ uaiEtab: UAI_B }) });
  t.equal(withUai.statusCode, 400);
  t.match(withUai.body, 'uaiEtab cannot be given on an update');

  const missing = await app.inject({ method: 'POST', url: '/ws/abonnement/NOPE', headers: xmlHeaders(app), payload: abonnement({ idAbonnement: 'NOPE', uaiEtab: null }) });
  t.equal(missing.statusCode, 404);

  // Search with GET and a body, as vitta, django-gar and ludicat send it.
  const filtres = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><filtres xmlns="${NS}">${inner}</filtres>`;
  const search = (inner: string, query = '?debut=0&fin=5000', method: 'GET' | 'POST' = 'GET', accept?: string) =>
    app.inject({ method, url: `/ws/abonnement/abonnements${query}`, headers: { ...xmlHeaders(app), ...(accept ? { accept } : {}) }, payload: filtres(inner) });
  const found = await search(`<filtre><filtreNom>uaiEtab</filtreNom><filtreValeur>${UAI_A}</filtreValeur></filtre><triPar>idAbonnement</triPar><tri>ASC</tri>`);
  t.equal(found.statusCode, 200, found.body);
  t.match(found.body, `<abonnements xmlns="${NS}"><abonnement><idAbonnement>ABO-1</idAbonnement>`);
  await validateXml(t, found.body);
  const none = await search(`<filtre><filtreNom>uaiEtab</filtreNom><filtreValeur>${UAI_B}</filtreValeur></filtre>`);
  t.notMatch(none.body, '<abonnement>', 'the GET body filters');
  const json = await search(`<filtre><filtreNom>codeProjetRessource</filtreNom><filtreValeur>PRJ-7</filtreValeur></filtre>`, '', 'POST', 'application/json');
  t.same(json.json().abonnements.map((a: { idAbonnement: string }) => a.idAbonnement), ['ABO-1']);
  const badFilter = await search('<filtre><filtreNom>idRessource</filtreNom><filtreValeur>x</filtreValeur></filtre><tri>UP</tri>');
  t.equal(badFilter.statusCode, 400);
  t.match(badFilter.body, 'filtreNom "idRessource"');
  t.match(badFilter.body, 'tri "UP"', 'every problem listed');
  const otherDistributor = await search('<filtre><filtreNom>idDistributeurCom</filtreNom><filtreValeur>999999999_0000000000000009</filtreValeur></filtre>');
  t.notMatch(otherDistributor.body, '<abonnement>');

  const del = await app.inject({ method: 'DELETE', url: '/ws/abonnement/ABO-1', headers: bearer(app, P1) });
  t.equal(del.statusCode, 204);
  const actions = (await database.db.selectFrom('audit_log').select('action').orderBy('id').execute()).map((r) => r.action);
  t.same(actions, ['PUT /ws/abonnement/:idAbonnement', 'POST /ws/abonnement/:idAbonnement', 'DELETE /ws/abonnement/:idAbonnement'], 'changes audited, searches not');
  t.equal((await app.inject({ method: 'GET', url: '/v1/subscriptions/ABO-1', headers: bearer(app, P1) })).statusCode, 404, 'gone from the API');
  t.notMatch((await search('')).body, '<abonnement>', 'deleted subscriptions are not listed by default');
  const withDeleted = await search('<aboSuppr>true</aboSuppr>');
  t.match(withDeleted.body, '<idAbonnement>ABO-1</idAbonnement>', 'aboSuppr lists it with its id');
  t.equal((await app.inject({ method: 'DELETE', url: '/ws/abonnement/ABO-1', headers: bearer(app, P1) })).statusCode, 404);
  const again = await app.inject({ method: 'PUT', url: '/ws/abonnement/ABO-1', headers: xmlHeaders(app), payload: abonnement() });
  t.equal(again.statusCode, 201, 'the id can be used again after a delete');
  // A delete through the JSON API is kept the same way: both APIs show the same subscriptions.
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/subscriptions/ABO-1', headers: bearer(app, P1) })).statusCode, 204);
  const twice = await search('<aboSuppr>1</aboSuppr>', '', 'POST', 'application/json');
  t.same(twice.json().abonnements.map((a: { idAbonnement: string }) => a.idAbonnement), ['ABO-1', 'ABO-1'], 'both deleted ones, with their id');
});

t.test('every rule is checked and every problem listed', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const put = (id: string, body: string, who = P1) => app.inject({ method: 'PUT', url: `/ws/abonnement/${encodeURIComponent(id)}`, headers: xmlHeaders(app, who), payload: body });
  const cases: Array<[string, string, Record<string, string | string[] | null>, string[]]> = [
    ['RG12', 'abonnements', { idAbonnement: 'abonnements' }, ['RG12']],
    ['RG13', '_x', { idAbonnement: '_x' }, ['RG13']],
    ['too long', 'x'.repeat(46), { idAbonnement: 'x'.repeat(46) }, ['1 to 45 characters']],
    ['RG3', 'A3', { idAbonnement: 'A3', idDistributeurCom: '12345' }, ['RG3']],
    ['own distributor', 'A3b', { idAbonnement: 'A3b', idDistributeurCom: '999999999_0000000000000009' }, ['your own distributor id']],
    ['RG9 both', 'A9', { idAbonnement: 'A9', anneeFinValidite: '2026-2027' }, ['RG9']],
    ['RG9 neither', 'A9b', { idAbonnement: 'A9b', finValidite: null }, ['RG9']],
    ['RG8', 'A8', { idAbonnement: 'A8', finValidite: '2037-09-02' }, ['RG8']],
    ['RG10', 'A10', { idAbonnement: 'A10', finValidite: null, anneeFinValidite: '2026/2027' }, ['RG10']],
    ['RG7', 'A7', { idAbonnement: 'A7', finValidite: null, anneeFinValidite: '2026-2037' }, ['RG7']],
    ['RG4', 'A4', { idAbonnement: 'A4', categorieAffectation: 'cessible', typeAffectation: 'CLASSE' }, ['RG4: categorieAffectation', 'RG4: typeAffectation']],
    ['RG1', 'A1', { idAbonnement: 'A1', nbLicenceGlobale: '30' }, ['RG1']],
    ['RG1 none', 'A1b', { idAbonnement: 'A1b', nbLicenceEnseignant: null, nbLicenceEleve: null }, ['RG1']],
    ['RG6', 'A6', { idAbonnement: 'A6', typeAffectation: 'ETABL' }, ['RG6']],
    ['RG5', 'A5', { idAbonnement: 'A5', nbLicenceAutrePersonnel: '3' }, ['RG5']],
    ['RG11', 'A11', { idAbonnement: 'A11', uaiEtab: UAI_PRIMARY, publicCible: ['ELEVE', 'DOCUMENTALISTE'], nbLicenceEnseignant: null, nbLicenceProfDoc: '2' }, ['RG11: a first-degree', 'RG11: nbLicenceProfDoc']],
    ['RG2', 'A2', { idAbonnement: 'A2', uaiEtab: null }, ['RG2: uaiEtab is required']],
    ['codeNatureUAI', 'A2b', { idAbonnement: 'A2b', uaiEtab: null, codeNatureUAI: '340' }, ['codeNatureUAI']],
    ['several UAIs', 'A2c', { idAbonnement: 'A2c', uaiEtab: [UAI_A, UAI_B] }, ['one establishment per subscription']],
    ['unknown UAI', 'AU', { idAbonnement: 'AU', uaiEtab: '0000000B' }, ['not a valid UAI']],
    ['count format', 'AC', { idAbonnement: 'AC', nbLicenceEleve: 'beaucoup' }, ['nbLicenceEleve: "beaucoup"']],
    ['publicCible', 'AP', { idAbonnement: 'AP', publicCible: ['PARENT'] }, ['publicCible: "PARENT"']],
    ['dates', 'AD', { idAbonnement: 'AD', debutValidite: 'demain' }, ['debutValidite: "demain"']],
    ['path id', 'AX', { idAbonnement: 'AY' }, ['differs from the id in the path']],
    ['other publisher resource', 'AR', { idAbonnement: 'AR', idRessource: RES_P2 }, ['not one of your resources']],
    ['unknown element', 'AE', { idAbonnement: 'AE', couleur: 'bleu' }, ['couleur&gt; is not an element']],
  ];
  for (const [what, id, fields, expected] of cases) {
    const res = await put(id, abonnement(fields));
    t.equal(res.statusCode, 400, `${what}: 400`);
    for (const e of expected) t.match(res.body, e, `${what}: says "${e}"`);
  }
  // Several rules broken at once: all of them in one answer.
  const many = await put('AM', abonnement({ idAbonnement: 'AM', idDistributeurCom: 'x', typeAffectation: 'X', publicCible: [], finValidite: null }));
  t.equal(many.statusCode, 400);
  for (const e of ['RG3', 'RG4', 'publicCible is required', 'RG9']) t.match(many.body, e);
  const json = await app.inject({ method: 'PUT', url: '/ws/abonnement/AJ', headers: { ...xmlHeaders(app), accept: 'application/json' }, payload: abonnement({ idAbonnement: 'AJ', typeAffectation: 'X' }) });
  t.match(json.json(), { Erreur: { Code: 'Bad Request', Message: /RG4/, Resource: 'AJ' } });
  t.equal(await database.db.selectFrom('subscriptions').select('id').execute().then((r) => r.length), 0, 'nothing stored');

  // Hardened parsing.
  const dtd = await put('D', `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><abonnement xmlns="${NS}"><idAbonnement>&x;</idAbonnement></abonnement>`);
  t.equal(dtd.statusCode, 400);
  t.match(dtd.body, 'DOCTYPE');
  const deep = await put('D2', `<abonnement xmlns="${NS}">${'<a>'.repeat(10)}${'</a>'.repeat(10)}</abonnement>`);
  t.equal(deep.statusCode, 400);
  const broken = await put('D3', `<abonnement xmlns="${NS}"><idAbonnement>`);
  t.equal(broken.statusCode, 400);
  const wrongNs = await put('D4', abonnement({ idAbonnement: 'D4' }).replace(NS, 'urn:other'));
  t.match(wrongNs.body, 'namespace');
  const big = await put('D5', `<abonnement xmlns="${NS}"><commentaireAbonnement>${'x'.repeat(300 * 1024)}</commentaireAbonnement></abonnement>`);
  t.equal(big.statusCode, 413);
  const asJson = await app.inject({ method: 'PUT', url: '/ws/abonnement/D6', headers: bearer(app, P1), payload: { idAbonnement: 'D6' } });
  t.equal(asJson.statusCode, 415);
  t.match(asJson.body, '<Erreur>');
});

t.test('ETABL, global licences, first-degree rules pass when kept', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  const res = await app.inject({
    method: 'PUT',
    url: '/ws/abonnement/E1',
    headers: { ...xmlHeaders(app), accept: 'application/json' },
    payload: abonnement({ idAbonnement: 'E1', uaiEtab: UAI_PRIMARY, typeAffectation: 'ETABL', nbLicenceEnseignant: null, nbLicenceEleve: null, nbLicenceGlobale: 'ILLIMITE', categorieAffectation: 'non transferable', debutValidite: '2026-09-01T00:00:00.123456+02:00', finValidite: '2027-09-01' }),
  });
  t.equal(res.statusCode, 201, res.body);
  t.match(res.json(), { typeAffectation: 'ETABL', nbLicenceGlobale: 'ILLIMITE', categorieAffectation: 'non transferable', debutValidite: '2026-09-01T00:00:00.123+02:00' });
  // Another publisher neither sees nor deletes it.
  t.equal((await app.inject({ method: 'DELETE', url: '/ws/abonnement/E1', headers: bearer(app, P2) })).statusCode, 404);
  const p2 = await app.inject({ method: 'POST', url: '/ws/abonnement/abonnements', headers: { ...xmlHeaders(app, P2), accept: 'application/json' } });
  t.same(p2.json(), { abonnements: [] });
});

t.test('paging: debut and fin are positions from 1, fin inclusive, debut=0 read as 1', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  for (const n of [1, 2, 3, 4, 5]) {
    const r = await app.inject({ method: 'PUT', url: `/ws/abonnement/P${n}`, headers: xmlHeaders(app), payload: abonnement({ idAbonnement: `P${n}` }) });
    t.equal(r.statusCode, 201);
  }
  const ids = async (q: string, body = '') =>
    (await app.inject({ method: 'GET', url: `/ws/abonnement/abonnements${q}`, headers: { ...xmlHeaders(app), accept: 'application/json' }, payload: body })).json().abonnements.map((a: { idAbonnement: string }) => a.idAbonnement);
  t.same(await ids('?debut=0&fin=2'), ['P1', 'P2']);
  t.same(await ids('?debut=1&fin=2'), ['P1', 'P2']);
  t.same(await ids('?debut=3&fin=4'), ['P3', 'P4']);
  t.same(await ids(''), ['P1', 'P2', 'P3', 'P4', 'P5']);
  t.same(await ids('?debut=1&fin=3', `<filtres xmlns="${NS}"><triPar>idAbonnement</triPar><tri>DSC</tri></filtres>`), ['P5', 'P4', 'P3']);
  const bad = await app.inject({ method: 'GET', url: '/ws/abonnement/abonnements?debut=5&fin=2', headers: bearer(app, P1) });
  t.equal(bad.statusCode, 400);
});
