import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

/*
 * Assignments made by an establishment to a class or group outlive the group's absence from a feed:
 * detached (group_id null, code kept) when the group is deleted, reattached when a group of the
 * same code and kind returns, deleted by retention after the grace period. Each step is in the
 * audit trail with the assignment's id.
 */

type Which = { keep: string[] } | { only: string[] };

const audit = async (db: Kysely<Database>, ids: number[], action: string, now: Date, actorSub: string) => {
  if (ids.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(
      ids.map((id) => ({
        at: now,
        actor_sub: actorSub,
        actor_role: 'ent',
        action,
        object_type: 'assignments',
        object_id: String(id),
        fields: ['group_id'],
        status: 200,
        request_id: null,
      })),
    )
    .execute();
};

/** Before the groups go: their assignments keep the group's code and are marked detached. */
export async function detachAssignmentsOf(db: Kysely<Database>, uai: string, which: Which, now: Date, actorSub: string): Promise<number[]> {
  const codes = 'keep' in which ? which.keep : which.only;
  const filter = 'keep' in which ? sql`not (g.code = any(${codes}::text[]))` : sql`g.code = any(${codes}::text[])`;
  const res = await sql<{ id: number }>`
    update assignments a set group_code = g.code, detached_at = ${now.toISOString()}
    from groups g where a.group_id = g.id and g.uai = ${uai} and ${filter}
    returning a.id`.execute(db);
  const ids = res.rows.map((r) => Number(r.id));
  await audit(db, ids, 'detach assignment (group left the directory)', now, actorSub);
  return ids;
}

/** A returning group takes back its detached assignments (same code, same kind), unless one already exists. */
export async function reattachAssignments(db: Kysely<Database>, uais: string[], now: Date, actorSub: string): Promise<number[]> {
  if (uais.length === 0) return [];
  const res = await sql<{ id: number }>`
    update assignments a set group_id = g.id, group_code = null, detached_at = null
    from groups g
    where a.detached_at is not null and a.uai = any(${uais}::text[]) and g.uai = a.uai and g.code = a.group_code
      and (a.target_type = 'division') = (g.kind = 'DIVISION')
      and not exists (
        select 1 from assignments b
        where b.subscription_pk = a.subscription_pk and b.target_type = a.target_type and b.group_id = g.id)
    returning a.id`.execute(db);
  const ids = res.rows.map((r) => Number(r.id));
  await audit(db, ids, 'reattach assignment (group back in the directory)', now, actorSub);
  return ids;
}

/** Retention: detached assignments older than the cutoff are deleted. */
export async function deleteDetachedBefore(db: Kysely<Database>, cutoff: Date): Promise<number> {
  const res = await db.deleteFrom('assignments').where('detached_at', '<', cutoff).executeTakeFirst();
  return Number(res.numDeletedRows);
}
