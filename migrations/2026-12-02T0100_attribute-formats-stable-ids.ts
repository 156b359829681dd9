import { sql, type Kysely } from 'kysely';

/*
 * Attribute values as publishers parse them (issue 15):
 * - released_attributes.format_version: the dictionary format a code was approved under. Rows that
 *   exist before this migration were approved under version 1 and keep receiving it.
 * - mefs.mefstat11: GARMEFSTAT11 of the establishment's MEF list (GAR-ENT), the source of E_MS4/P_MS4
 *   in secondary schools (MEFSTAT4 = its first four characters).
 * - resources.ido_scope 'stable': an identifier that survives a move between ENT projects.
 * - person_links: which people of different ENT projects an operator confirmed to be one person,
 *   keyed like rights_records (HMAC of project and person id), so the table alone names nobody.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('released_attributes')
    .addColumn('format_version', 'integer', (c) => c.notNull().defaultTo(1).check(sql`format_version >= 1`))
    .execute();
  await db.schema.alterTable('mefs').addColumn('mefstat11', 'text').execute();
  await sql`alter table resources drop constraint resources_ido_scope_check`.execute(db);
  await sql`alter table resources add constraint resources_ido_scope_check check (ido_scope in ('project', 'pairwise', 'stable'))`.execute(db);
  // LRA: the members of a resource's family are looked up on every access decision.
  await sql`create index resources_family_idx on resources ((catalogue->>'membreFamille'))`.execute(db);
  await db.schema
    .createTable('person_links')
    .addColumn('ent_id', 'text', (c) => c.notNull().references('ent_projects.id').onDelete('cascade'))
    .addColumn('person_hash', 'text', (c) => c.notNull())
    .addColumn('link_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('person_links_pk', ['ent_id', 'person_hash'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('person_links').execute();
  await sql`drop index resources_family_idx`.execute(db);
  await sql`update resources set ido_scope = 'pairwise' where ido_scope = 'stable'`.execute(db);
  await sql`alter table resources drop constraint resources_ido_scope_check`.execute(db);
  await sql`alter table resources add constraint resources_ido_scope_check check (ido_scope in ('project', 'pairwise'))`.execute(db);
  await db.schema.alterTable('mefs').dropColumn('mefstat11').execute();
  await db.schema.alterTable('released_attributes').dropColumn('format_version').execute();
}
