import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { bearer, buildTestApp, operator } from './helper.js';
import { baseWorld, insertPerson, insertSubscription, RES_P1, RES_P2, UAI_A, UAI_OTHER_ENT } from './factories.js';
import { testCertificate } from './keys.js';

const P1 = { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' };
const ENT = { sub: 'ent-z0', role: 'ent', entId: 'Z0' };
const enc = encodeURIComponent;
const concept = (voc: string, n: string) => ({ uri: `http://data.education.fr/voc/scolomfr/concept/scolomfr-voc-${voc}-num-${n}`, nom: `c${n}` });

t.test('catalogue fields: validated, stored, and shown by the resource lists', async (t) => {
  const { app, database } = await buildTestApp(t);
  await baseWorld(database.db);
  const put = (body: unknown, id = RES_P1, who: Record<string, unknown> = P1) =>
    app.inject({ method: 'PUT', url: `/v1/resources/${enc(id)}/catalogue`, headers: bearer(app, who), payload: body as object });

  const bad = await put({
    typePresentation: 'XYZ',
    urlVignette: 'http://cdn.example/x.png',
    typePedagogique: [concept('022', '1')],
    distributeurTech: '12345',
    colour: 'blue',
  });
  t.equal(bad.statusCode, 400);
  const paths = (bad.json().errors as Array<{ path: string }>).map((e) => e.path);
  for (const p of ['body/typePresentation', 'body/urlVignette', 'body/typePedagogique/0/uri', 'body/distributeurTech', 'body/colour']) {
    t.ok(paths.includes(p), `${p} is reported`);
  }
  t.equal((await put({ membreFamille: 'not an ark' })).statusCode, 400, 'the family mother is an ARK');
  t.equal((await put({}, RES_P2)).statusCode, 404, "another publisher's resource reads as unknown");

  const good = {
    typePresentation: 'DIC',
    urlVignette: 'https://cdn.example/atlas.png',
    urlNotice: 'https://notices.example/maths',
    typePedagogique: [concept('010', '14')],
    typologieDocument: [concept('005', '2')],
    niveauEducatif: [concept('022', '27')],
    domaineEnseignement: [concept('015', '8')],
    nomSourceEtiquetteGar: 'Accessible via gar-broker',
    urlSourceEtiquette: 'https://broker.example/etiquette',
    validateurTech: '111111111_0000000000000001',
    mereFamille: true,
    affichable: false,
  };
  const ok = await put(good);
  t.equal(ok.statusCode, 200, ok.body);
  const read = await app.inject({ method: 'GET', url: `/v1/resources/${enc(RES_P1)}/catalogue`, headers: bearer(app, operator) });
  t.same(read.json(), { resourceId: RES_P1, catalogue: good });
  t.equal((await app.inject({ method: 'GET', url: `/v1/resources/${enc(RES_P2)}/catalogue`, headers: bearer(app, P1) })).statusCode, 404);

  await insertPerson(database.db, { personId: 'E1', uai: UAI_A, profiles: ['National_elv'] });
  await insertSubscription(database.db, { id: 'S', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A, assignmentType: 'ETABL' });
  const list = await app.inject({ method: 'GET', url: `/ws/ressources/Z0/${UAI_A}/E1`, headers: { ...bearer(app, ENT), accept: 'application/json' } });
  t.match(JSON.parse(gunzipSync(list.rawPayload).toString()).listeRessources.ressource[0], {
    typePresentation: { code: 'DIC', nom: 'ressources de référence, dictionnaires et encyclopédies' },
    urlVignette: 'https://cdn.example/atlas.png',
    domaineEnseignement: [concept('015', '8')],
    nomSourceEtiquetteGar: 'Accessible via gar-broker',
    validateurTech: '111111111_0000000000000001',
  });
  const diff = await app.inject({ method: 'GET', url: '/ws/ressourcesDiffusables', headers: { ...bearer(app, ENT), accept: 'application/json' } });
  t.match(JSON.parse(gunzipSync(diff.rawPayload).toString()).listeRessourcesDiffusables.ressourceDiffusable[0], { idRessource: RES_P1, mereFamille: true, affichable: false });
});

t.test('official fields by the operator or the ENT project; SIREN_ISNI by the operator', async (t) => {
  const { app, database } = await buildTestApp(t);
  await baseWorld(database.db);
  const official = { nature_uai: '151', nature_uai_libe: 'ECOLE DE NIVEAU ELEMENTAIRE', type_uai: '1ORD', appellation_officielle: 'École Jules Ferry' };
  const byEnt = await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/official`, headers: bearer(app, ENT), payload: official });
  t.equal(byEnt.statusCode, 200, byEnt.body);
  t.equal((await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_OTHER_ENT}/official`, headers: bearer(app, ENT), payload: official })).statusCode, 403);
  t.equal((await app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/official`, headers: bearer(app, ENT), payload: { couleur: 'x' } })).statusCode, 400);

  const siren = await app.inject({ method: 'PUT', url: '/v1/publishers/P1/siren-isni', headers: bearer(app, operator), payload: { sirenIsni: '123456789_0000000000000001' } });
  t.equal(siren.statusCode, 200);
  t.equal((await app.inject({ method: 'PUT', url: '/v1/publishers/P2/siren-isni', headers: bearer(app, operator), payload: { sirenIsni: '123456789_0000000000000001' } })).statusCode, 409);
  t.equal((await app.inject({ method: 'PUT', url: '/v1/publishers/P9/siren-isni', headers: bearer(app, operator), payload: { sirenIsni: '123456789_0000000000000009' } })).statusCode, 404);
  t.equal((await app.inject({ method: 'PUT', url: '/v1/publishers/P1/siren-isni', headers: bearer(app, operator), payload: { sirenIsni: '1234' } })).statusCode, 400);

  // The first-degree school now refuses DOCUMENTALISTE (RG11), and idDistributeurCom must be P1's SIREN_ISNI.
  const abo = (distributor: string) =>
    `<abonnement xmlns="http://www.atosworldline.com/wsabonnement/v1.0/"><idAbonnement>X</idAbonnement><idDistributeurCom>${distributor}</idDistributeurCom>` +
    `<idRessource>${RES_P1}</idRessource><typeIdRessource>ark</typeIdRessource><libelleRessource>M</libelleRessource><debutValidite>2026-09-01</debutValidite>` +
    `<anneeFinValidite>2026-2027</anneeFinValidite><uaiEtab>${UAI_A}</uaiEtab><categorieAffectation>transferable</categorieAffectation><typeAffectation>INDIV</typeAffectation>` +
    `<nbLicenceGlobale>30</nbLicenceGlobale><publicCible>ELEVE</publicCible><publicCible>DOCUMENTALISTE</publicCible></abonnement>`;
  const res = await app.inject({ method: 'PUT', url: '/ws/abonnement/X', headers: { ...bearer(app, P1), 'content-type': 'application/xml' }, payload: abo('999999999_0000000000000009') });
  t.equal(res.statusCode, 400);
  t.match(res.body, 'RG11');
  t.match(res.body, 'your own distributor id 123456789_0000000000000001');

  const list = await app.inject({ method: 'GET', url: '/ws/abonnement/etablissements/etablissements.xml', headers: bearer(app, P1) });
  t.match(list.body, `<uai>${UAI_A}</uai><idENT>WjA=</idENT><nature_uai>151</nature_uai><nature_uai_libe>ECOLE DE NIVEAU ELEMENTAIRE</nature_uai_libe><type_uai>1ORD</type_uai><appellation_officielle>École Jules Ferry</appellation_officielle>`);
});

t.test('client certificate mappings: PEM, fingerprint or subject+issuer; one owner; revocation', async (t) => {
  const { app, database } = await buildTestApp(t);
  await baseWorld(database.db);
  const post = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/client-certificates', headers: bearer(app, operator), payload: body });
  const cert = testCertificate('ws.p1.example');
  const fromPem = await post({ label: 'P1', certificate: cert.certPem, publisherId: 'P1' });
  t.equal(fromPem.statusCode, 201, fromPem.body);
  t.match(fromPem.json(), { fingerprint256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, subject: 'CN=ws.p1.example', publisherId: 'P1', entId: null, revokedAt: null });
  t.equal((await post({ label: 'P1 again', certificate: cert.certPem, publisherId: 'P1' })).statusCode, 409, 'one mapping per fingerprint');
  const bad = await post({ label: 'x', publisherId: 'P1', entId: 'Z0' });
  t.equal(bad.statusCode, 400);
  t.same(bad.json().errors.map((e: { path: string }) => e.path).sort(), ['body/fingerprint256', 'body/publisherId', 'body/validUntil']);
  t.equal((await post({ label: 'x', certificate: 'not a pem', entId: 'Z0' })).statusCode, 400);
  t.equal((await post({ label: 'x', subject: 'CN=a', issuer: 'CN=b', entId: 'Z9', validUntil: '2030-01-01T00:00:00Z' })).statusCode, 404);
  const id = fromPem.json().id;
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/client-certificates/${id}`, headers: bearer(app, operator) })).statusCode, 204);
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/client-certificates/${id}`, headers: bearer(app, operator) })).statusCode, 404);
  const list = await app.inject({ method: 'GET', url: '/v1/client-certificates', headers: bearer(app, operator) });
  t.match(list.json().items, [{ id, revokedAt: /^2026-/ }]);
});
