import { NOT_IN_PRIMARY } from '../attributes/attribute-dictionary.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { ATTRIBUTES, attributeByCode, currentFormat, formatFor } from '../attributes/attribute-dictionary.js';
import type { DataPolicyView, DataRequestView } from './data-requests.schemas.js';

const ORDER = new Map(ATTRIBUTES.map((a, i) => [a.code, i]));
const byDictionary = (a: { code: string }, b: { code: string }) => (ORDER.get(a.code) ?? 99) - (ORDER.get(b.code) ?? 99);
const iso = (d: Date | string) => new Date(d).toISOString();
const labelOf = (code: string) => attributeByCode(code)?.label ?? code;
/** The format a released code is sent in, and the dictionary's current one (they differ until an opt-in or a new review). */
function formatVersions(code: string, stored: number): { formatVersion: number; currentFormatVersion: number } {
  const def = attributeByCode(code);
  return def ? { formatVersion: formatFor(def, stored), currentFormatVersion: currentFormat(def) } : { formatVersion: stored, currentFormatVersion: stored };
}

type Status = DataRequestView['status'];

const requestQuery = (db: Kysely<Database>) =>
  db
    .selectFrom('data_requests as r')
    .innerJoin('resources as res', 'res.id', 'r.resource_id')
    .select([
      'r.id', 'r.resource_id', 'r.status', 'r.submitted_by', 'r.submitted_at', 'r.reviewed_by', 'r.reviewed_at',
      'res.name as resource_name', 'res.publisher_id',
    ]);

type RequestRow = Awaited<ReturnType<ReturnType<typeof requestQuery>['execute']>>[number];

/** Requests with their items, in the order of `rows`. */
async function withItems(db: Kysely<Database>, rows: RequestRow[]): Promise<DataRequestView[]> {
  if (rows.length === 0) return [];
  const items = await db
    .selectFrom('data_request_items')
    .select(['request_id', 'code', 'purpose', 'approved', 'comment'])
    .where('request_id', 'in', rows.map((r) => r.id))
    .execute();
  return rows.map((r) => ({
    id: r.id,
    resourceId: r.resource_id,
    resourceName: r.resource_name,
    publisherId: r.publisher_id,
    status: r.status,
    attributes: items
      .filter((i) => i.request_id === r.id)
      .sort(byDictionary)
      .map((i) => ({ code: i.code, label: labelOf(i.code), purpose: i.purpose, approved: i.approved, comment: i.comment })),
    notFromPrimarySchools: items.filter((i) => i.request_id === r.id && NOT_IN_PRIMARY.includes(i.code)).map((i) => i.code).sort(),
    submittedAt: iso(r.submitted_at),
    submittedBy: r.submitted_by,
    ...(r.reviewed_at ? { reviewedAt: iso(r.reviewed_at) } : {}),
    ...(r.reviewed_by ? { reviewedBy: r.reviewed_by } : {}),
  }));
}

/** Serialises submissions and reviews of one resource's requests (call inside a transaction). */
export async function lockResource(db: Kysely<Database>, resourceId: string): Promise<boolean> {
  const row = await db.selectFrom('resources').select('id').where('id', '=', resourceId).forUpdate().executeTakeFirst();
  return row !== undefined;
}

export async function supersedePending(db: Kysely<Database>, resourceId: string): Promise<void> {
  await db.updateTable('data_requests').set({ status: 'superseded' }).where('resource_id', '=', resourceId).where('status', '=', 'pending').execute();
}

