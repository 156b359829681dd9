import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, Licences, SubscriptionsTable } from '../../db/database.js';
import { AUDIENCES, audienceCaseSql, type Audience } from './audiences.js';

export type SubscriptionRow = Selectable<SubscriptionsTable> & { resource_name: string };

/** The columns a subscription is written with (everything but keys and timestamps). */
export interface SubscriptionValues {
  resource_id: string;
  uai: string;
  starts_at: Date;
  ends_at: Date;
  school_year: string | null;
  assignment_type: 'INDIV' | 'ETABL';
  audiences: string[];
  licences: Licences;
  comment: string | null;
}

const withResourceName = (db: Kysely<Database>) =>
  db.selectFrom('subscriptions as s').innerJoin('resources as r', 'r.id', 's.resource_id').selectAll('s').select('r.name as resource_name');

export async function findResourceOwner(db: Kysely<Database>, resourceId: string): Promise<{ publisher_id: string } | undefined> {
  return db.selectFrom('resources').select('publisher_id').where('id', '=', resourceId).executeTakeFirst();
}

export async function establishmentExists(db: Kysely<Database>, uai: string): Promise<boolean> {
  return (await db.selectFrom('establishments').select('uai').where('uai', '=', uai).executeTakeFirst()) !== undefined;
}

export async function insertSubscription(
  db: Kysely<Database>,
  publisherId: string,
  id: string,
  values: SubscriptionValues,
  now: Date,
): Promise<number> {
  const row = await db
    .insertInto('subscriptions')
    .values({ ...values, id, publisher_id: publisherId, licences: JSON.stringify(values.licences), created_at: now, updated_at: now })
    .returning('pk')
    .executeTakeFirstOrThrow();
  return row.pk;
}

export async function updateSubscription(db: Kysely<Database>, pk: number, values: SubscriptionValues, now: Date): Promise<void> {
  await db
    .updateTable('subscriptions')
    .set({ ...values, licences: JSON.stringify(values.licences), updated_at: now })
    .where('pk', '=', pk)
    .execute();
}

/**
 * Copies a subscription, as it is, into deleted_subscriptions: a deleted subscription leaves the live
 * table (so no decision, list or count can see it) and is kept, with its id, for GAR's `aboSuppr` searches.
 */
export async function archiveSubscription(db: Kysely<Database>, pk: number, now: Date): Promise<void> {
  await sql`
    insert into deleted_subscriptions (pk, id, publisher_id, resource_id, uai, starts_at, ends_at, school_year, assignment_type,
      audiences, licences, comment, category, project_code, resource_label, resource_id_type, distributor_id, created_at, updated_at, deleted_at)
    select pk, id, publisher_id, resource_id, uai, starts_at, ends_at, school_year, assignment_type,
      audiences, licences, comment, category, project_code, resource_label, resource_id_type, distributor_id, created_at, updated_at, ${now}
    from subscriptions where pk = ${pk}
    on conflict (pk) do nothing`.execute(db);
}

export async function deleteSubscription(db: Kysely<Database>, pk: number, now: Date = new Date()): Promise<void> {
  await archiveSubscription(db, pk, now);
  // Its assignments go with it (foreign key on delete cascade); said here so that nobody drops the cascade.
  await db.deleteFrom('assignments').where('subscription_pk', '=', pk).execute();
  await db.deleteFrom('subscriptions').where('pk', '=', pk).execute();
}

export async function findPublisherSubscription(db: Kysely<Database>, publisherId: string, id: string): Promise<SubscriptionRow | undefined> {
  return withResourceName(db).where('s.publisher_id', '=', publisherId).where('s.id', '=', id).executeTakeFirst();
}

export async function findSubscriptionByPk(db: Kysely<Database>, pk: number): Promise<SubscriptionRow | undefined> {
  return withResourceName(db).where('s.pk', '=', pk).executeTakeFirst();
}

/** The subscriptions with this id at this UAI (one per publisher that used the id there). */
export async function findSubscriptionsAtUai(db: Kysely<Database>, uai: string, id: string): Promise<SubscriptionRow[]> {
  return withResourceName(db).where('s.uai', '=', uai).where('s.id', '=', id).orderBy('s.publisher_id').execute();
}

