import { sql, type Kysely } from 'kysely';

/*
 * Logout started at the ENT: the IdP's SingleLogoutService (HTTP-Redirect), where the broker answers
 * the IdP's LogoutRequest; null when the IdP declared none (the broker then ends its own session only).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('ent_idps').addColumn('slo_url', 'text').execute();
  await db.schema.createIndex('browser_sessions_idp_name_idx').on('browser_sessions').columns(['idp_entity_id', 'idp_name_id']).execute();
  // The answer owed to the ENT's IdP waits there while the publishers are told, one frame at a time.
  await sql`alter table saml_idp_pending drop constraint saml_idp_pending_kind_check`.execute(db);
  await sql`alter table saml_idp_pending add constraint saml_idp_pending_kind_check check (kind in ('authn', 'logout', 'ent_logout'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from saml_idp_pending where kind = 'ent_logout'`.execute(db);
  await sql`alter table saml_idp_pending drop constraint saml_idp_pending_kind_check`.execute(db);
  await sql`alter table saml_idp_pending add constraint saml_idp_pending_kind_check check (kind in ('authn', 'logout'))`.execute(db);
  await db.schema.dropIndex('browser_sessions_idp_name_idx').execute();
  await db.schema.alterTable('ent_idps').dropColumn('slo_url').execute();
}
