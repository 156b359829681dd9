import t from 'tap';
import { buildTestApp, bearer } from './helper.js';
import {
  addMember,
  addTeaching,
  baseWorld,
  insertAssignment,
  insertGroup,
  insertPerson,
  insertResource,
  insertSubscription,
  UAI_A,
  UAI_B,
  UAI_OTHER_ENT,
} from './factories.js';
import { assignedResources, subscriptionState } from '../src/modules/resource-list/resource-list.repository.js';

const ENT_Z0 = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
const ENT_Z1 = { sub: 'ent-z1', role: 'ent', entId: 'Z1' } as const;

/**
 * At UAI_A: pupil E1 (division 3A, group LAT), pupil E2 (3A), teacher T1 (teaches 3A).
 * One resource per way of granting it, each with its own subscription of P1, valid
 * 2026-09-01 .. 2027-09-01 unless said:
 *   R-PERSON   INDIV ELEVE, person E1               R-DIV      INDIV ELEVE+ENSEIGNANT, division 3A
 *   R-GROUP    INDIV ELEVE, group LAT               R-PROFILE  INDIV ELEVE, profile National_elv
 *   R-ESTAB    INDIV ELEVE, whole establishment     R-ETABL    ETABL ENSEIGNANT
 *   R-LATER    INDIV ELEVE, establishment, from 2027-01-01
 *   R-OTHERUAI INDIV ELEVE, establishment, at UAI_B
 */
async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t, { now: '2026-11-25T09:00:00Z' });
  const { db } = ctx.database;
  await baseWorld(db);
  const E1 = await insertPerson(db, { personId: 'E1', uai: UAI_A, profiles: ['National_elv'] });
  const E2 = await insertPerson(db, { personId: 'E2', uai: UAI_A, profiles: ['National_elv'] });
  const T1 = await insertPerson(db, { personId: 'T1', uai: UAI_A, profiles: ['National_ens'] });
  await insertPerson(db, { personId: 'E1', uai: UAI_B, profiles: ['National_elv'] });
  const div = await insertGroup(db, { uai: UAI_A, code: '3A' });
  const lat = await insertGroup(db, { uai: UAI_A, code: 'LAT', kind: 'GROUPE' });
  await addMember(db, div, E1);
  await addMember(db, div, E2);
  await addMember(db, lat, E1);
  await addTeaching(db, div, T1);
  const grant = async (
    name: string,
    sub: { audiences: string[]; assignmentType?: 'INDIV' | 'ETABL'; startsAt?: string; uai?: string },
    target?: Parameters<typeof insertAssignment>[1] extends infer A ? Omit<A & object, 'subscriptionPk' | 'uai'> : never,
  ) => {
    const resourceId = `ark:/12345/${name}`;
    await insertResource(db, { id: resourceId, publisherId: 'P1', name, thumbnailUrl: `https://cdn.example/${name}.png`, accessUrl: `https://p1.example/${name}` });
    const uai = sub.uai ?? UAI_A;
    const pk = await insertSubscription(db, { id: `S-${name}`, publisherId: 'P1', resourceId, uai, ...sub });
    if (target) await insertAssignment(db, { subscriptionPk: pk, uai, ...target });
    return pk;
  };
  const pks = {
    person: await grant('R-PERSON', { audiences: ['ELEVE'] }, { type: 'person', personId: E1 }),
    div: await grant('R-DIV', { audiences: ['ELEVE', 'ENSEIGNANT'] }, { type: 'division', groupId: div }),
    group: await grant('R-GROUP', { audiences: ['ELEVE'] }, { type: 'group', groupId: lat }),
    profile: await grant('R-PROFILE', { audiences: ['ELEVE'] }, { type: 'profile', profile: 'National_elv' }),
    estab: await grant('R-ESTAB', { audiences: ['ELEVE'] }, { type: 'establishment' }),
    etabl: await grant('R-ETABL', { audiences: ['ENSEIGNANT'], assignmentType: 'ETABL' }),
    later: await grant('R-LATER', { audiences: ['ELEVE'], startsAt: '2027-01-01T00:00:00Z' }, { type: 'establishment' }),
    otherUai: await grant('R-OTHERUAI', { audiences: ['ELEVE'], uai: UAI_B }, { type: 'establishment' }),
  };
  const list = async (personId: string, uai = UAI_A, caller: Record<string, unknown> = ENT_Z0) => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/establishments/${uai}/people/${personId}/resources`, headers: bearer(ctx.app, caller) });
    return res;
  };
  const names = async (personId: string, uai = UAI_A) => (await list(personId, uai)).json().items.map((r: { nomRessource: string }) => r.nomRessource);
  return { ...ctx, db, people: { E1, E2, T1 }, groups: { div, lat }, pks, list, names };
}

t.test('each way of granting a resource, each resource once', async (t) => {
  const { names, list, db, pks, people } = await setup(t);
  t.same(await names('E1'), ['R-DIV', 'R-ESTAB', 'R-GROUP', 'R-PERSON', 'R-PROFILE'], 'E1: person, division, group, profile, establishment');
  t.same(await names('E2'), ['R-DIV', 'R-ESTAB', 'R-PROFILE'], 'E2 is neither assigned directly nor in LAT');
  t.same(await names('T1'), ['R-DIV', 'R-ETABL'], 'T1: teaches 3A, and the ETABL subscription for teachers');
  t.same(await names('E1', UAI_B), ['R-OTHERUAI'], 'the same person at another UAI of the project');

  await insertAssignment(db, { subscriptionPk: pks.div, uai: UAI_A, type: 'person', personId: people.E1 });
  t.same(await names('E1'), ['R-DIV', 'R-ESTAB', 'R-GROUP', 'R-PERSON', 'R-PROFILE'], 'two ways to R-DIV, listed once');

  const res = await list('E1');
  t.equal(res.statusCode, 200);
  t.same(res.json().items.find((r: { nomRessource: string }) => r.nomRessource === 'R-PERSON'), {
    idRessource: 'ark:/12345/R-PERSON',
    idType: 'ARK',
    nomRessource: 'R-PERSON',
    idEditeur: 'P1',
    nomEditeur: 'Éditions P1',
    urlVignette: 'https://cdn.example/R-PERSON.png',
    // GAR's shape (the same as GET /ws/ressources/...): an object, and the broker's entry link, not the publisher's URL.
    typePresentation: { code: 'MAN', nom: 'manuels numériques' },
    typePedagogique: [],
    typologieDocument: [],
    niveauEducatif: [],
    domaineEnseignement: [],
    urlAccesRessource: `https://broker.test/domaineGar?idENT=${encodeURIComponent(Buffer.from('Z0').toString('base64'))}&idEtab=${encodeURIComponent(Buffer.from(UAI_A).toString('base64'))}&idRessource=${encodeURIComponent('ark:/12345/R-PERSON')}`,
    nomSourceEtiquetteGar: "Accessible via le Gestionnaire d'accès aux ressources (GAR)",
    urlSourceEtiquette: '',
    distributeurTech: 'P1',
    validateurTech: 'P1',
    description: null,
    subscriptionId: 'S-R-PERSON',
    validUntil: '2027-09-01T00:00:00.000Z',
    sso: { method: 'POST', path: '/v1/sso', body: { uai: UAI_A, personId: 'E1', resourceId: 'ark:/12345/R-PERSON' } },
  });
});

