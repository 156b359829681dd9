import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, EntIdpsTable } from '../../db/database.js';
import type { IdpView } from './idp.schemas.js';

export type IdpRow = Selectable<EntIdpsTable>;
const IDP_COLUMNS = [
  'ent_id', 'entity_id', 'sso_url', 'sso_binding', 'signing_certificates', 'metadata_xml', 'attr_ent_id', 'attr_person_id', 'allow_sha1',
  'slo_url', 'created_at', 'updated_at',
] as const;

const iso = (d: Date | string) => new Date(d).toISOString();

export const toIdpView = (r: IdpRow, sharedWith: string[]): IdpView => ({
  entId: r.ent_id,
  entityId: r.entity_id,
  ssoUrl: r.sso_url,
  ssoBinding: r.sso_binding,
  signingCertificates: r.signing_certificates,
  fromMetadata: r.metadata_xml !== null,
  attributeNames: { entId: r.attr_ent_id, personId: r.attr_person_id },
  allowSha1: r.allow_sha1,
  sloUrl: r.slo_url,
  sharedWith,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export interface IdpValues {
  entity_id: string;
  sso_url: string;
  signing_certificates: string[];
  metadata_xml: string | null;
  attr_ent_id: string;
  attr_person_id: string;
  allow_sha1: boolean;
  slo_url: string | null;
}

export async function upsertIdp(db: Kysely<Database>, entId: string, v: IdpValues, now: Date): Promise<{ row: IdpRow; created: boolean }> {
  const row = await db
    .insertInto('ent_idps')
    .values({ ent_id: entId, sso_binding: 'HTTP-Redirect', ...v, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('ent_id').doUpdateSet({ ...v, updated_at: now }))
    .returning(IDP_COLUMNS)
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .executeTakeFirstOrThrow();
  const { inserted, ...idp } = row;
  return { row: idp, created: inserted };
}

export async function findIdp(db: Kysely<Database>, entId: string): Promise<IdpRow | undefined> {
  return db.selectFrom('ent_idps').select(IDP_COLUMNS).where('ent_id', '=', entId).executeTakeFirst();
}

/** The other projects that registered the same IdP (one platform, several project codes). */
export async function projectsSharingIdp(db: Kysely<Database>, entityId: string, entId: string): Promise<string[]> {
  const rows = await db.selectFrom('ent_idps').select('ent_id').where('entity_id', '=', entityId).where('ent_id', '<>', entId).orderBy('ent_id').execute();
  return rows.map((r) => r.ent_id);
}

/** The ENT project and its IdP (null when the project has none), in one round trip. */
export async function projectWithIdp(db: Kysely<Database>, entId: string) {
  return db
    .selectFrom('ent_projects as p')
    .leftJoin('ent_idps as i', 'i.ent_id', 'p.id')
    .select(['p.id', 'p.name', 'i.entity_id', 'i.sso_url', 'i.signing_certificates', 'i.attr_ent_id', 'i.attr_person_id', 'i.allow_sha1'])
    .where('p.id', '=', entId)
    .executeTakeFirst();
}

/** ENT projects a person can log in through (those with an IdP), for the discovery page. */
export async function connectedProjects(db: Kysely<Database>, filter: string | undefined): Promise<Array<{ id: string; name: string }>> {
  let q = db.selectFrom('ent_projects as p').innerJoin('ent_idps as i', 'i.ent_id', 'p.id').select(['p.id', 'p.name']).orderBy('p.name').limit(200);
  if (filter) {
    const like = `%${filter.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('p.name', 'ilike', like), eb('p.id', 'ilike', like)]));
  }
  return q.execute();
}

export interface EntryRequest {
  id: string;
  authnRequestId: string;
  entId: string;
  uai: string | null;
  resourceId: string | null;
  returnPath: string | null;
}

export async function keepEntryRequest(db: Kysely<Database>, r: EntryRequest, now: Date, minutes: number): Promise<void> {
  await db
    .insertInto('entry_requests')
    .values({
      id: r.id,
      authn_request_id: r.authnRequestId,
      ent_id: r.entId,
      uai: r.uai,
      resource_id: r.resourceId,
      return_path: r.returnPath,
      created_at: now,
      expires_at: new Date(now.getTime() + minutes * 60_000),
    })
    .execute();
}

/** The kept request a RelayState names, if it has not expired (not consumed: see takeEntryRequest). */
export async function findEntryRequest(db: Kysely<Database>, id: string, now: Date): Promise<EntryRequest | undefined> {
  const r = await db
    .selectFrom('entry_requests')
    .select(['id', 'authn_request_id', 'ent_id', 'uai', 'resource_id', 'return_path'])
    .where('id', '=', id)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return r && { id: r.id, authnRequestId: r.authn_request_id, entId: r.ent_id, uai: r.uai, resourceId: r.resource_id, returnPath: r.return_path };
}

/** Consumes the kept request: true for the one caller that got it (a second POST of the same Response gets false). */
export async function takeEntryRequest(db: Kysely<Database>, id: string): Promise<boolean> {
  const r = await db.deleteFrom('entry_requests').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

/** Records an assertion ID; false when it was already there (a replay), whichever replica saw it first. */
export async function rememberAssertion(db: Kysely<Database>, idpEntityId: string, assertionId: string, until: Date): Promise<boolean> {
  const r = await db
    .insertInto('saml_seen_assertions')
    .values({ idp_entity_id: idpEntityId, assertion_id: assertionId, expires_at: until })
    .onConflict((oc) => oc.columns(['idp_entity_id', 'assertion_id']).doNothing())
    .returning('assertion_id')
    .executeTakeFirst();
  return r !== undefined;
}

/** Drops expired kept requests and remembered assertion IDs (an expired assertion is refused on its dates anyway). */
export async function purgeExpired(db: Kysely<Database>, now: Date): Promise<void> {
  await db.deleteFrom('entry_requests').where('expires_at', '<=', now).execute();
  await db.deleteFrom('saml_seen_assertions').where('expires_at', '<=', now).execute();
}

/** Names for the pages, and where and how the browser goes on: one small read by primary keys. */
export async function resourceAndEstablishment(db: Kysely<Database>, resourceId: string, uai: string | null) {
  const r = await db
    .selectFrom(sql`(select 1)`.as('one'))
    .leftJoin('resources as r', (j) => j.on('r.id', '=', resourceId))
    .leftJoin('establishments as e', (j) => j.on('e.uai', '=', uai ?? ''))
    .select(['r.name as resource_name', 'r.resource_url', 'r.sso_mode', 'e.name as establishment_name'])
    .executeTakeFirst();
  return {
    resourceName: r?.resource_name ?? null,
    resourceUrl: r?.resource_url ?? null,
    ssoMode: r?.sso_mode ?? null,
    establishmentName: r?.establishment_name ?? null,
  };
}

/** Every registration of an IdP entityID (one platform may serve several projects): its keys and logout endpoint. */
export async function idpsByEntity(db: Kysely<Database>, entityId: string): Promise<Array<{ ent_id: string; signing_certificates: string[]; slo_url: string | null }>> {
  return db.selectFrom('ent_idps').select(['ent_id', 'signing_certificates', 'slo_url']).where('entity_id', '=', entityId).orderBy('ent_id').execute();
}
