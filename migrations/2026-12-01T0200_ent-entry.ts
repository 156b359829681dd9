import { sql, type Kysely } from 'kysely';

/*
 * The ENT entry door: each ENT project's SAML IdP (the broker is its SP), the entry-link requests
 * kept across the IdP round trip, the assertion IDs already consumed (replay, shared by every
 * replica), and the resource's own landing URL with the way the browser is sent there.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // One row per ENT project; several projects may name the same IdP entityID (one platform, several codes).
  await db.schema
    .createTable('ent_idps')
    .addColumn('ent_id', 'text', (c) => c.primaryKey().references('ent_projects.id').onDelete('cascade'))
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('sso_url', 'text', (c) => c.notNull())
    .addColumn('sso_binding', 'text', (c) => c.notNull().check(sql`sso_binding in ('HTTP-Redirect')`))
    .addColumn('signing_certificates', sql`text[]`, (c) => c.notNull())
    .addColumn('metadata_xml', 'text')
    .addColumn('attr_ent_id', 'text', (c) => c.notNull().defaultTo('idEnt'))
    .addColumn('attr_person_id', 'text', (c) => c.notNull().defaultTo('GARPersonIdentifiant'))
    .addColumn('allow_sha1', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ent_idps_entity_idx').on('ent_idps').column('entity_id').execute();

  // An entry link (or a login from the discovery page) waiting for the IdP's answer; the RelayState is its id.
  await db.schema
    .createTable('entry_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('authn_request_id', 'text', (c) => c.notNull().unique())
    .addColumn('ent_id', 'text', (c) => c.notNull().references('ent_projects.id').onDelete('cascade'))
    .addColumn('uai', 'text')
    .addColumn('resource_id', 'text')
    .addColumn('return_path', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('entry_requests_expires_idx').on('entry_requests').column('expires_at').execute();

  // Assertion IDs already accepted, kept until the assertion itself expires.
  await db.schema
    .createTable('saml_seen_assertions')
    .addColumn('idp_entity_id', 'text', (c) => c.notNull())
    .addColumn('assertion_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_seen_assertions_pk', ['idp_entity_id', 'assertion_id'])
    .execute();
  await db.schema.createIndex('saml_seen_assertions_expires_idx').on('saml_seen_assertions').column('expires_at').execute();

  await db.schema.alterTable('resources').addColumn('resource_url', 'text').execute();
  await db.schema
    .alterTable('resources')
    .addColumn('sso_mode', 'text', (c) => c.check(sql`sso_mode in ('redirect', 'unsolicited')`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('resources').dropColumn('sso_mode').execute();
  await db.schema.alterTable('resources').dropColumn('resource_url').execute();
  await db.schema.dropTable('saml_seen_assertions').execute();
  await db.schema.dropTable('entry_requests').execute();
  await db.schema.dropTable('ent_idps').execute();
}