export async function insertRequest(
  db: Kysely<Database>,
  input: { resourceId: string; submittedBy: string; submittedAt: Date; items: Array<{ code: string; purpose: string }> },
): Promise<string> {
  const { id } = await db
    .insertInto('data_requests')
    .values({ resource_id: input.resourceId, status: 'pending', submitted_by: input.submittedBy, submitted_at: input.submittedAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('data_request_items')
    .values(input.items.map((i) => ({ request_id: id, code: i.code, purpose: i.purpose })))
    .execute();
  return id;
}

/** Stops releasing every code not in `keep`; answers the codes withdrawn. */
export async function withdrawReleased(db: Kysely<Database>, resourceId: string, keep: string[]): Promise<string[]> {
  let q = db.deleteFrom('released_attributes').where('resource_id', '=', resourceId);
  if (keep.length > 0) q = q.where('code', 'not in', keep);
  const rows = await q.returning('code').execute();
  return rows.map((r) => r.code).sort((a, b) => byDictionary({ code: a }, { code: b }));
}

export async function findRequest(db: Kysely<Database>, requestId: string): Promise<DataRequestView | undefined> {
  const rows = await requestQuery(db).where('r.id', '=', requestId).execute();
  return (await withItems(db, rows))[0];
}

/** The request's resource and status, the row locked for the rest of the transaction. */
export async function requestForReview(
  db: Kysely<Database>,
  requestId: string,
): Promise<{ resourceId: string; status: Status; codes: string[] } | undefined> {
  const row = await db.selectFrom('data_requests').select(['resource_id', 'status']).where('id', '=', requestId).forUpdate().executeTakeFirst();
  if (!row) return undefined;
  const items = await db.selectFrom('data_request_items').select('code').where('request_id', '=', requestId).execute();
  return { resourceId: row.resource_id, status: row.status, codes: items.map((i) => i.code) };
}

export async function recordDecisions(
  db: Kysely<Database>,
  requestId: string,
  decisions: Array<{ code: string; approved: boolean; comment: string }>,
  reviewer: string,
  now: Date,
): Promise<void> {
  for (const d of decisions) {
    await db
      .updateTable('data_request_items')
      .set({ approved: d.approved, comment: d.comment })
      .where('request_id', '=', requestId)
      .where('code', '=', d.code)
      .execute();
  }
  await db
    .updateTable('data_requests')
    .set({ status: 'reviewed', reviewed_by: reviewer, reviewed_at: now })
    .where('id', '=', requestId)
    .execute();
}

const current = (code: string) => {
  const def = attributeByCode(code);
  return def ? currentFormat(def) : 1;
};

/** The released set becomes exactly `codes`, approved by `requestId` at `now`, each in its current format. */
export async function replaceReleased(db: Kysely<Database>, resourceId: string, requestId: string, codes: string[], now: Date): Promise<void> {
  await db.deleteFrom('released_attributes').where('resource_id', '=', resourceId).execute();
  if (codes.length === 0) return;
  await db
    .insertInto('released_attributes')
    .values(codes.map((code) => ({ resource_id: resourceId, code, request_id: requestId, approved_at: now, format_version: current(code) })))
    .execute();
}

/**
 * The publisher opts in: the released codes (all, or `only`) are sent in their current format from
 * now on. What is released does not change, only its shape, so no review is needed.
 */
export async function adoptCurrentFormats(db: Kysely<Database>, resourceId: string, only?: string[]): Promise<void> {
  const rows = await db.selectFrom('released_attributes').select(['code', 'format_version']).where('resource_id', '=', resourceId).execute();
  for (const r of rows) {
    if (only && !only.includes(r.code)) continue;
    const version = current(r.code);
    if (r.format_version === version) continue;
    await db
      .updateTable('released_attributes')
      .set({ format_version: version })
      .where('resource_id', '=', resourceId)
      .where('code', '=', r.code)
      .execute();
  }
}

/** What the SSO may send for a resource besides IDO (always sent): the ministry-approved codes in force. */
export async function releasedAttributeCodes(db: Kysely<Database>, resourceId: string): Promise<string[]> {
  const rows = await db.selectFrom('released_attributes').select('code').where('resource_id', '=', resourceId).execute();
  return rows.map((r) => r.code).sort((a, b) => byDictionary({ code: a }, { code: b }));
}

export async function releasedWithPurposes(db: Kysely<Database>, resourceId: string): Promise<DataPolicyView['approved']> {
  const rows = await db
    .selectFrom('released_attributes as ra')
    .innerJoin('data_request_items as i', (j) => j.onRef('i.request_id', '=', 'ra.request_id').onRef('i.code', '=', 'ra.code'))
    .select(['ra.code', 'ra.request_id', 'ra.approved_at', 'ra.format_version', 'i.purpose', 'i.comment'])
    .where('ra.resource_id', '=', resourceId)
    .execute();
  return rows
    .sort(byDictionary)
    .map((r) => ({
      code: r.code,
      label: labelOf(r.code),
      purpose: r.purpose,
      comment: r.comment,
      approvedAt: iso(r.approved_at),
      requestId: r.request_id,
      ...formatVersions(r.code, r.format_version),
    }));
}

export async function requestsOfResource(db: Kysely<Database>, resourceId: string): Promise<DataRequestView[]> {
  const rows = await requestQuery(db).where('r.resource_id', '=', resourceId).orderBy('r.submitted_at', 'desc').orderBy('r.id', 'desc').execute();
  return withItems(db, rows);
}

/**
 * The request that speaks for the resource now: the pending one if any (a new request supersedes the
 * pending one, so there is at most one), else the last reviewed one. Superseded ones never are.
 */
export async function latestRequest(db: Kysely<Database>, resourceId: string): Promise<DataRequestView | undefined> {
  const rows = await requestQuery(db)
    .where('r.resource_id', '=', resourceId)
    .where('r.status', '!=', 'superseded')
    .orderBy((eb) => eb.case().when('r.status', '=', 'pending').then(0).else(1).end())
    .orderBy('r.submitted_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(1)
    .execute();
  return (await withItems(db, rows))[0];
}

/** Oldest first, so that reviewers take requests in the order they came. */
export async function listRequests(
  db: Kysely<Database>,
  filter: { status?: Status },
  limit: number,
  after?: { submittedAt: Date; id: string },
): Promise<DataRequestView[]> {
  let q = requestQuery(db).orderBy('r.submitted_at').orderBy('r.id').limit(limit);
  if (filter.status) q = q.where('r.status', '=', filter.status);
  if (after) {
    q = q.where((eb) =>
      eb.or([eb('r.submitted_at', '>', after.submittedAt), eb.and([eb('r.submitted_at', '=', after.submittedAt), eb('r.id', '>', after.id)])]),
    );
  }
  return withItems(db, await q.execute());
}