t.test('subscriptions grant only while valid: the clock moves, nothing sleeps', async (t) => {
  const { names, clock } = await setup(t);
  t.notOk((await names('E2')).includes('R-LATER'), 'not yet started');
  clock.set('2027-01-01T00:00:00Z');
  t.ok((await names('E2')).includes('R-LATER'), 'started at its first instant');
  clock.set('2027-08-31T23:59:59Z');
  t.same(await names('E2'), ['R-DIV', 'R-ESTAB', 'R-LATER', 'R-PROFILE'], 'still valid on its last second');
  clock.set('2027-09-01T00:00:00Z');
  t.same(await names('E2'), [], 'all ended (end exclusive)');
});

t.test('a gone person, or a person gone from the UAI, loses everything at once', async (t) => {
  const { names, list, db, people } = await setup(t);
  t.ok((await names('E1')).length > 0);
  await db.updateTable('establishment_people').set({ gone_at: new Date() }).where('person_id', '=', people.E1).where('uai', '=', UAI_A).execute();
  t.same(await names('E1'), [], 'gone from UAI_A');
  t.same(await names('E1', UAI_B), ['R-OTHERUAI'], 'still at UAI_B');
  await db.updateTable('people').set({ gone_at: new Date() }).where('id', '=', people.E1).execute();
  t.same(await names('E1', UAI_B), [], 'gone from the directory');
  t.equal((await list('E1')).statusCode, 200, 'a known person: an empty list, not an error');
});

t.test('revoking an assignment removes the resource', async (t) => {
  const { names, db, pks } = await setup(t);
  await db.deleteFrom('assignments').where('subscription_pk', '=', pks.person).execute();
  t.notOk((await names('E1')).includes('R-PERSON'));
});

t.test('an ENT sees only its own establishments and people', async (t) => {
  const { list, db } = await setup(t);
  const other = await list('E1', UAI_A, ENT_Z1);
  t.equal(other.statusCode, 404, "another project's establishment does not exist for you");
  t.match(other.headers['content-type'], 'application/problem+json');
  await insertPerson(db, { entId: 'Z1', personId: 'Z1-P', uai: UAI_OTHER_ENT, profiles: ['National_elv'] });
  t.equal((await list('Z1-P', UAI_A)).statusCode, 404, "another project's person is unknown");
  t.equal((await list('NOBODY')).statusCode, 404);
  t.equal((await list('E1', '0690038S')).statusCode, 404, 'unknown UAI');
  t.equal((await list('E1', '0650001A')).statusCode, 400, 'malformed UAI');
  t.equal((await list('E1', UAI_A, { sub: 'r', role: 'establishment', uai: [UAI_A] })).statusCode, 403, 'not for establishment tokens');
});

t.test('the SSO helpers: assignedResources with a resource, and subscriptionState', async (t) => {
  const { db, people, clock } = await setup(t);
  const now = clock.now;
  const one = await assignedResources(db, { personDbId: people.E1, uai: UAI_A, now, resourceId: 'ark:/12345/R-GROUP' });
  t.equal(one.length, 1);
  t.match(one[0], { resource_id: 'ark:/12345/R-GROUP', subscription_id: 'S-R-GROUP' });
  t.same(await assignedResources(db, { personDbId: people.E2, uai: UAI_A, now, resourceId: 'ark:/12345/R-GROUP' }), [], 'E2 not assigned');

  const state = (resourceId: string, at = now) => subscriptionState(db, { uai: UAI_A, resourceId, now: at });
  t.equal(await state('ark:/12345/R-GROUP'), 'valid');
  t.equal(await state('ark:/12345/R-LATER'), 'not_started');
  t.equal(await state('ark:/12345/R-GROUP', new Date('2027-09-01T00:00:00Z')), 'expired');
  t.equal(await state('ark:/12345/R-OTHERUAI'), 'none', 'subscribed at another UAI only');
  t.equal(await state('ark:/0/none'), 'none');
});
