import { sql, type Kysely } from 'kysely';

/*
 * CAS 3.0 and OpenID Connect for publishers (issue 13).
 * - A resource may now be reached by CAS or OIDC only: its SAML SP becomes optional (both columns
 *   together or neither). A unique index ignores NULLs, so SAML-less resources do not collide.
 * - cas_services: the service URLs a resource registered (exact, or a prefix ending in '/'), with
 *   the origin indexed because /login only knows the service URL and must find its resource fast.
 * - cas_tickets: service tickets, in the database so that any replica validates what another issued.
 *   Keyed by the SHA-256 of the ticket: a copy of the table gives nothing to replay.
 * - oidc_clients: one OpenID client per resource; its secret is derived from a server secret and
 *   `secret_salt`, so it is never stored.
 * - oidc_payloads: the OpenID provider's storage (codes, tokens, sessions, grants, interactions),
 *   one row per (kind, id), as oidc-provider's adapter contract expects.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table resources alter column sp_entity_id drop not null`.execute(db);
  await sql`alter table resources alter column sp_acs_url drop not null`.execute(db);
  await sql`alter table resources add constraint resources_sp_whole check ((sp_entity_id is null) = (sp_acs_url is null))`.execute(db);
  await sql`alter table resources add column cas_back_channel_logout boolean not null default true`.execute(db);

  await db.schema
    .createTable('cas_services')
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('is_prefix', 'boolean', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('cas_services_pk', ['resource_id', 'url'])
    .execute();
  await db.schema.createIndex('cas_services_origin_idx').on('cas_services').column('origin').execute();

  await db.schema
    .createTable('cas_tickets')
    .addColumn('ticket_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text')
    // What the decision at /login released: validation answers exactly this, nothing recomputed.
    .addColumn('released', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cas_tickets_expires_idx').on('cas_tickets').column('expires_at').execute();

  await db.schema
    .createTable('oidc_clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('resource_id', 'text', (c) => c.notNull().unique().references('resources.id').onDelete('cascade'))
    .addColumn('redirect_uris', sql`text[]`, (c) => c.notNull())
    .addColumn('auth_method', 'text', (c) =>
      c.notNull().check(sql`auth_method in ('client_secret_basic', 'private_key_jwt', 'none')`),
    )
    .addColumn('jwks', 'jsonb')
    .addColumn('jwks_uri', 'text')
    .addColumn('secret_salt', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('oidc_payloads')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('user_code', 'text')
    .addColumn('consumed_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addPrimaryKeyConstraint('oidc_payloads_pk', ['kind', 'id'])
    .execute();
  await db.schema.createIndex('oidc_payloads_grant_idx').on('oidc_payloads').column('grant_id').execute();
  await db.schema.createIndex('oidc_payloads_uid_idx').on('oidc_payloads').column('uid').execute();
  await db.schema.createIndex('oidc_payloads_expires_idx').on('oidc_payloads').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['oidc_payloads', 'oidc_clients', 'cas_tickets', 'cas_services']) await db.schema.dropTable(t).execute();
  await sql`alter table resources drop column cas_back_channel_logout`.execute(db);
  await sql`alter table resources drop constraint resources_sp_whole`.execute(db);
  await sql`alter table resources alter column sp_acs_url set not null`.execute(db);
  await sql`alter table resources alter column sp_entity_id set not null`.execute(db);
}
