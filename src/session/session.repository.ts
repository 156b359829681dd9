import { sql, type Kysely, type Selectable } from 'kysely';
import type { DatabaseHandle } from '../db/connect.js';
import { jsonRows, precompiled } from '../db/precompiled.js';
import type { BrowserSessionParticipantsTable, BrowserSessionsTable, Database } from '../db/database.js';

export type SessionRow = Selectable<BrowserSessionsTable>;

export const SESSION_COLUMNS = [
  'id',
  'ent_id',
  'person_id',
  'uai_hint',
  'authn_instant',
  'authn_context_class_ref',
  'idp_entity_id',
  'idp_name_id',
  'idp_name_id_format',
  'idp_session_index',
  'created_at',
  'last_seen_at',
] as const;

export async function insertSession(
  db: Kysely<Database>,
  row: Omit<BrowserSessionsTable, 'id' | 'ended_at' | 'ended_reason'>,
): Promise<Pick<SessionRow, (typeof SESSION_COLUMNS)[number]>> {
  return db.insertInto('browser_sessions').values(row).returning(SESSION_COLUMNS).executeTakeFirstOrThrow();
}

export type ParticipantRow = Omit<BrowserSessionParticipantsTable, 'session_id' | 'created_at'>;

// Built once and prepared (every browser request of every door reads its session). The session's
// participants come back in the same statement: the SAML door needs them on every answer.
const touchQuery = precompiled<{ tokenHash: Buffer; now: Date; idleSince: Date; createdSince: Date }>('session_touch', (db, q) =>
  db
    .updateTable('browser_sessions')
    .set({ last_seen_at: q.now })
    .where('token_hash', '=', q.tokenHash)
    .where('ended_at', 'is', null)
    .where('last_seen_at', '>', q.idleSince)
    .where('created_at', '>', q.createdSince)
    .returning([
      ...SESSION_COLUMNS,
      sql<ParticipantRow[]>`(select coalesce(json_agg(json_build_object('door', bp.door, 'resource_id', bp.resource_id, 'party', bp.party,
          'name_id', bp.name_id, 'session_index', bp.session_index, 'slo_url', bp.slo_url) order by bp.created_at), '[]')
        from browser_session_participants bp where bp.session_id = browser_sessions.id)`.as('participants'),
    ]),
);

/** The live session whose cookie hashes to `tokenHash`, touched in the same statement, with its participants. */
export async function touchLiveSession(
  database: Pick<DatabaseHandle, 'db' | 'prepared'>,
  q: { tokenHash: Buffer; now: Date; idleSince: Date; createdSince: Date },
): Promise<(Pick<SessionRow, (typeof SESSION_COLUMNS)[number]> & { participants: ParticipantRow[] }) | undefined> {
  const [row] = await touchQuery.run<Pick<SessionRow, (typeof SESSION_COLUMNS)[number]> & { participants: ParticipantRow[] }>(database, q);
  return row;
}

export async function endSessions(
  db: Kysely<Database>,
  q: { ids?: string[]; entId?: string; personId?: string; idp?: { entityId: string; nameId: string; sessionIndexes: string[] }; now: Date; reason: string },
): Promise<string[]> {
  let query = db.updateTable('browser_sessions').set({ ended_at: q.now, ended_reason: q.reason }).where('ended_at', 'is', null);
  if (q.ids) query = query.where('id', 'in', q.ids.length > 0 ? q.ids : ['00000000-0000-0000-0000-000000000000']);
  if (q.entId !== undefined) query = query.where('ent_id', '=', q.entId);
  if (q.personId !== undefined) query = query.where('person_id', '=', q.personId);
  if (q.idp) {
    query = query.where('idp_entity_id', '=', q.idp.entityId).where('idp_name_id', '=', q.idp.nameId);
    // SAML core 3.7.1: with SessionIndex elements, only the sessions they name.
    if (q.idp.sessionIndexes.length > 0) query = query.where('idp_session_index', 'in', q.idp.sessionIndexes);
  }
  const rows = await query.returning('id').execute();
  return rows.map((r) => r.id);
}

// Prepared, one statement text for any number of rows (sessions.ts commits them in groups).
const insertParticipantRows = precompiled<{ rows: string }>('session_participants_insert', (_db, q) => sql`
  insert into browser_session_participants (session_id, door, resource_id, party, name_id, session_index, slo_url, created_at)
  select session_id, door, resource_id, party, name_id, session_index, slo_url, created_at
  from json_to_recordset(${q.rows}::json) as x(session_id uuid, door text, resource_id text, party text, name_id text, session_index text, slo_url text, created_at timestamptz)`);

export async function insertParticipants(database: Pick<DatabaseHandle, 'db' | 'prepared'>, rows: Database['browser_session_participants'][]): Promise<void> {
  await insertParticipantRows.run(database, { rows: jsonRows(rows) });
}

export async function listParticipants(db: Kysely<Database>, sessionId: string) {
  return db
    .selectFrom('browser_session_participants')
    .select(['door', 'resource_id', 'party', 'name_id', 'session_index', 'slo_url', 'created_at'])
    .where('session_id', '=', sessionId)
    .orderBy('created_at')
    .execute();
}

/** Sessions ended or expired before `before`: nothing in them is needed any more. */
export async function deleteStaleSessions(db: Kysely<Database>, before: Date): Promise<number> {
  const r = await db
    .deleteFrom('browser_sessions')
    .where((eb) => eb.or([eb('ended_at', '<', before), eb('last_seen_at', '<', before)]))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
