import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { isoDay } from '../../lib/dates.js';
import type { PersonExport, RestrictionState } from './data-subjects.schemas.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export async function findPersonRef(db: Kysely<Database>, entId: string, personId: string): Promise<number | undefined> {
  const row = await db.selectFrom('people').select('id').where('ent_id', '=', entId).where('person_id', '=', personId).executeTakeFirst();
  return row === undefined ? undefined : Number(row.id);
}

/** Everything held about one person: directory, RespAff record, memberships, assignments, access log. */
export async function exportPerson(db: Kysely<Database>, entId: string, personId: string, now: Date): Promise<PersonExport | undefined> {
  const p = await db
    .selectFrom('people')
    .select([
      'id', 'last_name', 'first_name', 'other_first_names', 'birth_name', 'civility', 'birth_date', 'emails',
      'created_at', 'updated_at', 'gone_at', 'restricted_at', 'objected_at',
    ])
    .where('ent_id', '=', entId)
    .where('person_id', '=', personId)
    .executeTakeFirst();
  if (!p) return undefined;
  const ref = Number(p.id);
  const [manager, establishments, memberships, assignments, accesses] = await Promise.all([
    db
      .selectFrom('assignment_managers')
      .select(['last_name', 'first_name', 'email', 'uais', 'seen_at'])
      .where('ent_id', '=', entId)
      .where('person_id', '=', personId)
      .executeTakeFirst(),
    db.selectFrom('establishment_people').select(['uai', 'profiles', 'mefs', 'subjects', 'gone_at']).where('person_id', '=', ref).orderBy('uai').execute(),
    sql<{ uai: string; code: string; kind: string; teaches: boolean; subjects: string[] }>`
      select g.uai, g.code, g.kind, false as teaches, '{}'::text[] as subjects from group_members m join groups g on g.id = m.group_id where m.person_id = ${ref}
      union all
      select g.uai, g.code, g.kind, true, t.subjects from teachings t join groups g on g.id = t.group_id where t.person_id = ${ref}
      order by 1, 2`.execute(db),
    db
      .selectFrom('assignments as a')
      .innerJoin('subscriptions as s', 's.pk', 'a.subscription_pk')
      .select(['a.uai', 's.id as subscription_id', 's.resource_id', 'a.created_at'])
      .where('a.person_id', '=', ref)
      .orderBy('a.created_at')
      .execute(),
    db
      .selectFrom('access_log')
      .select(['at', 'uai', 'resource_id', 'publisher_id', 'outcome', 'reason', 'attributes'])
      .where('ent_id', '=', entId)
      .where('person_ref', '=', ref)
      .orderBy('at')
      .execute(),
  ]);
  return {
    entId,
    personId,
    exportedAt: now.toISOString(),
    assignmentManager: manager
      ? { lastName: manager.last_name, firstName: manager.first_name, email: manager.email, uais: manager.uais, lastNamedAt: iso(manager.seen_at)! }
      : null,
    directory: {
      lastName: p.last_name,
      firstName: p.first_name,
      otherFirstNames: p.other_first_names,
      birthName: p.birth_name,
      civility: p.civility,
      birthDate: p.birth_date === null ? null : isoDay(p.birth_date),
      emails: p.emails,
      createdAt: iso(p.created_at)!,
      updatedAt: iso(p.updated_at)!,
      goneAt: iso(p.gone_at),
      restrictedAt: iso(p.restricted_at),
      objectedAt: iso(p.objected_at),
    },
    establishments: establishments.map((e) => ({ uai: e.uai, profiles: e.profiles, mefs: e.mefs, subjects: e.subjects, goneAt: iso(e.gone_at) })),
    memberships: memberships.rows,
    assignments: assignments.map((a) => ({ uai: a.uai, subscriptionId: a.subscription_id, resourceId: a.resource_id, createdAt: iso(a.created_at)! })),
    accesses: accesses.map((a) => ({
      at: iso(a.at)!,
      uai: a.uai,
      resourceId: a.resource_id,
      publisherId: a.publisher_id,
      outcome: a.outcome,
      reason: a.reason,
      attributes: a.attributes,
    })),
  };
}

export async function setRestriction(
  db: Kysely<Database>,
  ref: number,
  kind: 'restriction' | 'objection',
  at: Date | null,
): Promise<RestrictionState> {
  const column = kind === 'restriction' ? 'restricted_at' : 'objected_at';
  const row = await db
    .updateTable('people')
    .set({ [column]: at })
    .where('id', '=', ref)
    .returning(['ent_id', 'person_id', 'restricted_at', 'objected_at'])
    .executeTakeFirstOrThrow();
  return { entId: row.ent_id, personId: row.person_id, restrictedAt: iso(row.restricted_at), objectedAt: iso(row.objected_at) };
}
