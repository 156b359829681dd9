import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { CodeRow, GroupRow, LinkRow, ManagerRow, PersonRow, PlacementRow, TeachingRow } from './directory.rows.js';

/*
 * Set-based SQL for the directory feed: every statement takes the whole batch as one jsonb
 * parameter (jsonb_to_recordset), so a 2,000-person snapshot is a handful of statements, not
 * thousands. Upserts only write rows whose content changed (`on conflict ... do update ... where`),
 * which is what makes a repeated snapshot a no-op.
 */

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;
const texts = (values: readonly string[]) => sql`(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

/**
 * The large upserts (people, placements) go in slices of BATCH rows: each slice's JSON is built and
 * sent while the event loop stays free for SSO, instead of one 10 MiB JSON.stringify for a feed of
 * 17,000 people. Same transaction, same result.
 */
const BATCH = 2000;
async function inBatches<R, C extends Changed>(rows: R[], fn: (slice: R[]) => Promise<C>, merge: (into: C, from: C) => void): Promise<C | undefined> {
  let out: C | undefined;
  for (let i = 0; i < rows.length; i += BATCH) {
    const c = await fn(rows.slice(i, i + BATCH));
    if (out) merge(out, c);
    else out = c;
  }
  return out;
}
const mergeChanged = (into: Changed, from: Changed) => {
  for (const k of from.inserted) into.inserted.push(k);
  for (const k of from.updated) into.updated.push(k);
};

const count = async (db: Kysely<Database>, query: ReturnType<typeof sql>): Promise<number> => {
  const r = await query.execute(db);
  return Number(r.numAffectedRows ?? 0n);
};

// --- establishments and scope ---

export async function findEstablishments(db: Kysely<Database>, uais: readonly string[]): Promise<Array<{ uai: string; ent_id: string; name: string }>> {
  if (uais.length === 0) return [];
  return db.selectFrom('establishments').select(['uai', 'ent_id', 'name']).where('uai', 'in', [...uais]).execute();
}

/** Serialises feeds of the same establishments; taken in UAI order so two feeds cannot deadlock. */
export async function lockEstablishments(db: Kysely<Database>, uais: readonly string[]): Promise<void> {
  await sql`select uai from establishments where uai in ${texts([...uais].sort())} order by uai for update`.execute(db);
}

export async function renameEstablishment(db: Kysely<Database>, uai: string, name: string, now: Date): Promise<number> {
  const r = await db
    .updateTable('establishments')
    .set({ name, updated_at: now })
    .where('uai', '=', uai)
    .where('name', '<>', name)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** 1: primary school (its feed is GAR-ENT-1D), 2: secondary. */
export async function setDegree(db: Kysely<Database>, uais: readonly string[], degree: 1 | 2): Promise<void> {
  if (uais.length === 0) return;
  await db.updateTable('establishments').set({ degree }).where('uai', 'in', [...uais]).where('degree', '<>', degree).execute();
}

/** Every UAI of an ENT project. */
export async function projectUais(db: Kysely<Database>, entId: string): Promise<string[]> {
  return (await db.selectFrom('establishments').select('uai').where('ent_id', '=', entId).execute()).map((r) => r.uai);
}

export async function degreeOf(db: Kysely<Database>, uai: string): Promise<1 | 2 | undefined> {
  const row = await db.selectFrom('establishments').select('degree').where('uai', '=', uai).executeTakeFirst();
  return row ? (Number(row.degree) as 1 | 2) : undefined;
}

// --- what is stored, for reference checks of partial feeds ---

export async function activePeopleAt(db: Kysely<Database>, entId: string, pairs: Array<{ uai: string; person_id: string }>): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const r = await sql<{ uai: string; person_id: string }>`
    select ep.uai, p.person_id
    from jsonb_to_recordset(${json(pairs)}) t(uai text, person_id text)
    join people p on p.ent_id = ${entId} and p.person_id = t.person_id
    join establishment_people ep on ep.person_id = p.id and ep.uai = t.uai and ep.gone_at is null
  `.execute(db);
  return new Set(r.rows.map((x) => `${x.uai}\u0000${x.person_id}`));
}

export async function storedGroupKinds(db: Kysely<Database>, pairs: Array<{ uai: string; code: string }>): Promise<Map<string, string>> {
  if (pairs.length === 0) return new Map();
  const r = await sql<{ uai: string; code: string; kind: string }>`
    select g.uai, g.code, g.kind from jsonb_to_recordset(${json(pairs)}) t(uai text, code text)
    join groups g on g.uai = t.uai and g.code = t.code
  `.execute(db);
  return new Map(r.rows.map((x) => [`${x.uai}\u0000${x.code}`, x.kind]));
}

// --- what one establishment holds now, for a snapshot to compare against ---

export interface StoredPlacement {
  /** people.id */
  pk: number;
  hash: string;
  person_gone: boolean;
  /** profiles, MEFs and subjects as JSON text, e.g. `["National_elv"]["10310019110"][]`: cheaper to compare than to parse. */
  codes: string;
  gone: boolean;
}

/** The JSON text `readPlacements` gives for a placement's profiles, MEFs and subjects. */
export const placementCodes = (p: { profiles: string[]; mefs: string[]; subjects: string[] }) =>
  JSON.stringify(p.profiles) + JSON.stringify(p.mefs) + JSON.stringify(p.subjects);

/**
 * One read of the establishment's people, so that a snapshot writes only what differs: a nightly
 * snapshot is mostly unchanged, and comparing in one pass is far cheaper than upserting everyone.
 * (Should the two JSON renderings ever differ for equal lists, the upsert's own `where` still skips
 * the write: the comparison here only saves work.)
 */
export async function readPlacements(db: Kysely<Database>, uai: string): Promise<Map<string, StoredPlacement>> {
  // No filter on people.ent_id: the establishment belongs to one project and so do its people, and
  // such a filter (true for every row of a project) tempts the planner into hashing the whole project.
  const r = await sql<StoredPlacement & { person_id: string }>`
    select p.person_id, p.id as pk, p.content_hash as hash, p.gone_at is not null as person_gone,
           to_json(ep.profiles)::text || to_json(ep.mefs)::text || to_json(ep.subjects)::text as codes,
           ep.gone_at is not null as gone
    from establishment_people ep join people p on p.id = ep.person_id
    where ep.uai = ${uai}
  `.execute(db);
  return new Map(r.rows.map(({ person_id, ...rest }) => [person_id, rest]));
}

export async function readGroupIds(db: Kysely<Database>, uai: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('groups').select(['id', 'code']).where('uai', '=', uai).execute();
  return new Map(rows.map((r) => [r.code, Number(r.id)]));
}

/** Links by row ids: no join to people, whose text ids the caller already holds. */
export interface LinkPk {
  group_id: number;
  person_id: number;
}

export async function readMembershipPks(db: Kysely<Database>, uai: string): Promise<LinkPk[]> {
  const r = await sql<LinkPk>`
    select gm.group_id, gm.person_id from group_members gm join groups g on g.id = gm.group_id where g.uai = ${uai}
  `.execute(db);
  return r.rows.map((x) => ({ group_id: Number(x.group_id), person_id: Number(x.person_id) }));
}

export async function readTeachingPks(db: Kysely<Database>, uai: string): Promise<Array<LinkPk & { subjects: string[] }>> {
  const r = await sql<LinkPk & { subjects: string[] }>`
    select te.group_id, te.person_id, te.subjects from teachings te join groups g on g.id = te.group_id where g.uai = ${uai}
  `.execute(db);
  return r.rows.map((x) => ({ group_id: Number(x.group_id), person_id: Number(x.person_id), subjects: x.subjects }));
}

export async function insertMembershipPks(db: Kysely<Database>, rows: LinkPk[]): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`insert into group_members (group_id, person_id)
        select t.group_id, t.person_id from jsonb_to_recordset(${json(rows)}) t(group_id bigint, person_id bigint)
        on conflict do nothing`,
  );
}

export async function deleteMembershipPks(db: Kysely<Database>, rows: LinkPk[]): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`delete from group_members gm using jsonb_to_recordset(${json(rows)}) t(group_id bigint, person_id bigint)
        where gm.group_id = t.group_id and gm.person_id = t.person_id`,
  );
}

export async function upsertTeachingPks(db: Kysely<Database>, rows: Array<LinkPk & { subjects: string[] }>): Promise<{ added: number; updated: number }> {
  if (rows.length === 0) return { added: 0, updated: 0 };
  const r = await sql<{ added: number; updated: number }>`
    with desired as (select * from jsonb_to_recordset(${json(rows)}) t(group_id bigint, person_id bigint, subjects text[])),
    up as (${upsertTeachingsSql})
    select (select count(*) from up where inserted) as added, (select count(*) from up where not inserted) as updated
  `.execute(db);
  return { added: Number(r.rows[0]!.added), updated: Number(r.rows[0]!.updated) };
}

export async function deleteTeachingPks(db: Kysely<Database>, rows: LinkPk[]): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`delete from teachings te using jsonb_to_recordset(${json(rows)}) t(group_id bigint, person_id bigint)
        where te.group_id = t.group_id and te.person_id = t.person_id`,
  );
}

// --- people ---

export interface Changed {
  inserted: string[];
  updated: string[];
}

/** Upserts project-wide person rows; returns the ids that were created or changed. */
export async function upsertPeople(db: Kysely<Database>, entId: string, rows: PersonRow[], now: Date): Promise<Changed> {
  return (await inBatches(rows, (slice) => upsertPeopleSlice(db, entId, slice, now), mergeChanged)) ?? { inserted: [], updated: [] };
}

async function upsertPeopleSlice(db: Kysely<Database>, entId: string, rows: PersonRow[], now: Date): Promise<Changed> {
  const r = await sql<{ person_id: string; inserted: boolean }>`
    insert into people as p (ent_id, person_id, last_name, first_name, other_first_names, birth_name, civility, birth_date,
                             emails, struct_rattach, disciplines, content_hash, created_at, updated_at, gone_at)
    select ${entId}, t.person_id, t.last_name, t.first_name, t.other_first_names, t.birth_name, t.civility, t.birth_date,
           t.emails, t.struct_rattach, t.disciplines, t.hash, ${now}, ${now}, null
    from jsonb_to_recordset(${json(rows)}) t(person_id text, last_name text, first_name text, other_first_names text[],
         birth_name text, civility text, birth_date date, emails text[], struct_rattach text, disciplines text[], hash text)
    on conflict (ent_id, person_id) do update set
      last_name = excluded.last_name, first_name = excluded.first_name, other_first_names = excluded.other_first_names,
      birth_name = excluded.birth_name, civility = excluded.civility, birth_date = excluded.birth_date,
      emails = excluded.emails, struct_rattach = excluded.struct_rattach, disciplines = excluded.disciplines,
      content_hash = excluded.content_hash, updated_at = excluded.updated_at, gone_at = null
    where p.content_hash <> excluded.content_hash or p.gone_at is not null
    returning p.person_id, (xmax = 0) as inserted
  `.execute(db);
  return split(r.rows.map((x) => ({ key: x.person_id, inserted: x.inserted })));
}

function split(rows: Array<{ key: string; inserted: boolean }>): Changed {
  const out: Changed = { inserted: [], updated: [] };
  for (const r of rows) (r.inserted ? out.inserted : out.updated).push(r.key);
  return out;
}

/**
 * Upserts people at establishments and revives those marked gone. `replace` sets profiles, MEFs and
 * subjects; `profiles` (the XML person files) leaves MEFs and subjects to their own elements.
 * Keys of the answer are `uai \0 personId`.
 */
export async function upsertPlacements(
  db: Kysely<Database>,
  entId: string,
  rows: PlacementRow[],
  now: Date,
  mode: 'replace' | 'profiles',
): Promise<Changed & { pks: Map<string, number> }> {
  const merge = (into: Changed & { pks: Map<string, number> }, from: Changed & { pks: Map<string, number> }) => {
    mergeChanged(into, from);
    for (const [k, v] of from.pks) into.pks.set(k, v);
  };
  return (await inBatches(rows, (slice) => upsertPlacementsSlice(db, entId, slice, now, mode), merge)) ?? { inserted: [], updated: [], pks: new Map() };
}

async function upsertPlacementsSlice(
  db: Kysely<Database>,
  entId: string,
  rows: PlacementRow[],
  now: Date,
  mode: 'replace' | 'profiles',
): Promise<Changed & { pks: Map<string, number> }> {
  const set =
    mode === 'replace'
      ? sql`profiles = excluded.profiles, mefs = excluded.mefs, subjects = excluded.subjects, updated_at = excluded.updated_at, gone_at = null
            where ep.gone_at is not null or ep.profiles <> excluded.profiles or ep.mefs <> excluded.mefs or ep.subjects <> excluded.subjects`
      : sql`profiles = excluded.profiles, updated_at = excluded.updated_at, gone_at = null
            where ep.gone_at is not null or ep.profiles <> excluded.profiles`;
  const r = await sql<{ uai: string; person_id: string; pk: number; inserted: boolean }>`
    with up as (
      insert into establishment_people as ep (uai, person_id, profiles, mefs, subjects, updated_at, gone_at)
      select t.uai, p.id, t.profiles, t.mefs, t.subjects, ${now}, null
      from jsonb_to_recordset(${json(rows)}) t(uai text, person_id text, profiles text[], mefs text[], subjects text[])
      join people p on p.ent_id = ${entId} and p.person_id = t.person_id
      on conflict (uai, person_id) do update set ${set}
      returning ep.uai, ep.person_id, (xmax = 0) as inserted
    )
    select up.uai, p.person_id, p.id as pk, up.inserted from up join people p on p.id = up.person_id
  `.execute(db);
  return {
    ...split(r.rows.map((x) => ({ key: `${x.uai}\u0000${x.person_id}`, inserted: x.inserted }))),
    pks: new Map(r.rows.map((x) => [`${x.uai}\u0000${x.person_id}`, Number(x.pk)])),
  };
}

/** Adds MEF and subject codes to stored placements (XML GARPersonMEF, GAREleveEnseignement). */
export async function addPlacementCodes(
  db: Kysely<Database>,
  entId: string,
  rows: Array<{ uai: string; person_id: string; mefs: string[]; subjects: string[] }>,
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`
    update establishment_people ep set
      mefs = (select coalesce(array_agg(distinct x order by x), '{}') from unnest(ep.mefs || t.mefs) x),
      subjects = (select coalesce(array_agg(distinct x order by x), '{}') from unnest(ep.subjects || t.subjects) x),
      updated_at = ${now}
    from jsonb_to_recordset(${json(rows)}) t(uai text, person_id text, mefs text[], subjects text[])
    join people p on p.ent_id = ${entId} and p.person_id = t.person_id
    where ep.uai = t.uai and ep.person_id = p.id and not (t.mefs <@ ep.mefs and t.subjects <@ ep.subjects)
  `,
  );
}

/**
 * Marks people gone at one establishment: all active ones except `keep` (a full snapshot), or only
 * those listed in `only` (a delta). Returns their row ids.
 */
export async function markGoneAt(
  db: Kysely<Database>,
  entId: string,
  uai: string,
  which: { keep: string[] } | { only: string[] },
  now: Date,
): Promise<number[]> {
  const filter = 'keep' in which ? sql`p.person_id not in ${texts(which.keep)}` : sql`p.person_id in ${texts(which.only)}`;
  const r = await sql<{ id: number }>`
    update establishment_people ep set gone_at = ${now}, updated_at = ${now}
    from people p
    where p.id = ep.person_id and p.ent_id = ${entId} and ep.uai = ${uai} and ep.gone_at is null and ${filter}
    returning ep.person_id as id
  `.execute(db);
  return r.rows.map((x) => Number(x.id));
}

/** Gone people lose their classes, groups and teachings at that establishment at once. */
export async function removeLinksOf(db: Kysely<Database>, uai: string, personIds: number[]): Promise<{ memberships: number; teachings: number }> {
  if (personIds.length === 0) return { memberships: 0, teachings: 0 };
  const ids = sql`(select (jsonb_array_elements_text(${JSON.stringify(personIds.map(String))}::jsonb))::bigint)`;
  const memberships = await count(
    db,
    sql`delete from group_members gm using groups g where g.id = gm.group_id and g.uai = ${uai} and gm.person_id in ${ids}`,
  );
  const teachings = await count(db, sql`delete from teachings te using groups g where g.id = te.group_id and g.uai = ${uai} and te.person_id in ${ids}`);
  return { memberships, teachings };
}

/** A person with no active establishment left is gone project-wide. */
export async function markPeopleGoneWhereNoActivePlacement(db: Kysely<Database>, personIds: number[], now: Date): Promise<number> {
  if (personIds.length === 0) return 0;
  return count(
    db,
    sql`
    update people p set gone_at = ${now}, updated_at = ${now}
    where p.id in (select (jsonb_array_elements_text(${JSON.stringify(personIds.map(String))}::jsonb))::bigint)
      and p.gone_at is null
      and not exists (select 1 from establishment_people ep where ep.person_id = p.id and ep.gone_at is null)
  `,
  );
}

// --- groups ---

/** Keys of the answer are `uai \0 code`. */
export async function upsertGroups(db: Kysely<Database>, rows: GroupRow[]): Promise<Changed> {
  if (rows.length === 0) return { inserted: [], updated: [] };
  const r = await sql<{ uai: string; code: string; inserted: boolean }>`
    insert into groups as g (uai, code, name, kind, divisions)
    select t.uai, t.code, t.name, t.kind, t.divisions
    from jsonb_to_recordset(${json(rows)}) t(uai text, code text, name text, kind text, divisions text[])
    on conflict (uai, code) do update set name = excluded.name, kind = excluded.kind, divisions = excluded.divisions
    where g.name <> excluded.name or g.kind <> excluded.kind or g.divisions <> excluded.divisions
    returning g.uai, g.code, (xmax = 0) as inserted
  `.execute(db);
  return split(r.rows.map((x) => ({ key: `${x.uai}\u0000${x.code}`, inserted: x.inserted })));
}

/** Deletes an establishment's groups (their memberships and teachings cascade). */
export async function deleteGroups(db: Kysely<Database>, uai: string, which: { keep: string[] } | { only: string[] }): Promise<number> {
  const filter = 'keep' in which ? sql`code not in ${texts(which.keep)}` : sql`code in ${texts(which.only)}`;
  return count(db, sql`delete from groups where uai = ${uai} and ${filter}`);
}

// --- memberships and teachings ---

const desiredMemberships = (entId: string, rows: LinkRow[]) => sql`
  select distinct g.id as group_id, p.id as person_id
  from jsonb_to_recordset(${json(rows)}) t(uai text, person_id text, group_code text)
  join people p on p.ent_id = ${entId} and p.person_id = t.person_id
  join groups g on g.uai = t.uai and g.code = t.group_code`;

export async function addMemberships(db: Kysely<Database>, entId: string, rows: LinkRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`insert into group_members (group_id, person_id) select group_id, person_id from (${desiredMemberships(entId, rows)}) d on conflict do nothing`,
  );
}

export async function removeMemberships(db: Kysely<Database>, entId: string, rows: LinkRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`delete from group_members gm using (${desiredMemberships(entId, rows)}) d where gm.group_id = d.group_id and gm.person_id = d.person_id`,
  );
}

const desiredTeachings = (entId: string, rows: TeachingRow[]) => sql`
  select g.id as group_id, p.id as person_id, t.subjects
  from jsonb_to_recordset(${json(rows)}) t(uai text, person_id text, group_code text, subjects text[])
  join people p on p.ent_id = ${entId} and p.person_id = t.person_id
  join groups g on g.uai = t.uai and g.code = t.group_code`;

const upsertTeachingsSql = sql`
  insert into teachings as te (person_id, group_id, subjects) select person_id, group_id, subjects from desired
  on conflict (person_id, group_id) do update set subjects = excluded.subjects where te.subjects <> excluded.subjects
  returning (xmax = 0) as inserted`;

export async function upsertTeachings(db: Kysely<Database>, entId: string, rows: TeachingRow[]): Promise<{ added: number; updated: number }> {
  if (rows.length === 0) return { added: 0, updated: 0 };
  const r = await sql<{ added: number; updated: number }>`
    with desired as (${desiredTeachings(entId, rows)}), up as (${upsertTeachingsSql})
    select (select count(*) from up where inserted) as added, (select count(*) from up where not inserted) as updated
  `.execute(db);
  return { added: Number(r.rows[0]!.added), updated: Number(r.rows[0]!.updated) };
}

export async function removeTeachings(db: Kysely<Database>, entId: string, rows: LinkRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return count(
    db,
    sql`delete from teachings te using (${desiredMemberships(entId, rows)}) d where te.group_id = d.group_id and te.person_id = d.person_id`,
  );
}

// --- subjects and MEFs ---

export type CodeTable = 'subjects' | 'mefs';

export async function upsertCodes(db: Kysely<Database>, table: CodeTable, rows: CodeRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  if (table === 'mefs') {
    // A MEF's MEFSTAT11 is the source of the MEFSTAT4 levels released as E_MS4/P_MS4.
    return count(
      db,
      sql`
      insert into mefs as c (uai, code, name, mefstat11)
      select t.uai, t.code, t.name, t.mefstat11 from jsonb_to_recordset(${json(rows.map((r) => ({ ...r, mefstat11: r.mefstat11 ?? null })))})
        t(uai text, code text, name text, mefstat11 text)
      on conflict (uai, code) do update set name = excluded.name, mefstat11 = excluded.mefstat11
        where (c.name, c.mefstat11) is distinct from (excluded.name, excluded.mefstat11)
    `,
    );
  }
  return count(
    db,
    sql`
    insert into ${sql.table(table)} as c (uai, code, name)
    select t.uai, t.code, t.name from jsonb_to_recordset(${json(rows)}) t(uai text, code text, name text)
    on conflict (uai, code) do update set name = excluded.name where c.name <> excluded.name
  `,
  );
}

export async function deleteCodes(db: Kysely<Database>, table: CodeTable, uai: string, which: { keep: string[] } | { only: string[] }): Promise<number> {
  const filter = 'keep' in which ? sql`code not in ${texts(which.keep)}` : sql`code in ${texts(which.only)}`;
  return count(db, sql`delete from ${sql.table(table)} where uai = ${uai} and ${filter}`);
}

// --- responsables d'affectation ---

export async function upsertAssignmentManagers(db: Kysely<Database>, entId: string, rows: ManagerRow[], now: Date): Promise<Changed> {
  if (rows.length === 0) return { inserted: [], updated: [] };
  const r = await sql<{ person_id: string; inserted: boolean }>`
    insert into assignment_managers as m (ent_id, person_id, last_name, first_name, email, uais, updated_at)
    select ${entId}, t.person_id, t.last_name, t.first_name, t.email, t.uais, ${now}
    from jsonb_to_recordset(${json(rows)}) t(person_id text, last_name text, first_name text, email text, uais text[])
    on conflict (ent_id, person_id) do update set last_name = excluded.last_name, first_name = excluded.first_name,
      email = excluded.email, uais = excluded.uais, updated_at = excluded.updated_at
    where (m.last_name, m.first_name, m.email, m.uais) is distinct from (excluded.last_name, excluded.first_name, excluded.email, excluded.uais)
    returning m.person_id, (xmax = 0) as inserted
  `.execute(db);
  // Unchanged rows too: being named again is what keeps a manager from the retention run.
  await db
    .updateTable('assignment_managers')
    .set({ seen_at: now })
    .where('ent_id', '=', entId)
    .where(sql<boolean>`person_id = any(${rows.map((m) => m.person_id)}::text[])`)
    .execute();
  return split(r.rows.map((x) => ({ key: x.person_id, inserted: x.inserted })));
}

/** Managers of an ENT project not in `listed` stop managing `uais` (a complete export no longer names them there). */
export async function withdrawAssignmentManagers(db: Kysely<Database>, entId: string, uais: string[], listed: string[], now: Date): Promise<number> {
  if (uais.length === 0) return 0;
  return count(
    db,
    sql`update assignment_managers set uais = array(select u from unnest(uais) u where not (u = any(${uais}::text[]))), updated_at = ${now}
        where ent_id = ${entId} and uais && ${uais}::text[] and not (person_id = any(${listed}::text[]))`,
  );
}

// --- reading back ---

export async function directoryCounts(db: Kysely<Database>, uai: string) {
  const profiles = await sql<{ profile: string; active: number; gone: number }>`
    select pr as profile, count(*) filter (where ep.gone_at is null) as active, count(*) filter (where ep.gone_at is not null) as gone
    from establishment_people ep cross join lateral unnest(ep.profiles) pr
    where ep.uai = ${uai} group by pr order by pr
  `.execute(db);
  const totals = await sql<{
    active: number;
    gone: number;
    divisions: number;
    groups: number;
    memberships: number;
    teachings: number;
    subjects: number;
    mefs: number;
    managers: number;
  }>`
    select
      (select count(*) from establishment_people where uai = ${uai} and gone_at is null) as active,
      (select count(*) from establishment_people where uai = ${uai} and gone_at is not null) as gone,
      (select count(*) from groups where uai = ${uai} and kind = 'DIVISION') as divisions,
      (select count(*) from groups where uai = ${uai} and kind = 'GROUPE') as groups,
      (select count(*) from group_members gm join groups g on g.id = gm.group_id where g.uai = ${uai}) as memberships,
      (select count(*) from teachings te join groups g on g.id = te.group_id where g.uai = ${uai}) as teachings,
      (select count(*) from subjects where uai = ${uai}) as subjects,
      (select count(*) from mefs where uai = ${uai}) as mefs,
      (select count(*) from assignment_managers where ${uai} = any(uais)) as managers
  `.execute(db);
  return { profiles: profiles.rows, totals: totals.rows[0]! };
}

/** One person at one establishment. Explicit columns: the birth date is never read here. */
export async function findPersonAt(db: Kysely<Database>, entId: string, uai: string, personId: string) {
  const person = await db
    .selectFrom('people as p')
    .innerJoin('establishment_people as ep', 'ep.person_id', 'p.id')
    .select([
      'p.id as pk',
      'p.person_id',
      'p.last_name',
      'p.first_name',
      'p.other_first_names',
      'p.birth_name',
      'p.civility',
      'p.struct_rattach',
      'p.emails',
      'p.disciplines',
      'p.gone_at as person_gone_at',
      'ep.profiles',
      'ep.mefs',
      'ep.subjects',
      'ep.gone_at',
      'ep.updated_at',
    ])
    .where('p.ent_id', '=', entId)
    .where('p.person_id', '=', personId)
    .where('ep.uai', '=', uai)
    .executeTakeFirst();
  if (!person) return undefined;
  const groups = await db
    .selectFrom('group_members as gm')
    .innerJoin('groups as g', 'g.id', 'gm.group_id')
    .select(['g.code', 'g.name', 'g.kind'])
    .where('gm.person_id', '=', person.pk)
    .where('g.uai', '=', uai)
    .orderBy('g.code')
    .execute();
  const teachings = await db
    .selectFrom('teachings as te')
    .innerJoin('groups as g', 'g.id', 'te.group_id')
    .select(['g.code', 'te.subjects'])
    .where('te.person_id', '=', person.pk)
    .where('g.uai', '=', uai)
    .orderBy('g.code')
    .execute();
  return { person, groups, teachings };
}
