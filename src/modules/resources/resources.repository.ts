import type { Kysely, Selectable } from 'kysely';
import type { Database, ResourcesTable } from '../../db/database.js';
import type { ResourceView } from './resources.schemas.js';
import type { ResolvedSp } from './resources.service.js';
import { casViews } from '../../doors/cas/cas.registration.js';
import { oidcViews } from '../../doors/oidc/oidc.clients.js';

type ResourceRow = Selectable<ResourcesTable>;

const COLUMNS = [
  'id', 'publisher_id', 'name', 'type_presentation', 'description', 'thumbnail_url', 'access_url', 'sp_entity_id', 'sp_acs_url',
  'sp_signing_cert', 'sp_encryption_cert', 'sp_metadata_xml', 'sp_requested_attributes', 'created_at', 'updated_at',
] as const;

export interface ResourceFieldsInput {
  name: string;
  typePresentation: string;
  description?: string;
  urlVignette?: string;
  urlAccesRessource?: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

export function toResourceView(r: Pick<ResourceRow, (typeof COLUMNS)[number]>): ResourceView {
  return {
    id: r.id,
    publisherId: r.publisher_id,
    name: r.name,
    typePresentation: r.type_presentation,
    ...(r.description !== null ? { description: r.description } : {}),
    ...(r.thumbnail_url !== null ? { urlVignette: r.thumbnail_url } : {}),
    ...(r.access_url !== null ? { urlAccesRessource: r.access_url } : {}),
    ...(r.sp_entity_id !== null && r.sp_acs_url !== null
      ? {
          sp: {
            entityId: r.sp_entity_id,
            acsUrl: r.sp_acs_url,
            ...(r.sp_signing_cert !== null ? { signingCertificate: r.sp_signing_cert } : {}),
            ...(r.sp_encryption_cert !== null ? { encryptionCertificate: r.sp_encryption_cert } : {}),
            fromMetadata: r.sp_metadata_xml !== null,
            requestedAttributes: r.sp_requested_attributes,
          },
        }
      : {}),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

const rowValues = (fields: ResourceFieldsInput, sp: ResolvedSp | undefined) => ({
  name: fields.name,
  type_presentation: fields.typePresentation,
  description: fields.description ?? null,
  thumbnail_url: fields.urlVignette ?? null,
  access_url: fields.urlAccesRessource ?? null,
  sp_entity_id: sp?.entityId ?? null,
  sp_acs_url: sp?.acsUrl ?? null,
  sp_signing_cert: sp?.signingCert ?? null,
  sp_encryption_cert: sp?.encryptionCert ?? null,
  sp_metadata_xml: sp?.metadataXml ?? null,
  sp_requested_attributes: sp?.requestedCodes ?? [],
});

/** Adds each resource's CAS and OpenID registrations (other tables) to its view. */
export async function withDoors(db: Kysely<Database>, views: ResourceView[]): Promise<ResourceView[]> {
  const ids = views.map((v) => v.id);
  const [cas, oidc] = await Promise.all([casViews(db, ids), oidcViews(db, ids)]);
  return views.map((v) => ({
    ...v,
    ...(cas.has(v.id) ? { cas: cas.get(v.id)! } : {}),
    ...(oidc.has(v.id) ? { oidc: oidc.get(v.id)! } : {}),
  }));
}

export async function insertResource(
  db: Kysely<Database>,
  id: string,
  publisherId: string,
  fields: ResourceFieldsInput,
  sp: ResolvedSp | undefined,
  now: Date,
): Promise<ResourceView> {
  const row = await db
    .insertInto('resources')
    .values({ id, publisher_id: publisherId, ...rowValues(fields, sp), created_at: now, updated_at: now })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toResourceView(row);
}

export async function updateResource(
  db: Kysely<Database>,
  id: string,
  fields: ResourceFieldsInput,
  sp: ResolvedSp | undefined,
  now: Date,
): Promise<ResourceView | undefined> {
  const row = await db
    .updateTable('resources')
    .set({ ...rowValues(fields, sp), updated_at: now })
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row && toResourceView(row);
}

export async function findResource(db: Kysely<Database>, id: string): Promise<ResourceView | undefined> {
  const row = await db.selectFrom('resources').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && (await withDoors(db, [toResourceView(row)]))[0];
}

/** The resource that already uses an SP entityID, if any. */
export async function resourceIdForEntityId(db: Kysely<Database>, entityId: string): Promise<string | undefined> {
  const row = await db.selectFrom('resources').select('id').where('sp_entity_id', '=', entityId).executeTakeFirst();
  return row?.id;
}

export async function listResources(
  db: Kysely<Database>,
  filter: { publisherId?: string },
  limit: number,
  after?: string,
): Promise<ResourceView[]> {
  let q = db.selectFrom('resources').select(COLUMNS).orderBy('id').limit(limit);
  if (filter.publisherId !== undefined) q = q.where('publisher_id', '=', filter.publisherId);
  if (after) q = q.where('id', '>', after);
  return withDoors(db, (await q.execute()).map(toResourceView));
}
