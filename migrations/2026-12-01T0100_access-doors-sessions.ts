import { sql, type Kysely } from 'kysely';

/*
 * Every door writes the same access-log row, saying which door it was; a failure while building the
 * answer after a grant is an `error` row, so no decision goes unrecorded.
 * The browser session: the cookie holds a random value, the row holds only its SHA-256, so a copy of
 * the database does not hand out live sessions. Participants are the publishers the session reached,
 * for single logout and CAS back-channel logout.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table access_log add column door text not null default 'api_sso'`.execute(db);
  await sql`alter table access_log drop constraint if exists access_log_outcome_check`.execute(db);
  await sql`alter table access_log add constraint access_log_outcome_check check (outcome in ('granted', 'refused', 'error'))`.execute(db);

  await db.schema
    .createTable('browser_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('token_hash', 'bytea', (c) => c.notNull().unique())
    .addColumn('ent_id', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('uai_hint', 'text')
    .addColumn('authn_instant', 'timestamptz', (c) => c.notNull())
    .addColumn('authn_context_class_ref', 'text', (c) => c.notNull())
    .addColumn('idp_entity_id', 'text')
    .addColumn('idp_name_id', 'text')
    .addColumn('idp_name_id_format', 'text')
    .addColumn('idp_session_index', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    .addColumn('ended_reason', 'text')
    .execute();
  await db.schema.createIndex('browser_sessions_person_idx').on('browser_sessions').columns(['ent_id', 'person_id']).execute();
  await db.schema.createIndex('browser_sessions_last_seen_idx').on('browser_sessions').column('last_seen_at').execute();

  await db.schema
    .createTable('browser_session_participants')
    .addColumn('session_id', 'uuid', (c) => c.notNull().references('browser_sessions.id').onDelete('cascade'))
    .addColumn('door', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('party', 'text', (c) => c.notNull())
    .addColumn('name_id', 'text')
    .addColumn('session_index', 'text')
    .addColumn('slo_url', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('browser_session_participants_session_idx').on('browser_session_participants').column('session_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('browser_session_participants').execute();
  await db.schema.dropTable('browser_sessions').execute();
  await sql`alter table access_log drop constraint if exists access_log_outcome_check`.execute(db);
  await sql`alter table access_log add constraint access_log_outcome_check check (outcome in ('granted', 'refused'))`.execute(db);
  await sql`alter table access_log drop column door`.execute(db);
}
