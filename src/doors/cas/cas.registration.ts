import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors, type FieldError } from '../../errors.js';

/** What a resource declares to be reached through the broker's CAS server. */
export const CasInput = Type.Object(
  {
    serviceUrls: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), {
      minItems: 1,
      maxItems: 20,
      description:
        'CAS service URLs: an exact URL, or a prefix written with a final `/*` (e.g. `https://app.example/cas/*`). ' +
        'https only (http for localhost); no other wildcard; a URL may belong to one resource only.',
    }),
    backChannelLogout: Type.Optional(
      Type.Boolean({ default: true, description: 'POST a SAML LogoutRequest to the service when the person’s broker session ends' }),
    ),
  },
  { additionalProperties: false, title: 'CasRegistration' },
);
export type CasInput = Static<typeof CasInput>;

export const CasView = Type.Object({
  serviceUrls: Type.Array(Type.String()),
  backChannelLogout: Type.Boolean(),
});
export type CasView = Static<typeof CasView>;

export interface CasServiceEntry {
  url: string;
  isPrefix: boolean;
  origin: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The WHATWG form of a service URL (dot segments resolved, host lower-cased), or null. */
export function normalizeService(service: string): URL | null {
  try {
    const u = new URL(service);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u : null;
  } catch {
    return null;
  }
}

/**
 * Checks the declared service URLs. A prefix must end at a path boundary (`/*`): `https://app.example*`
 * would also match `https://app.example.evil.test`, the open pattern a ticket must never go to.
 */
export function resolveCasServices(input: CasInput, field = 'body/cas/serviceUrls'): CasServiceEntry[] {
  const problems: FieldError[] = [];
  const entries: CasServiceEntry[] = [];
  input.serviceUrls.forEach((raw, i) => {
    const path = `${field}/${i}`;
    const isPrefix = raw.endsWith('/*');
    const text = isPrefix ? raw.slice(0, -1) : raw;
    if (text.includes('*')) return problems.push({ path, message: 'may contain `*` only as a final `/*`' });
    const u = normalizeService(text);
    if (!u) return problems.push({ path, message: 'is not an absolute http(s) URL' });
    if (u.protocol !== 'https:' && !LOCAL_HOSTS.has(u.hostname)) {
      return problems.push({ path, message: 'must be an https URL (http only for localhost or 127.0.0.1)' });
    }
    if (u.username || u.password) return problems.push({ path, message: 'must not carry credentials' });
    if (u.hash) return problems.push({ path, message: 'must not carry a fragment' });
    if (isPrefix && u.search) return problems.push({ path, message: 'a prefix ends with its path (no query)' });
    entries.push({ url: u.href, isPrefix, origin: u.origin });
  });
  if (problems.length > 0) throw errors.validation(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
  return entries;
}

/** Whether two registrations could match one service URL. */
function overlaps(a: CasServiceEntry, b: CasServiceEntry): boolean {
  if (a.isPrefix && b.isPrefix) return a.url.startsWith(b.url) || b.url.startsWith(a.url);
  if (a.isPrefix) return b.url.startsWith(a.url);
  if (b.isPrefix) return a.url.startsWith(b.url);
  return a.url === b.url;
}

/** 409 when another resource registered a service URL that overlaps one of these. */
export async function assertCasServicesFree(db: Kysely<Database>, resourceId: string, entries: CasServiceEntry[]): Promise<void> {
  const origins = [...new Set(entries.map((e) => e.origin))];
  if (origins.length === 0) return;
  const others = await db
    .selectFrom('cas_services')
    .select(['resource_id', 'url', 'is_prefix', 'origin'])
    .where('origin', 'in', origins)
    .where('resource_id', '<>', resourceId)
    .execute();
  for (const e of entries) {
    const clash = others.find((o) => overlaps(e, { url: o.url, isPrefix: o.is_prefix, origin: o.origin }));
    if (clash) {
      throw errors.conflict(`CAS service "${e.isPrefix ? `${e.url}*` : e.url}" overlaps a service URL of another resource`);
    }
  }
}

/** Replaces a resource's CAS registration (none when `input` is undefined). */
export async function saveCasServices(
  db: Kysely<Database>,
  resourceId: string,
  entries: CasServiceEntry[],
  backChannelLogout: boolean,
): Promise<void> {
  await db.deleteFrom('cas_services').where('resource_id', '=', resourceId).execute();
  if (entries.length > 0) {
    await db
      .insertInto('cas_services')
      .values(entries.map((e) => ({ resource_id: resourceId, url: e.url, is_prefix: e.isPrefix, origin: e.origin })))
      .execute();
  }
  await db.updateTable('resources').set({ cas_back_channel_logout: backChannelLogout }).where('id', '=', resourceId).execute();
}

/** The CAS registrations of these resources, as the API shows them. */
export async function casViews(db: Kysely<Database>, resourceIds: string[]): Promise<Map<string, CasView>> {
  const out = new Map<string, CasView>();
  if (resourceIds.length === 0) return out;
  const rows = await db
    .selectFrom('cas_services')
    .innerJoin('resources', 'resources.id', 'cas_services.resource_id')
    .select(['cas_services.resource_id', 'cas_services.url', 'cas_services.is_prefix', 'resources.cas_back_channel_logout'])
    .where('cas_services.resource_id', 'in', resourceIds)
    .orderBy('cas_services.url')
    .execute();
  for (const r of rows) {
    let v = out.get(r.resource_id);
    if (!v) out.set(r.resource_id, (v = { serviceUrls: [], backChannelLogout: r.cas_back_channel_logout }));
    v.serviceUrls.push(r.is_prefix ? `${r.url}*` : r.url);
  }
  return out;
}

export interface CasServiceMatch {
  resourceId: string;
  backChannelLogout: boolean;
}

/** The resource a service URL belongs to: an exact registration, else the longest prefix. */
export async function findCasService(db: Kysely<Database>, service: URL): Promise<CasServiceMatch | undefined> {
  const rows = await db
    .selectFrom('cas_services')
    .innerJoin('resources', 'resources.id', 'cas_services.resource_id')
    .select(['cas_services.resource_id', 'cas_services.url', 'cas_services.is_prefix', 'resources.cas_back_channel_logout'])
    .where('cas_services.origin', '=', service.origin)
    .execute();
  const href = service.href;
  let best: (typeof rows)[number] | undefined;
  for (const r of rows) {
    const hit = r.is_prefix ? href.startsWith(r.url) : href === r.url;
    if (!hit) continue;
    if (!best || (!r.is_prefix && best.is_prefix) || (r.is_prefix === best.is_prefix && r.url.length > best.url.length)) best = r;
  }
  return best && { resourceId: best.resource_id, backChannelLogout: best.cas_back_channel_logout };
}
