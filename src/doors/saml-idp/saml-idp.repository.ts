import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { SpProfile } from '../../saml/sp-metadata.js';
import { effectiveOptions, type SamlOptions } from './options.js';

/** A registered resource seen as the SAML service provider that serves it. */
export interface SpResource {
  id: string;
  publisherId: string;
  entityId: string;
  accessUrl: string | null;
  /** Where the entry link sends the browser: the publisher's SP-initiated login starts from there. */
  resourceUrl: string | null;
  acsUrl: string;
  signingCertificate: string | null;
  encryptionCertificate: string | null;
  profile: SpProfile;
  options: SamlOptions;
}

const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

// Read on every AuthnRequest (twice when it is answered): kept a few seconds per entityID. A write
// through this process's resource API forgets the entry at once; another replica's write is seen
// within SP_CACHE_MS, which only delays an SP or option change, never a grant (decided apart).
const SP_CACHE_MS = 5000;
const spCache = new Map<string, { at: number; rows: Promise<SpResource[]> }>();
export function forgetSp(entityId?: string): void {
  if (entityId === undefined) spCache.clear();
  else spCache.delete(entityId);
}

/** Every resource served by one SP entityID (one per ARK), in id order. */
export async function resourcesOfSp(db: Kysely<Database>, entityId: string): Promise<SpResource[]> {
  const now = Date.now();
  const hit = spCache.get(entityId);
  if (hit && now - hit.at < SP_CACHE_MS) return hit.rows;
  if (spCache.size >= 10_000) spCache.clear();
  const rows = readResourcesOfSp(db, entityId);
  spCache.set(entityId, { at: now, rows });
  rows.catch(() => spCache.delete(entityId));
  return rows;
}

async function readResourcesOfSp(db: Kysely<Database>, entityId: string): Promise<SpResource[]> {
  const rows = await db
    .selectFrom('resources')
    .select(['id', 'publisher_id', 'sp_entity_id', 'access_url', 'resource_url', 'sp_acs_url', 'sp_signing_cert', 'sp_encryption_cert', 'sp_profile', 'sp_options'])
    .where('sp_entity_id', '=', entityId)
    .where('sp_acs_url', 'is not', null)
    .orderBy('id')
    .limit(1000)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    publisherId: r.publisher_id,
    entityId: r.sp_entity_id!,
    accessUrl: r.access_url,
    resourceUrl: r.resource_url,
    acsUrl: r.sp_acs_url!,
    signingCertificate: r.sp_signing_cert,
    encryptionCertificate: r.sp_encryption_cert,
    // An SP registered by fields (or before this door existed) declared one HTTP-POST ACS and nothing else.
    profile: (r.sp_profile as SpProfile | null) ?? {
      acs: [{ binding: HTTP_POST, location: r.sp_acs_url!, index: 0, isDefault: true }],
      singleLogout: [],
      nameIdFormats: [],
      authnRequestsSigned: false,
      encryptionMethods: [],
    },
    options: effectiveOptions(r.sp_options, r.sp_encryption_cert !== null),
  }));
}

// --- state kept across a browser round trip ---

/** An SP's AuthnRequest, an SP-started logout chain, or the answer owed to an ENT IdP's LogoutRequest. */
export type PendingKind = 'authn' | 'logout' | 'ent_logout';

export async function keepPending(db: Kysely<Database>, kind: PendingKind, state: object, now: Date, ttlSeconds: number): Promise<string> {
  const id = randomUUID();
  // Expired rows go on the next write: the table stays as small as the few minutes it covers.
  await db.deleteFrom('saml_idp_pending').where('expires_at', '<', now).execute();
  await db
    .insertInto('saml_idp_pending')
    .values({ id, kind, state: JSON.stringify(state), created_at: now, expires_at: new Date(now.getTime() + ttlSeconds * 1000) })
    .execute();
  return id;
}

export async function readPending<T>(db: Kysely<Database>, kind: PendingKind, id: string, now: Date): Promise<T | undefined> {
  // Only a well-formed UUID reaches the uuid column: anything else would be a cast error (a 500), not "unknown".
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
  const row = await db
    .selectFrom('saml_idp_pending')
    .select('state')
    .where('id', '=', id)
    .where('kind', '=', kind)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.state as T | undefined;
}

export async function updatePending(db: Kysely<Database>, id: string, state: object): Promise<void> {
  await db.updateTable('saml_idp_pending').set({ state: JSON.stringify(state) }).where('id', '=', id).execute();
}

export async function dropPending(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('saml_idp_pending').where('id', '=', id).execute();
}