export interface SubscriptionFilter {
  uai?: string;
  resourceId?: string;
  assignmentType?: 'INDIV' | 'ETABL';
  audience?: string;
}

export async function listPublisherSubscriptions(
  db: Kysely<Database>,
  publisherId: string,
  filter: SubscriptionFilter,
  limit: number,
  after?: string,
): Promise<SubscriptionRow[]> {
  let q = withResourceName(db).where('s.publisher_id', '=', publisherId).orderBy('s.id').limit(limit);
  if (filter.uai) q = q.where('s.uai', '=', filter.uai);
  if (filter.resourceId) q = q.where('s.resource_id', '=', filter.resourceId);
  if (filter.assignmentType) q = q.where('s.assignment_type', '=', filter.assignmentType);
  if (filter.audience) q = q.where(sql<boolean>`${filter.audience} = any(s.audiences)`);
  if (after) q = q.where('s.id', '>', after);
  return q.execute();
}

/** Subscriptions at a UAI, paged by their internal key. */
export async function listUaiSubscriptions(db: Kysely<Database>, uai: string, limit: number, afterPk?: number): Promise<SubscriptionRow[]> {
  let q = withResourceName(db).where('s.uai', '=', uai).orderBy('s.pk').limit(limit);
  if (afterPk !== undefined) q = q.where('s.pk', '>', afterPk);
  return q.execute();
}

/** An assignment target as stored (internal ids), to count what it would add before inserting it. */
export interface TargetRef {
  type: 'person' | 'division' | 'group' | 'profile' | 'establishment';
  personId: number | null;
  groupId: number | null;
  profile: string | null;
}

/**
 * Distinct present people at the subscription's UAI that its assignments (plus `extra`, if given)
 * cover, per audience. ETABL subscriptions cover everyone of their audiences. A person counts once,
 * in the first of the subscription's audiences their profiles at this UAI fall in.
 */
export async function coveredCounts(
  db: Kysely<Database>,
  sub: Pick<SubscriptionRow, 'pk' | 'uai' | 'audiences' | 'assignment_type'>,
  extra?: TargetRef,
): Promise<Record<Audience, number>> {
  const extraRow = extra
    ? sql`union all select ${extra.type}::text, ${extra.personId}::bigint, ${extra.groupId}::bigint, ${extra.profile}::text`
    : sql``;
  const audience = audienceCaseSql(sql`ep.profiles`, sql`${sql.val(sub.audiences)}::text[]`);
  const etabl = sub.assignment_type === 'ETABL';
  const result = await sql<{ audience: Audience; n: number }>`
    with targets (target_type, person_id, group_id, profile) as (
      select target_type, person_id, group_id, profile from assignments where subscription_pk = ${sub.pk}
      ${extraRow}
    ),
    covered as (
      select ${audience} as audience
      from establishment_people ep
      join people p on p.id = ep.person_id
      where ep.uai = ${sub.uai} and ep.gone_at is null and p.gone_at is null
        and (${sql.lit(etabl)} or exists (
          select 1 from targets t
          where t.target_type = 'establishment'
             or (t.target_type = 'person' and t.person_id = ep.person_id)
             or (t.target_type = 'profile' and t.profile = any(ep.profiles))
             or (t.target_type in ('division', 'group') and (
                  exists (select 1 from group_members gm where gm.group_id = t.group_id and gm.person_id = ep.person_id)
               or exists (select 1 from teachings te where te.group_id = t.group_id and te.person_id = ep.person_id)))
        ))
    )
    select audience, count(*)::int as n from covered where audience is not null group by audience
  `.execute(db);
  const counts = Object.fromEntries(AUDIENCES.map((a) => [a, 0])) as Record<Audience, number>;
  for (const r of result.rows) counts[r.audience] = Number(r.n);
  return counts;
}

/** Locks the subscription row until the end of the transaction: assignments to it are serialised. */
export async function lockSubscription(db: Kysely<Database>, pk: number): Promise<void> {
  await db.selectFrom('subscriptions').select('pk').where('pk', '=', pk).forUpdate().execute();
}
