import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { TargetRef } from '../subscriptions/subscriptions.repository.js';

/** A person present at the UAI (neither they nor their link to the UAI gone), from the UAI's ENT project. */
export async function findPresentPerson(
  db: Kysely<Database>,
  uai: string,
  personId: string,
): Promise<{ id: number; profiles: string[] } | undefined> {
  return db
    .selectFrom('establishment_people as ep')
    .innerJoin('establishments as e', 'e.uai', 'ep.uai')
    .innerJoin('people as p', (j) => j.onRef('p.id', '=', 'ep.person_id').onRef('p.ent_id', '=', 'e.ent_id'))
    .select(['p.id', 'ep.profiles'])
    .where('ep.uai', '=', uai)
    .where('p.person_id', '=', personId)
    .where('ep.gone_at', 'is', null)
    .where('p.gone_at', 'is', null)
    .executeTakeFirst();
}

export async function findGroup(db: Kysely<Database>, uai: string, code: string): Promise<{ id: number; kind: 'DIVISION' | 'GROUPE' } | undefined> {
  return db.selectFrom('groups').select(['id', 'kind']).where('uai', '=', uai).where('code', '=', code).executeTakeFirst();
}

export async function assignmentExists(db: Kysely<Database>, subscriptionPk: number, target: TargetRef): Promise<boolean> {
  let q = db.selectFrom('assignments').select('id').where('subscription_pk', '=', subscriptionPk).where('target_type', '=', target.type);
  q = target.personId === null ? q.where('person_id', 'is', null) : q.where('person_id', '=', target.personId);
  q = target.groupId === null ? q.where('group_id', 'is', null) : q.where('group_id', '=', target.groupId);
  q = target.profile === null ? q.where('profile', 'is', null) : q.where('profile', '=', target.profile);
  return (await q.executeTakeFirst()) !== undefined;
}

export async function insertAssignment(
  db: Kysely<Database>,
  values: { subscriptionPk: number; uai: string; target: TargetRef; createdBy: string; createdAs: string; now: Date },
): Promise<number> {
  const row = await db
    .insertInto('assignments')
    .values({
      subscription_pk: values.subscriptionPk,
      uai: values.uai,
      target_type: values.target.type,
      person_id: values.target.personId,
      group_id: values.target.groupId,
      profile: values.target.profile,
      created_by: values.createdBy,
      created_as: values.createdAs,
      created_at: values.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface AssignmentRow {
  id: number;
  uai: string;
  subscription_id: string;
  publisher_id: string;
  resource_id: string;
  target_type: 'person' | 'division' | 'group' | 'profile' | 'establishment';
  person_ref: string | null;
  group_code: string | null;
  group_name: string | null;
  profile: string | null;
  created_at: Date;
  created_by: string;
  created_as: string | null;
  detached_at: Date | null;
}

const assignmentColumns = (db: Kysely<Database>) =>
  db
    .selectFrom('assignments as a')
    .innerJoin('subscriptions as s', 's.pk', 'a.subscription_pk')
    .leftJoin('people as p', 'p.id', 'a.person_id')
    .leftJoin('groups as g', 'g.id', 'a.group_id')
    .select([
      'a.id',
      'a.uai',
      's.id as subscription_id',
      's.publisher_id',
      's.resource_id',
      'a.target_type',
      'p.person_id as person_ref',
      // A detached assignment's group is gone from the directory: its code is kept on the row.
      sql<string | null>`coalesce(g.code, a.group_code)`.as('group_code'),
      'g.name as group_name',
      'a.profile',
      'a.created_at',
      'a.created_by',
      'a.created_as',
      'a.detached_at',
    ]);

export async function findAssignment(db: Kysely<Database>, uai: string, id: number): Promise<AssignmentRow | undefined> {
  return assignmentColumns(db).where('a.uai', '=', uai).where('a.id', '=', id).executeTakeFirst();
}

export async function listAssignments(
  db: Kysely<Database>,
  uai: string,
  filter: { subscriptionId?: string },
  limit: number,
  afterId?: number,
): Promise<AssignmentRow[]> {
  let q = assignmentColumns(db).where('a.uai', '=', uai).orderBy('a.id').limit(limit);
  if (filter.subscriptionId) q = q.where('s.id', '=', filter.subscriptionId);
  if (afterId !== undefined) q = q.where('a.id', '>', afterId);
  return q.execute();
}

export async function deleteAssignment(db: Kysely<Database>, uai: string, id: number): Promise<boolean> {
  const result = await db.deleteFrom('assignments').where('uai', '=', uai).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
