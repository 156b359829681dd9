import { sql, type Kysely } from 'kysely';

/*
 * Publisher-side SAML (issue 12).
 * - One SP entityID may serve several resources of one publisher (one per ARK, as GAR allows): the
 *   entityID is no longer unique; the resource API keeps it within one publisher.
 * - What the SP's metadata declares beyond the one ACS (every ACS with its index, SLO endpoints,
 *   NameID formats, AuthnRequestsSigned, EncryptionMethods), read once when the resource is written.
 * - The publisher's per-SP options (signing, encryption, attribute NameFormat, signed requests).
 * - State kept for a few minutes across browser round trips: an AuthnRequest while the person goes
 *   through their ENT, a single-logout chain while the other SPs are told.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table resources drop constraint resources_sp_entity_id_key`.execute(db);
  await sql`create index resources_sp_entity_id_idx on resources (sp_entity_id)`.execute(db);
  await sql`alter table resources add column sp_profile jsonb`.execute(db);
  await sql`alter table resources add column sp_options jsonb not null default '{}'::jsonb`.execute(db);
  await db.schema
    .createTable('saml_idp_pending')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('authn', 'logout')`))
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('saml_idp_pending_expires_idx').on('saml_idp_pending').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('saml_idp_pending').execute();
  await sql`alter table resources drop column sp_options`.execute(db);
  await sql`alter table resources drop column sp_profile`.execute(db);
  await sql`drop index resources_sp_entity_id_idx`.execute(db);
  await sql`alter table resources add constraint resources_sp_entity_id_key unique (sp_entity_id)`.execute(db);
}
