import type { Kysely, Selectable } from 'kysely';
import type { BrowserSessionsTable, Database } from '../db/database.js';

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

/** The live session whose cookie hashes to `tokenHash`, touched in the same statement. */
export async function touchLiveSession(
  db: Kysely<Database>,
  q: { tokenHash: Buffer; now: Date; idleSince: Date; createdSince: Date },
): Promise<Pick<SessionRow, (typeof SESSION_COLUMNS)[number]> | undefined> {
  return db
    .updateTable('browser_sessions')
    .set({ last_seen_at: q.now })
    .where('token_hash', '=', q.tokenHash)
    .where('ended_at', 'is', null)
    .where('last_seen_at', '>', q.idleSince)
    .where('created_at', '>', q.createdSince)
    .returning(SESSION_COLUMNS)
    .executeTakeFirst();
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

export async function insertParticipant(db: Kysely<Database>, row: Database['browser_session_participants']): Promise<void> {
  await db.insertInto('browser_session_participants').values(row).execute();
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
