import { sql } from 'kysely';
import type { DatabaseHandle } from '../../db/connect.js';
import { subscriptionGrants } from '../resource-list/resource-list.repository.js';
import type { IdoScopeValue } from '../../db/database.js';
import { precompiled } from '../../db/precompiled.js';

/** Everything the access decision needs, read in one round trip. */
export interface DecisionFacts {
  establishmentEntId: string | null;
  /** 1: primary school (levels in `mefs` are MEFSTAT4 codes); 2: secondary. */
  degree: 1 | 2;
  person: {
    ref: number;
    lastName: string;
    firstName: string;
    civility: string | null;
    emails: string[];
    profiles: string[];
    mefs: string[];
    subjects: string[];
    taughtSubjects: string[];
    divisions: string[];
    groups: string[];
    /** Labels of `divisions` and `groups`, in the same order. */
    divisionLabels: string[];
    groupLabels: string[];
    /** Secondary schools: MEFSTAT4 levels of the person's MEFs, from the establishment's MEF list. */
    mefstat4: string[];
    /** Set when an operator linked this person to people of other ENT projects (see person-links). */
    linkKey: string | null;
    goneAt: Date | null;
    restrictedAt: Date | null;
    objectedAt: Date | null;
  } | null;
  resource: {
    id: string;
    publisherId: string;
    spEntityId: string;
    acsUrl: string;
    encryptionCertificate: string | null;
    idoScope: IdoScopeValue;
    accessUrl: string | null;
    /** Access and landing URLs of the resource's family, its own first. */
    familyUrls: string[];
    released: string[];
    /** The format version each released code was approved under (or opted in to). */
    releasedVersions: Record<string, number>;
    hasReviewedRequest: boolean;
  } | null;
  subscriptions: { valid: number; expired: number; notStarted: number };
  assigned: boolean;
}

interface Row {
  present: string[];
  target_uai: string | null;
  est_ent_id: string | null;
  est_degree: 1 | 2 | null;
  division_labels: string[] | null;
  group_labels: string[] | null;
  mefstat4: string[] | null;
  link_key: string | null;
  family_urls: string[] | null;
  released_versions: number[] | null;
  p_ref: number | null;
  last_name: string | null;
  first_name: string | null;
  civility: string | null;
  emails: string[] | null;
  profiles: string[] | null;
  mefs: string[] | null;
  subjects: string[] | null;
  taught_subjects: string[] | null;
  divisions: string[] | null;
  groups: string[] | null;
  gone_at: Date | null;
  restricted_at: Date | null;
  objected_at: Date | null;
  r_id: string | null;
  publisher_id: string | null;
  sp_entity_id: string | null;
  sp_acs_url: string | null;
  sp_encryption_cert: string | null;
  ido_scope: IdoScopeValue | null;
  access_url: string | null;
  released: string[] | null;
  has_reviewed_request: boolean;
  subs_valid: number;
  subs_expired: number;
  subs_not_started: number;
  assigned: boolean;
}


interface DecisionArgs {
  entId: string;
  /** The establishment the door names; null: the person's present establishment, `hint` first. */
  uai: string | null;
  hint: string | null;
  personId: string;
  resourceId: string;
  now: string;
  personHash: string;
}

