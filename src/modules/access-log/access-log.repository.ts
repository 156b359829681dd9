import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { DatabaseHandle } from '../../db/connect.js';
import { jsonRows, precompiled } from '../../db/precompiled.js';
import type { AccessLogTable, Database } from '../../db/database.js';
import type { AccessLogEntry, AccessLogQuery } from './access-log.schemas.js';

const toEntry = (r: Selectable<AccessLogTable>): AccessLogEntry => ({
  id: Number(r.id),
  at: new Date(r.at).toISOString(),
  entId: r.ent_id,
  uai: r.uai,
  personRef: r.person_ref === null ? null : Number(r.person_ref),
  profile: r.profile,
  resourceId: r.resource_id,
  publisherId: r.publisher_id,
  outcome: r.outcome,
  door: r.door as AccessLogEntry['door'],
  reason: r.reason,
  attributes: r.attributes,
  keyId: r.key_id,
  responseId: r.response_id,
  clientIp: r.client_ip,
  requestId: r.request_id,
});

export const encodeCursor = (e: AccessLogEntry) => Buffer.from(`${e.at}|${e.id}`).toString('base64url');

export function decodeCursor(cursor: string): { at: string; id: number } | undefined {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^\d+$/.test(id)) return undefined;
  return { at, id: Number(id) };
}

/** Newest first; `limit + 1` rows so the caller knows whether there is a next page. */
export async function listAccessLog(
  db: Kysely<Database>,
  q: AccessLogQuery,
  after: { at: string; id: number } | undefined,
): Promise<AccessLogEntry[]> {
  let query = db.selectFrom('access_log').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit + 1);
  if (q.from) query = query.where('at', '>=', q.from);
  if (q.to) query = query.where('at', '<', q.to);
  if (q.resourceId) query = query.where('resource_id', '=', q.resourceId);
  if (q.uai) query = query.where('uai', '=', q.uai);
  if (q.outcome) query = query.where('outcome', '=', q.outcome);
  if (q.door) query = query.where('door', '=', q.door);
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]),
    );
  }
  return (await query.execute()).map(toEntry);
}

/** Attribute names sent for a resource since `since`, with how many granted accesses carried each. */
export async function releasedSince(db: Kysely<Database>, resourceId: string, since: Date): Promise<Array<{ code: string; accesses: number }>> {
  const rows = await sql<{ code: string; accesses: number }>`
    select code, count(*)::int as accesses from access_log, unnest(attributes) as code
    where resource_id = ${resourceId} and outcome = 'granted' and at >= ${since.toISOString()}
    group by code order by code`.execute(db);
  return rows.rows;
}

/** A row as the access-log writer inserts it: every door names itself. */
export type AccessLogInsert = Insertable<AccessLogTable> & { door: string };

// One statement text for any number of rows (the writer's group commit), so it is prepared once per
// connection instead of being built, compiled and planned for each batch size.
const insertRows = precompiled<{ rows: string }>('access_log_insert', (_db, q) => sql`
  insert into access_log (at, ent_id, uai, person_ref, profile, resource_id, publisher_id, outcome, door, reason, attributes, key_id, response_id, client_ip, request_id)
  select at, ent_id, uai, person_ref, profile, resource_id, publisher_id, outcome, door, reason, coalesce(attributes, '{}'), key_id, response_id, client_ip, request_id
  from json_to_recordset(${q.rows}::json) as x(at timestamptz, ent_id text, uai text, person_ref bigint, profile text, resource_id text, publisher_id text,
    outcome text, door text, reason text, attributes text[], key_id text, response_id text, client_ip text, request_id text)`);

export async function insertAccessLogRows(database: Pick<DatabaseHandle, 'db' | 'prepared'>, rows: AccessLogInsert[]): Promise<void> {
  await insertRows.run(database, { rows: jsonRows(rows) });
}
