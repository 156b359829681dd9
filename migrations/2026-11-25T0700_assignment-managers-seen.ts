import { sql, type Kysely } from 'kysely';

/*
 * When a RespAff export last named each responsable d'affectation. The export only adds and
 * updates (a file is one part of it), so a manager who is no longer sent is recognised by this date,
 * and the retention run deletes their name and e-mail after the same three months as a departed
 * person's directory data.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table assignment_managers add column seen_at timestamptz not null default now()`.execute(db);
  await sql`update assignment_managers set seen_at = updated_at`.execute(db);
  await sql`create index assignment_managers_seen_at_idx on assignment_managers (seen_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table assignment_managers drop column seen_at`.execute(db);
}