// Built once and prepared: planning this query costs more than running it, so it is planned once
// per connection. When the door names no establishment, the same round trip finds where the person
// is present (`present`) and decides at the first of them, the hint first (`target`).
const decisionQuery = precompiled<DecisionArgs>('sso_decision', (db, q) => sql<Row>`
    with present as (
      select coalesce(array_agg(ep.uai order by ep.uai), '{}') as uais from people p
      join establishment_people ep on ep.person_id = p.id and ep.gone_at is null
      join establishments e on e.uai = ep.uai and e.ent_id = ${q.entId}
      where p.ent_id = ${q.entId} and p.person_id = ${q.personId} and p.gone_at is null
    ),
    target as (
      select coalesce(${q.uai}::text, case when ${q.hint}::text = any(present.uais) then ${q.hint}::text end, present.uais[1], ${q.hint}::text) as uai
      from present
    ),
    person as (
      select p.id, p.last_name, p.first_name, p.civility, p.emails, p.gone_at as p_gone_at, p.restricted_at, p.objected_at,
             ep.profiles, ep.mefs, ep.subjects, ep.gone_at as ep_gone_at
      from people p
      join establishment_people ep on ep.person_id = p.id and ep.uai = (select uai from target)
      where p.ent_id = ${q.entId} and p.person_id = ${q.personId}
    ),
    person_groups as (
      select g.id, g.code, g.name, g.kind from groups g
      where g.uai = (select uai from target) and g.id in (
        select gm.group_id from group_members gm where gm.person_id = (select id from person)
        union select t.group_id from teachings t where t.person_id = (select id from person))
    ),
    subs as (
      select s.pk, s.starts_at, s.ends_at, s.assignment_type, s.audiences, s.resource_id from subscriptions s
      where s.uai = (select uai from target) and s.resource_id = ${q.resourceId}
    )
    select
      (select uais from present) as present,
      (select uai from target) as target_uai,
      (select e.ent_id from establishments e where e.uai = (select uai from target)) as est_ent_id,
      (select e.degree from establishments e where e.uai = (select uai from target)) as est_degree,
      person.id as p_ref, person.last_name, person.first_name, person.civility, person.emails, person.profiles,
      person.mefs, person.subjects,
      coalesce(person.p_gone_at, person.ep_gone_at) as gone_at,
      coalesce(person.restricted_at, (select rr.recorded_at from rights_records rr
        where rr.ent_id = ${q.entId} and rr.person_hash = ${q.personHash} and rr.kind = 'restriction')) as restricted_at,
      coalesce(person.objected_at, (select rr.recorded_at from rights_records rr
        where rr.ent_id = ${q.entId} and rr.person_hash = ${q.personHash} and rr.kind = 'objection')) as objected_at,
      (select array_agg(distinct s order by s) from teachings t join person_groups pg on pg.id = t.group_id, unnest(t.subjects) s
        where t.person_id = person.id) as taught_subjects,
      (select array_agg(code order by code) from person_groups where kind = 'DIVISION') as divisions,
      (select array_agg(code order by code) from person_groups where kind = 'GROUPE') as groups,
      (select array_agg(name order by code) from person_groups where kind = 'DIVISION') as division_labels,
      (select array_agg(name order by code) from person_groups where kind = 'GROUPE') as group_labels,
      (select array_agg(distinct left(m.mefstat11, 4) order by left(m.mefstat11, 4)) from mefs m
        where m.uai = (select uai from target) and m.code = any(person.mefs) and length(m.mefstat11) >= 4) as mefstat4,
      (select pl.link_key from person_links pl where pl.ent_id = ${q.entId} and pl.person_hash = ${q.personHash}) as link_key,
      r.id as r_id, r.publisher_id, r.sp_entity_id, r.sp_acs_url, r.sp_encryption_cert, r.ido_scope, r.access_url,
      (select array_agg(ra.code order by ra.code) from released_attributes ra where ra.resource_id = ${q.resourceId}) as released,
      (select array_agg(ra.format_version order by ra.code) from released_attributes ra where ra.resource_id = ${q.resourceId}) as released_versions,
      (select array_agg(x.u order by x.own desc, x.id, x.n) from (
        select f.id, f.id = r.id as own, v.n, v.u from resources f
        cross join lateral (values (1, f.access_url), (2, f.resource_url)) as v(n, u)
        where v.u is not null and (f.id = r.id
          or f.id = coalesce(r.catalogue->>'membreFamille', r.id) or f.catalogue->>'membreFamille' = coalesce(r.catalogue->>'membreFamille', r.id))
      ) x) as family_urls,
      exists (select 1 from data_requests dr where dr.resource_id = ${q.resourceId} and dr.status = 'reviewed') as has_reviewed_request,
      (select count(*) from subs where starts_at <= ${q.now} and ends_at > ${q.now})::int as subs_valid,
      (select count(*) from subs where ends_at <= ${q.now})::int as subs_expired,
      (select count(*) from subs where starts_at > ${q.now})::int as subs_not_started,
      coalesce((
        select true from subs s
        where s.starts_at <= ${q.now} and s.ends_at > ${q.now} and ${subscriptionGrants(sql`person.id`, sql`person.profiles`)}
        limit 1), false) as assigned
    from (select 1) as one
    left join person on true
    left join resources r on r.id = ${q.resourceId}
  `);

/** The facts at one establishment, and where the person is present in the project (for a door that names none). */
export interface DecisionRead {
  facts: DecisionFacts;
  /** The establishment decided at: the named one, else the hint when present, else the first present, else the hint. */
  uai: string | null;
  /** The person's present establishments in the project, in UAI order. */
  present: string[];
}

export async function decisionFacts(
  database: Pick<DatabaseHandle, 'db' | 'prepared'>,
  // personHash: rightsRecordHash of the person (src/modules/data-subjects/rights-records.ts), so that
  // an objection or restriction kept past the directory data applies when the person comes back.
  q: { entId: string; uai: string | null; hint?: string | null; personId: string; resourceId: string; now: Date; personHash: string },
): Promise<DecisionRead> {
  const [r] = await decisionQuery.run<Row>(database, { ...q, hint: q.hint ?? null, now: q.now.toISOString() });
  return { facts: toFacts(r!), uai: r!.target_uai, present: r!.present };
}

function toFacts(r: Row): DecisionFacts {
  return {
    establishmentEntId: r.est_ent_id,
    degree: r.est_degree ?? 2,
    person:
      r.p_ref === null
        ? null
        : {
            ref: Number(r.p_ref),
            lastName: r.last_name!,
            firstName: r.first_name!,
            civility: r.civility,
            emails: r.emails ?? [],
            profiles: r.profiles ?? [],
            mefs: r.mefs ?? [],
            subjects: r.subjects ?? [],
            taughtSubjects: r.taught_subjects ?? [],
            divisions: r.divisions ?? [],
            groups: r.groups ?? [],
            divisionLabels: r.division_labels ?? [],
            groupLabels: r.group_labels ?? [],
            mefstat4: r.mefstat4 ?? [],
            linkKey: r.link_key,
            goneAt: r.gone_at,
            restrictedAt: r.restricted_at,
            objectedAt: r.objected_at,
          },
    resource:
      r.r_id === null
        ? null
        : {
            id: r.r_id,
            publisherId: r.publisher_id!,
            spEntityId: r.sp_entity_id!,
            acsUrl: r.sp_acs_url!,
            encryptionCertificate: r.sp_encryption_cert,
            idoScope: r.ido_scope ?? 'project',
            accessUrl: r.access_url,
            familyUrls: [...new Set(r.family_urls ?? [])],
            released: r.released ?? [],
            releasedVersions: Object.fromEntries((r.released ?? []).map((code, i) => [code, r.released_versions?.[i] ?? 1])),
            hasReviewedRequest: r.has_reviewed_request,
          },
    subscriptions: { valid: r.subs_valid, expired: r.subs_expired, notStarted: r.subs_not_started },
    assigned: r.assigned,
  };
}
