import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { AbonnementRow, AbonnementValues } from './abonnement.js';
import type { CatalogueFacts } from './catalogue.js';

export interface PublisherFacts {
  id: string;
  name: string;
  siren_isni: string | null;
}

export async function findPublisher(db: Kysely<Database>, id: string): Promise<PublisherFacts | undefined> {
  return db.selectFrom('publishers').select(['id', 'name', 'siren_isni']).where('id', '=', id).executeTakeFirst();
}

/** UAIs among `uais` that exist, with whether each is a first-degree school (nature 1xx or a 1st-degree type). */
export async function establishmentsFacts(db: Kysely<Database>, uais: string[]): Promise<Map<string, { firstDegree: boolean }>> {
  if (uais.length === 0) return new Map();
  const rows = await db.selectFrom('establishments').select(['uai', 'official']).where('uai', 'in', uais).execute();
  return new Map(
    rows.map((r) => {
      const nature = String(r.official?.nature_uai ?? '');
      const type = String(r.official?.type_uai ?? '');
      return [r.uai, { firstDegree: /^1/.test(nature) || /^1/.test(type) }];
    }),
  );
}

export async function resourceOwner(db: Kysely<Database>, resourceId: string): Promise<string | undefined> {
  return (await db.selectFrom('resources').select('publisher_id').where('id', '=', resourceId).executeTakeFirst())?.publisher_id;
}

const extraColumns = (v: AbonnementValues) => ({
  category: v.category,
  project_code: v.project_code,
  resource_label: v.resource_label,
  resource_id_type: v.resource_id_type,
  distributor_id: v.distributor_id,
});

const commonColumns = (v: AbonnementValues) => ({
  resource_id: v.resource_id,
  starts_at: v.starts_at,
  ends_at: v.ends_at,
  school_year: v.school_year,
  assignment_type: v.assignment_type,
  audiences: v.audiences,
  licences: JSON.stringify(v.licences),
  comment: v.comment,
  ...extraColumns(v),
});

export async function insertAbonnement(db: Kysely<Database>, publisherId: string, v: AbonnementValues & { uai: string }, now: Date): Promise<void> {
  await db
    .insertInto('subscriptions')
    .values({ id: v.id, publisher_id: publisherId, uai: v.uai, ...commonColumns(v), created_at: now, updated_at: now })
    .execute();
}

export async function updateAbonnement(db: Kysely<Database>, pk: number, v: AbonnementValues, now: Date): Promise<void> {
  await db.updateTable('subscriptions').set({ ...commonColumns(v), updated_at: now }).where('pk', '=', pk).execute();
}

export async function findLive(db: Kysely<Database>, publisherId: string, id: string) {
  return db.selectFrom('subscriptions').select(['pk', 'resource_id', 'uai']).where('publisher_id', '=', publisherId).where('id', '=', id).executeTakeFirst();
}

export const FILTER_COLUMNS = {
  uaiEtab: 'uai',
  idAbonnement: 'id',
  typeAffectation: 'assignment_type',
  categorieAffectation: 'category',
  codeProjetRessource: 'project_code',
} as const;

export const DATE_COLUMNS = {
  dateCreation: 'created_at',
  dateModification: 'updated_at',
  debutValidite: 'starts_at',
  finValidite: 'ends_at',
} as const;

export const SORT_COLUMNS = {
  idAbonnement: 'id',
  commentaireAbonnement: 'comment',
  idRessource: 'resource_id',
  libelleRessource: 'resource_label',
  debutValidite: 'starts_at',
  finValidite: 'ends_at',
  anneeFinValidite: 'school_year',
  uaiEtab: 'uai',
  categorieAffectation: 'category',
  typeAffectation: 'assignment_type',
  codeProjetRessource: 'project_code',
  dateCreation: 'created_at',
  dateModification: 'updated_at',
} as const;

export interface Search {
  /** Filter element → accepted values (any of them); names combine with AND. */
  equals: Partial<Record<keyof typeof FILTER_COLUMNS, string[]>>;
  audiences: string[];
  dates: Array<{ column: (typeof DATE_COLUMNS)[keyof typeof DATE_COLUMNS]; before?: Date; after?: Date }>;
  sort: (typeof SORT_COLUMNS)[keyof typeof SORT_COLUMNS];
  descending: boolean;
  includeDeleted: boolean;
  offset: number;
  limit: number;
}

const COLUMNS = sql.raw(
  's.id, s.publisher_id, s.resource_id, s.uai, s.starts_at, s.ends_at, s.school_year, s.assignment_type, s.audiences, s.licences, ' +
    's.comment, s.category, s.project_code, s.resource_label, s.resource_id_type, s.distributor_id, s.created_at, s.updated_at',
);

