import type { Insertable, Kysely, Selectable } from 'kysely';
import type { AuditLogTable, Database } from '../../db/database.js';
import type { AuditEntry, AuditQuery } from './audit.schemas.js';

export async function insertAudit(db: Kysely<Database>, row: Insertable<AuditLogTable>): Promise<number> {
  const { id } = await db.insertInto('audit_log').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(id);
}

/** The outcome of a change recorded before it ran; `at` names the row's partition. */
export async function completeAudit(db: Kysely<Database>, id: number, at: Date, status: number, objectId: string | null): Promise<void> {
  await db.updateTable('audit_log').set({ status, object_id: objectId }).where('id', '=', id).where('at', '=', at).execute();
}

/** A change that was refused (4xx) changed nothing: its row goes. */
export async function dropAudit(db: Kysely<Database>, id: number, at: Date): Promise<void> {
  await db.deleteFrom('audit_log').where('id', '=', id).where('at', '=', at).execute();
}

const toEntry = (r: Selectable<AuditLogTable>): AuditEntry => ({
  id: Number(r.id),
  at: new Date(r.at).toISOString(),
  actorSub: r.actor_sub,
  actorRole: r.actor_role,
  action: r.action,
  objectType: r.object_type,
  objectId: r.object_id,
  fields: r.fields,
  status: r.status,
  requestId: r.request_id,
});

/** Newest first, `limit + 1` rows so the caller can tell whether a next page exists. */
export async function listAudit(db: Kysely<Database>, q: AuditQuery, beforeId?: number): Promise<AuditEntry[]> {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit + 1);
  if (q.from) query = query.where('at', '>=', q.from);
  if (q.to) query = query.where('at', '<', q.to);
  if (q.actor) query = query.where('actor_sub', '=', q.actor);
  if (q.objectType) query = query.where('object_type', '=', q.objectType);
  if (q.objectId) query = query.where('object_id', '=', q.objectId);
  if (beforeId !== undefined) query = query.where('id', '<', beforeId);
  return (await query.execute()).map(toEntry);
}
