import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database.js';
import { audienceCaseSql } from '../subscriptions/audiences.js';

/**
 * SQL condition: subscription `s` (already known valid) gives its resource to the person whose
 * people.id is `personId` and whose profiles at the UAI are `profiles`. The one definition of
 * "assigned", shared by the resource list and the SSO decision.
 */
export function subscriptionGrants(personId: RawBuilder<unknown>, profiles: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`(${audienceCaseSql(profiles, sql`s.audiences`)} is not null
      and (s.assignment_type = 'ETABL' or exists (
        select 1 from assignments a
        where a.subscription_pk = s.pk and (
             a.target_type = 'establishment'
          or (a.target_type = 'person' and a.person_id = ${personId})
          or (a.target_type = 'profile' and a.profile = any(${profiles}))
          or (a.target_type in ('division', 'group') and (
               exists (select 1 from group_members gm where gm.person_id = ${personId} and gm.group_id = a.group_id)
            or exists (select 1 from teachings te where te.person_id = ${personId} and te.group_id = a.group_id)))
        ))))`;
}

export interface AssignedResource {
  resource_id: string;
  resource_name: string;
  publisher_id: string;
  publisher_name: string;
  thumbnail_url: string | null;
  type_presentation: string;
  access_url: string | null;
  description: string | null;
  subscription_id: string;
  subscription_pk: number;
  ends_at: Date;
}

/**
 * The resources person `personDbId` (people.id) may open at `uai` at instant `now`, each once, with
 * the subscription that grants it (the one valid longest when several do). Granted by a valid
 * subscription of the UAI whose audiences include the person's profiles there, and either ETABL, or
 * INDIV with an assignment to the whole establishment, the person's profile, the person, or a
 * division or group the person belongs to or teaches. A person or link marked gone gets nothing.
 * The SSO calls it with `resourceId` to decide one access.
 *
 * Shape, for speed: the person's row at the UAI (primary key) drives; the UAI's valid subscriptions
 * come from subscriptions(uai, ends_at); each one's assignments from assignments(subscription_pk),
 * and group membership from the person-first keys of group_members and teachings.
 */
export async function assignedResources(
  db: Kysely<Database>,
  args: { personDbId: number; uai: string; now: Date; resourceId?: string },
): Promise<AssignedResource[]> {
  const { personDbId, uai, now, resourceId } = args;
  const result = await sql<AssignedResource>`
    with me as (
      select ep.person_id, ep.profiles
      from establishment_people ep
      join people p on p.id = ep.person_id
      where ep.uai = ${uai} and ep.person_id = ${personDbId} and ep.gone_at is null and p.gone_at is null
    )
    select distinct on (r.id)
      r.id as resource_id, r.name as resource_name, r.publisher_id, pub.name as publisher_name, r.thumbnail_url,
      r.type_presentation, r.access_url, r.description, s.id as subscription_id, s.pk as subscription_pk, s.ends_at
    from me
    join subscriptions s on s.uai = ${uai} and s.ends_at > ${now} and s.starts_at <= ${now}
    join resources r on r.id = s.resource_id
    join publishers pub on pub.id = r.publisher_id
    where ${subscriptionGrants(sql`me.person_id`, sql`me.profiles`)}
      ${resourceId === undefined ? sql`` : sql`and s.resource_id = ${resourceId}`}
    order by r.id, s.ends_at desc
  `.execute(db);
  return result.rows.map((r) => ({ ...r, subscription_pk: Number(r.subscription_pk), ends_at: new Date(r.ends_at) }));
}

export type SubscriptionState = 'none' | 'expired' | 'not_started' | 'valid';

/**
 * Whether the UAI has a subscription to the resource at `now`, for the SSO's refusal reason:
 * 'valid' if any is valid; otherwise 'not_started' if one starts later; otherwise 'expired' if all
 * have ended; 'none' when there is none at all.
 */
export async function subscriptionState(
  db: Kysely<Database>,
  args: { uai: string; resourceId: string; now: Date },
): Promise<SubscriptionState> {
  const { uai, resourceId, now } = args;
  const row = await db
    .selectFrom('subscriptions')
    .select([
      (eb) => eb.fn.countAll<number>().as('n'),
      sql<boolean | null>`bool_or(starts_at <= ${now} and ends_at > ${now})`.as('valid'),
      sql<boolean | null>`bool_or(starts_at > ${now})`.as('future'),
    ])
    .where('uai', '=', uai)
    .where('resource_id', '=', resourceId)
    .executeTakeFirstOrThrow();
  if (Number(row.n) === 0) return 'none';
  if (row.valid) return 'valid';
  return row.future ? 'not_started' : 'expired';
}

/** The directory's internal id of an ENT project's person, gone or not. */
export async function findPersonDbId(db: Kysely<Database>, entId: string, personId: string): Promise<number | undefined> {
  const row = await db.selectFrom('people').select('id').where('ent_id', '=', entId).where('person_id', '=', personId).executeTakeFirst();
  return row?.id;
}

export async function establishmentProject(db: Kysely<Database>, uai: string): Promise<string | undefined> {
  return (await db.selectFrom('establishments').select('ent_id').where('uai', '=', uai).executeTakeFirst())?.ent_id;
}
