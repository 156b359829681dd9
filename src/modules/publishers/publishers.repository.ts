import type { Kysely } from 'kysely';
import type { Database, Publisher } from '../../db/database.js';
import type { PublisherInput, PublisherView } from './publishers.schemas.js';

const toView = (r: Publisher): PublisherView => ({
  id: r.id,
  name: r.name,
  contactEmail: r.contact_email,
  createdAt: r.created_at.toISOString(),
});

export async function insertPublisher(db: Kysely<Database>, input: PublisherInput, now: Date): Promise<PublisherView> {
  const row = await db
    .insertInto('publishers')
    .values({ id: input.id, name: input.name, contact_email: input.contactEmail, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toView(row);
}

export async function findPublisher(db: Kysely<Database>, id: string): Promise<PublisherView | undefined> {
  const row = await db.selectFrom('publishers').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toView(row);
}

export async function listPublishers(db: Kysely<Database>, limit: number, after?: string): Promise<PublisherView[]> {
  let q = db.selectFrom('publishers').selectAll().orderBy('id').limit(limit);
  if (after) q = q.where('id', '>', after);
  return (await q.execute()).map(toView);
}
