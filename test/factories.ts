import type { Kysely } from 'kysely';
import type { Database, Licences } from '../src/db/database.js';

/*
 * Fixtures written straight into the tables, for features whose feeding APIs live elsewhere
 * (directory feed, resources). Small on purpose: each call is one obvious row or two.
 */

export async function insertEntProject(db: Kysely<Database>, id = 'Z0', kind: 'ent' | 'edugar' = 'ent'): Promise<void> {
  await db.insertInto('ent_projects').values({ id, name: `ENT ${id}`, kind }).execute();
}

export async function insertEstablishment(db: Kysely<Database>, uai: string, entId = 'Z0'): Promise<void> {
  await db.insertInto('establishments').values({ uai, ent_id: entId, name: `Collège ${uai}` }).execute();
}

export async function insertPublisher(db: Kysely<Database>, id: string): Promise<void> {
  await db.insertInto('publishers').values({ id, name: `Éditions ${id}`, contact_email: `contact@${id}.example` }).execute();
}

export async function insertResource(
  db: Kysely<Database>,
  r: { id: string; publisherId: string; name?: string; typePresentation?: string; thumbnailUrl?: string; accessUrl?: string },
): Promise<void> {
  await db
    .insertInto('resources')
    .values({
      id: r.id,
      publisher_id: r.publisherId,
      name: r.name ?? `Resource ${r.id}`,
      type_presentation: r.typePresentation ?? 'MAN',
      thumbnail_url: r.thumbnailUrl ?? null,
      access_url: r.accessUrl ?? null,
      sp_entity_id: `https://sp.example/${encodeURIComponent(r.id)}`,
      sp_acs_url: `https://sp.example/${encodeURIComponent(r.id)}/acs`,
    })
    .execute();
}

/** A person of `entId` present at `uai` with `profiles` (canonical, e.g. National_elv); returns people.id. */
export async function insertPerson(
  db: Kysely<Database>,
  p: { entId?: string; personId: string; uai: string; profiles: string[] },
): Promise<number> {
  const entId = p.entId ?? 'Z0';
  let row = await db.selectFrom('people').select('id').where('ent_id', '=', entId).where('person_id', '=', p.personId).executeTakeFirst();
  row ??= await db
    .insertInto('people')
    .values({ ent_id: entId, person_id: p.personId, last_name: 'Nom', first_name: 'Prénom' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('establishment_people').values({ uai: p.uai, person_id: row.id, profiles: p.profiles }).execute();
  return row.id;
}

export async function insertGroup(db: Kysely<Database>, g: { uai: string; code: string; kind?: 'DIVISION' | 'GROUPE' }): Promise<number> {
  const row = await db
    .insertInto('groups')
    .values({ uai: g.uai, code: g.code, name: `Groupe ${g.code}`, kind: g.kind ?? 'DIVISION' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function addMember(db: Kysely<Database>, groupId: number, personDbId: number): Promise<void> {
  await db.insertInto('group_members').values({ group_id: groupId, person_id: personDbId }).execute();
}

export async function addTeaching(db: Kysely<Database>, groupId: number, personDbId: number): Promise<void> {
  await db.insertInto('teachings').values({ group_id: groupId, person_id: personDbId }).execute();
}

/** A subscription row as the publisher API would store it; returns its internal key. */
export async function insertSubscription(
  db: Kysely<Database>,
  s: {
    id: string;
    publisherId: string;
    resourceId: string;
    uai: string;
    startsAt?: string;
    endsAt?: string;
    assignmentType?: 'INDIV' | 'ETABL';
    audiences?: string[];
    licences?: Licences;
  },
): Promise<number> {
  const row = await db
    .insertInto('subscriptions')
    .values({
      id: s.id,
      publisher_id: s.publisherId,
      resource_id: s.resourceId,
      uai: s.uai,
      starts_at: s.startsAt ?? '2026-09-01T00:00:00Z',
      ends_at: s.endsAt ?? '2027-09-01T00:00:00Z',
      assignment_type: s.assignmentType ?? 'INDIV',
      audiences: s.audiences ?? ['ELEVE', 'ENSEIGNANT'],
      licences: JSON.stringify(s.licences ?? { global: 'unlimited' }),
    })
    .returning('pk')
    .executeTakeFirstOrThrow();
  return row.pk;
}

export async function insertAssignment(
  db: Kysely<Database>,
  a: { subscriptionPk: number; uai: string; type: 'person' | 'division' | 'group' | 'profile' | 'establishment'; personId?: number; groupId?: number; profile?: string },
): Promise<number> {
  const row = await db
    .insertInto('assignments')
    .values({
      subscription_pk: a.subscriptionPk,
      uai: a.uai,
      target_type: a.type,
      person_id: a.personId ?? null,
      group_id: a.groupId ?? null,
      profile: a.profile ?? null,
      created_by: 'factory',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A responsable d'affectation named by the RespAff feed of `entId` (default Z0) for `uais`. */
export async function insertAssignmentManager(db: Kysely<Database>, m: { entId?: string; personId: string; uais: string[] }): Promise<void> {
  await db
    .insertInto('assignment_managers')
    .values({ ent_id: m.entId ?? 'Z0', person_id: m.personId, last_name: 'Nom', first_name: 'Prénom', email: `${m.personId}@ac-test.fr`, uais: m.uais })
    .execute();
}

/** Two valid UAIs of project Z0 and one of project Z1, publishers P1 and P2 with one resource each. */
export const UAI_A = '0650001Y';
export const UAI_B = '0650002Z';
export const UAI_OTHER_ENT = '0690037R';
export const RES_P1 = 'ark:/12345/maths-3e';
export const RES_P2 = 'ark:/67890/atlas';

export async function baseWorld(db: Kysely<Database>): Promise<void> {
  await insertEntProject(db, 'Z0');
  await insertEntProject(db, 'Z1');
  await insertEstablishment(db, UAI_A, 'Z0');
  await insertEstablishment(db, UAI_B, 'Z0');
  await insertEstablishment(db, UAI_OTHER_ENT, 'Z1');
  await insertPublisher(db, 'P1');
  await insertPublisher(db, 'P2');
  await insertResource(db, { id: RES_P1, publisherId: 'P1', name: 'Maths 3e' });
  await insertResource(db, { id: RES_P2, publisherId: 'P2', name: 'Atlas' });
}