/** The publisher's subscriptions matching a search (and its deleted ones with `includeDeleted`), one page. */
export async function searchAbonnements(db: Kysely<Database>, publisherId: string, s: Search): Promise<AbonnementRow[]> {
  const conditions = [sql`s.publisher_id = ${publisherId}`];
  for (const [name, values] of Object.entries(s.equals)) {
    if (!values || values.length === 0) continue;
    conditions.push(sql`${sql.ref(`s.${FILTER_COLUMNS[name as keyof typeof FILTER_COLUMNS]}`)} in (${sql.join(values)})`);
  }
  if (s.audiences.length > 0) conditions.push(sql`s.audiences && ${sql.val(s.audiences)}::text[]`);
  for (const d of s.dates) {
    if (d.before) conditions.push(sql`${sql.ref(`s.${d.column}`)} <= ${d.before}`);
    if (d.after) conditions.push(sql`${sql.ref(`s.${d.column}`)} >= ${d.after}`);
  }
  const where = sql.join(conditions, sql` and `);
  const deleted = s.includeDeleted ? sql`union all select ${COLUMNS}, true as deleted from deleted_subscriptions s where ${where}` : sql``;
  const direction = sql.raw(s.descending ? 'desc' : 'asc');
  const result = await sql<AbonnementRow & { deleted: boolean }>`
    select x.*, r.name as resource_name, coalesce(p.siren_isni, p.id) as publisher_distributor
    from (select ${COLUMNS}, false as deleted from subscriptions s where ${where} ${deleted}) x
    left join resources r on r.id = x.resource_id
    join publishers p on p.id = x.publisher_id
    order by ${sql.ref(`x.${s.sort}`)} ${direction} nulls last, x.id ${direction}, x.deleted, x.updated_at desc
    offset ${s.offset} limit ${s.limit}
  `.execute(db);
  return result.rows;
}

export async function readAbonnement(db: Kysely<Database>, publisherId: string, id: string): Promise<AbonnementRow | undefined> {
  const result = await sql<AbonnementRow>`
    select ${COLUMNS}, r.name as resource_name, coalesce(p.siren_isni, p.id) as publisher_distributor
    from subscriptions s join resources r on r.id = s.resource_id join publishers p on p.id = s.publisher_id
    where s.publisher_id = ${publisherId} and s.id = ${id}`.execute(db);
  return result.rows[0];
}

/** Every establishment connected through an ENT project, with its official fields. */
export async function connectedEstablishments(db: Kysely<Database>) {
  return db.selectFrom('establishments').select(['uai', 'ent_id', 'name', 'official']).orderBy('uai').execute();
}

/** The caller's subscriptions with this id or project code, for the assignment counts. */
export async function subscriptionsFor(db: Kysely<Database>, publisherId: string, by: { id?: string; projectCode?: string }) {
  let q = db
    .selectFrom('subscriptions')
    .select(['pk', 'id', 'uai', 'project_code', 'resource_id', 'audiences', 'assignment_type'])
    .where('publisher_id', '=', publisherId)
    .orderBy('uai')
    .orderBy('id');
  if (by.id !== undefined) q = q.where('id', '=', by.id);
  if (by.projectCode !== undefined) q = q.where('project_code', '=', by.projectCode);
  return q.execute();
}

/** A resource with its publisher, as the resource lists need it. */
const catalogueQuery = (db: Kysely<Database>) =>
  db
    .selectFrom('resources as r')
    .innerJoin('publishers as p', 'p.id', 'r.publisher_id')
    .select([
      'r.id as resource_id',
      'r.name as resource_name',
      'r.publisher_id',
      'p.name as publisher_name',
      'p.siren_isni',
      'r.thumbnail_url',
      'r.type_presentation',
      'r.catalogue',
    ]);

/** Catalogue facts of these resources (with their publisher), for the resource lists. */
export async function catalogueFacts(db: Kysely<Database>, resourceIds: string[]): Promise<Map<string, CatalogueFacts>> {
  if (resourceIds.length === 0) return new Map();
  const rows = await catalogueQuery(db).where('r.id', 'in', resourceIds).execute();
  return new Map(rows.map((r) => [r.resource_id, r]));
}

/** Resources open for diffusion (catalogue `diffusable` not false), with their publisher. */
export async function diffusableResources(db: Kysely<Database>): Promise<CatalogueFacts[]> {
  return catalogueQuery(db).where(sql<boolean>`coalesce((r.catalogue->>'diffusable')::boolean, true)`).orderBy('r.id').execute();
}
