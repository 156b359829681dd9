import { sql, type Kysely } from 'kysely';

// Assignments belong to the establishment, not to the ENT's feed: when a group disappears from the
// directory its assignments are detached (group_id null, the code kept) instead of cascaded away,
// and reattached if the group comes back before retention removes them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('assignments')
    .addColumn('group_code', 'text')
    .addColumn('detached_at', 'timestamptz')
    .execute();
  await sql`alter table assignments drop constraint assignments_group_id_fkey`.execute(db);
  await sql`alter table assignments add constraint assignments_group_id_fkey foreign key (group_id) references groups (id) on delete set null`.execute(db);
  await sql`drop index assignments_target_uq`.execute(db);
  await sql`create unique index assignments_target_uq on assignments (subscription_pk, target_type, coalesce(person_id, 0), coalesce(group_id, 0), coalesce(group_code, ''), coalesce(profile, ''))`.execute(db);
  await sql`create index assignments_detached_idx on assignments (uai, group_code) where detached_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from assignments where detached_at is not null`.execute(db);
  await sql`drop index assignments_detached_idx`.execute(db);
  await sql`drop index assignments_target_uq`.execute(db);
  await sql`create unique index assignments_target_uq on assignments (subscription_pk, target_type, coalesce(person_id, 0), coalesce(group_id, 0), coalesce(profile, ''))`.execute(db);
  await sql`alter table assignments drop constraint assignments_group_id_fkey`.execute(db);
  await sql`alter table assignments add constraint assignments_group_id_fkey foreign key (group_id) references groups (id) on delete cascade`.execute(db);
  await db.schema.alterTable('assignments').dropColumn('detached_at').dropColumn('group_code').execute();
}
