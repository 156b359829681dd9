import { X509Certificate } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database, IdoScopeValue, ResourcesTable } from '../../db/database.js';
import type { ResourceView } from './resources.schemas.js';
import { describePublicKey } from '../../saml/sp-metadata.js';
import type { ResolvedSp } from './resources.service.js';
import { effectiveOptions } from '../../doors/saml-idp/options.js';
import { forgetSp } from '../../doors/saml-idp/saml-idp.repository.js';
import { casViews } from '../../doors/cas/cas.registration.js';
import { oidcViews } from '../../doors/oidc/oidc.clients.js';

type ResourceRow = Selectable<ResourcesTable>;

const COLUMNS = [
  'id', 'publisher_id', 'name', 'type_presentation', 'description', 'thumbnail_url', 'access_url', 'sp_entity_id', 'sp_acs_url',
  'sp_signing_cert', 'sp_encryption_cert', 'sp_metadata_xml', 'sp_requested_attributes', 'created_at', 'updated_at',
  'resource_url', 'sso_mode',
  'sp_options', 'ido_scope',
] as const;

export interface ResourceFieldsInput {
  name: string;
  typePresentation: string;
  description?: string;
  urlVignette?: string;
  urlAccesRessource?: string;
  resourceUrl?: string;
  ssoMode?: 'redirect' | 'unsolicited';
}

const iso = (d: Date | string) => new Date(d).toISOString();

const summaries = new Map<string, { sha256: string; publicKey: string; notAfter: string }>();
/** Fingerprint, key and end of validity of a stored PEM, computed once per certificate. */
function summary(pem: string) {
  let s = summaries.get(pem);
  if (!s) {
    const cert = new X509Certificate(pem);
    s = { sha256: cert.fingerprint256, publicKey: describePublicKey(cert), notAfter: iso(cert.validTo) };
    if (summaries.size > 10_000) summaries.clear();
    summaries.set(pem, s);
  }
  return s;
}

export function toResourceView(r: Pick<ResourceRow, (typeof COLUMNS)[number]>): ResourceView {
  return {
    id: r.id,
    publisherId: r.publisher_id,
    name: r.name,
    typePresentation: r.type_presentation,
    ...(r.description !== null ? { description: r.description } : {}),
    ...(r.thumbnail_url !== null ? { urlVignette: r.thumbnail_url } : {}),
    ...(r.access_url !== null ? { urlAccesRessource: r.access_url } : {}),
    ...(r.resource_url !== null ? { resourceUrl: r.resource_url } : {}),
    ssoMode: r.sso_mode ?? (r.resource_url !== null ? 'redirect' : 'unsolicited'),
    ...(r.sp_entity_id !== null && r.sp_acs_url !== null
      ? {
          sp: {
            entityId: r.sp_entity_id,
            acsUrl: r.sp_acs_url,
            ...(r.sp_signing_cert !== null ? { signingCertificate: r.sp_signing_cert } : {}),
            ...(r.sp_encryption_cert !== null ? { encryptionCertificate: r.sp_encryption_cert } : {}),
            fromMetadata: r.sp_metadata_xml !== null,
            keyUse: {
              assertions: r.sp_encryption_cert !== null ? ('encrypted' as const) : ('signed, not encrypted' as const),
              ...(r.sp_encryption_cert !== null ? { encryption: summary(r.sp_encryption_cert) } : {}),
              ...(r.sp_signing_cert !== null ? { signing: summary(r.sp_signing_cert) } : {}),
            },
            requestedAttributes: r.sp_requested_attributes,
          },
        }
      : {}),
    samlOptions: effectiveOptions(r.sp_options, r.sp_encryption_cert !== null),
    idoScope: r.ido_scope,
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
  resource_url: fields.resourceUrl ?? null,
  sso_mode: fields.ssoMode ?? null,
  sp_entity_id: sp?.entityId ?? null,
  sp_acs_url: sp?.acsUrl ?? null,
  sp_signing_cert: sp?.signingCert ?? null,
  sp_encryption_cert: sp?.encryptionCert ?? null,
  sp_metadata_xml: sp?.metadataXml ?? null,
  sp_requested_attributes: sp?.requestedCodes ?? [],
  sp_profile: sp?.profile ? JSON.stringify(sp.profile) : null,
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
  forgetSp();
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
  forgetSp();
  return row && toResourceView(row);
}

export async function findResource(db: Kysely<Database>, id: string): Promise<ResourceView | undefined> {
  const row = await db.selectFrom('resources').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && (await withDoors(db, [toResourceView(row)]))[0];
}

/** Another publisher's resource that already uses an SP entityID, if any. */
export async function otherPublisherWithEntityId(db: Kysely<Database>, entityId: string, publisherId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('resources')
    .select('id')
    .where('sp_entity_id', '=', entityId)
    .where('publisher_id', '<>', publisherId)
    .executeTakeFirst();
  return row?.id;
}

export async function setSamlOptions(db: Kysely<Database>, id: string, options: object, now: Date): Promise<ResourceView | undefined> {
  const row = await db
    .updateTable('resources')
    .set({ sp_options: JSON.stringify(options), updated_at: now })
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirst();
  forgetSp();
  return row && toResourceView(row);
}

export async function setIdoScope(db: Kysely<Database>, id: string, scope: IdoScopeValue, now: Date): Promise<ResourceView | undefined> {
  const row = await db.updateTable('resources').set({ ido_scope: scope, updated_at: now }).where('id', '=', id).returning(COLUMNS).executeTakeFirst();
  return row && toResourceView(row);
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
