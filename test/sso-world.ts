import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { testCertificate } from './keys.js';
import { RES_P1, UAI_A, UAI_B, addMember, addTeaching, baseWorld, insertAssignment, insertGroup, insertPerson, insertSubscription } from './factories.js';

/** The publisher's SP keys, for the verifiers. */
export const sp = testCertificate('publisher SP');

/** Approves `approved` and refuses `refused` for a resource, as a ministry review would leave it. */
export async function approve(db: Kysely<Database>, resourceId: string, approved: string[], refused: string[] = []) {
  const { id } = await db
    .insertInto('data_requests')
    .values({ resource_id: resourceId, status: 'reviewed', submitted_by: 'pub', submitted_at: '2026-09-01T00:00:00Z', reviewed_by: 'min', reviewed_at: new Date('2026-09-02T00:00:00Z') })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const code of [...approved, ...refused]) {
    await db.insertInto('data_request_items').values({ request_id: id, code, purpose: 'p', approved: approved.includes(code), comment: 'c' }).execute();
  }
  for (const code of approved) {
    await db.insertInto('released_attributes').values({ resource_id: resourceId, code, request_id: id, approved_at: '2026-09-02T00:00:00Z' }).execute();
  }
}

/**
 * Pupil E1 in 3A (UAI_A) and in 5C (UAI_B), teacher T1 teaching 3A, both assigned RES_P1 through
 * the division 3A at UAI_A and through a profile assignment at UAI_B. NOM, PRE, PRO, DIV, GRO,
 * P_MEL and UAI approved; CIV refused.
 */
export async function world(db: Kysely<Database>, opts: { encrypt?: boolean } = {}) {
  await baseWorld(db);
  await db
    .updateTable('resources')
    .set({ sp_entity_id: 'https://sp.test/metadata', sp_acs_url: 'https://sp.test/acs', sp_signing_cert: sp.certPem, sp_encryption_cert: opts.encrypt ? sp.certPem : null })
    .where('id', '=', RES_P1)
    .execute();
  const e1 = await insertPerson(db, { personId: 'E1', uai: UAI_A, profiles: ['National_elv'] });
  await insertPerson(db, { personId: 'E1', uai: UAI_B, profiles: ['National_elv'] });
  const t1 = await insertPerson(db, { personId: 'T1', uai: UAI_A, profiles: ['National_ens'] });
  await db.updateTable('people').set({ last_name: 'Martin & <Fils>', first_name: 'Léa', civility: 'Mme' }).where('id', '=', e1).execute();
  await db.updateTable('people').set({ last_name: 'Durand', first_name: 'Paul', civility: 'M.', emails: ['paul.durand@ac-test.fr'] }).where('id', '=', t1).execute();
  const div3a = await insertGroup(db, { uai: UAI_A, code: '3A' });
  const lat = await insertGroup(db, { uai: UAI_A, code: 'LAT3', kind: 'GROUPE' });
  const div5c = await insertGroup(db, { uai: UAI_B, code: '5C' });
  await addMember(db, div3a, e1);
  await addMember(db, lat, e1);
  await addMember(db, div5c, e1);
  await addTeaching(db, div3a, t1);
  const subA = await insertSubscription(db, { id: 'ABO-A', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A });
  await insertAssignment(db, { subscriptionPk: subA, uai: UAI_A, type: 'division', groupId: div3a });
  const subB = await insertSubscription(db, { id: 'ABO-B', publisherId: 'P1', resourceId: RES_P1, uai: UAI_B });
  await insertAssignment(db, { subscriptionPk: subB, uai: UAI_B, type: 'profile', profile: 'National_elv' });
  await approve(db, RES_P1, ['UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO', 'P_MEL'], ['CIV']);
  return { e1, t1 };
}

