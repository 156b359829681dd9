import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

/** The link key a person's record holds, if an operator linked it. */
export async function linkKeyOf(db: Kysely<Database>, entId: string, personHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('person_links').select('link_key').where('ent_id', '=', entId).where('person_hash', '=', personHash).executeTakeFirst();
  return row?.link_key;
}

export async function setLinkKey(db: Kysely<Database>, r: { entId: string; personHash: string; linkKey: string; by: string; at: Date }): Promise<void> {
  await db
    .insertInto('person_links')
    .values({ ent_id: r.entId, person_hash: r.personHash, link_key: r.linkKey, created_by: r.by, created_at: r.at })
    .onConflict((oc) => oc.columns(['ent_id', 'person_hash']).doUpdateSet({ link_key: r.linkKey, created_by: r.by, created_at: r.at }))
    .execute();
}

export async function countLinked(db: Kysely<Database>, linkKey: string): Promise<number> {
  const rows = await db.selectFrom('person_links').select('ent_id').where('link_key', '=', linkKey).execute();
  return rows.length;
}

/** For the right of access: when the record was linked, and how many records share its key. */
export async function projectLinkOf(db: Kysely<Database>, entId: string, personHash: string): Promise<{ confirmedAt: string; linkedRecords: number } | null> {
  const row = await db.selectFrom('person_links').select(['link_key', 'created_at']).where('ent_id', '=', entId).where('person_hash', '=', personHash).executeTakeFirst();
  if (!row) return null;
  return { confirmedAt: new Date(row.created_at).toISOString(), linkedRecords: await countLinked(db, row.link_key) };
}
