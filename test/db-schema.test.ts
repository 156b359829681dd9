import t from 'tap';
import { sql } from 'kysely';
import { freshDatabase } from './helper.js';
import type { Database } from '../src/db/database.js';

/*
 * The typed Database interface must match what the migrations create. TypeScript cannot see the
 * catalog, so this list (checked against the interface by the compiler) is compared to it.
 */
const COLUMNS: { [T in keyof Database]: Array<keyof Database[T] & string> } = {
  ent_projects: ['id', 'name', 'kind', 'created_at', 'assignment_policy'],
  establishments: ['uai', 'ent_id', 'name', 'created_at', 'updated_at', 'degree', 'official'],
  publishers: ['id', 'name', 'contact_email', 'created_at', 'siren_isni'],
  people: [
    'id', 'ent_id', 'person_id', 'last_name', 'first_name', 'other_first_names', 'birth_name', 'civility', 'birth_date',
    'emails', 'struct_rattach', 'disciplines', 'content_hash', 'created_at', 'updated_at', 'gone_at', 'restricted_at', 'objected_at',
  ],
  establishment_people: ['uai', 'person_id', 'profiles', 'mefs', 'subjects', 'updated_at', 'gone_at'],
  groups: ['id', 'uai', 'code', 'name', 'kind', 'divisions'],
  group_members: ['group_id', 'person_id'],
  teachings: ['person_id', 'group_id', 'subjects'],
  subjects: ['uai', 'code', 'name'],
  mefs: ['uai', 'code', 'name', 'mefstat11'],
  person_links: ['ent_id', 'person_hash', 'link_key', 'created_at', 'created_by'],
  assignment_managers: ['id', 'ent_id', 'person_id', 'last_name', 'first_name', 'email', 'uais', 'updated_at', 'seen_at'],
  resources: [
    'id', 'publisher_id', 'name', 'type_presentation', 'description', 'thumbnail_url', 'access_url', 'sp_entity_id', 'sp_acs_url',
    'sp_signing_cert', 'sp_encryption_cert', 'sp_metadata_xml', 'sp_requested_attributes', 'ido_scope', 'created_at', 'updated_at',
    'resource_url', 'sso_mode',
    'sp_profile', 'sp_options',
    'cas_back_channel_logout',
    'catalogue',
  ],
  data_requests: ['id', 'resource_id', 'status', 'submitted_by', 'submitted_at', 'reviewed_by', 'reviewed_at'],
  data_request_items: ['request_id', 'code', 'purpose', 'approved', 'comment'],
  released_attributes: ['resource_id', 'code', 'request_id', 'approved_at', 'format_version'],
  subscriptions: [
    'pk', 'id', 'publisher_id', 'resource_id', 'uai', 'starts_at', 'ends_at', 'school_year', 'assignment_type', 'audiences',
    'licences', 'comment', 'created_at', 'updated_at', 'category', 'project_code', 'resource_label', 'resource_id_type', 'distributor_id',
  ],
  deleted_subscriptions: [
    'pk', 'id', 'publisher_id', 'resource_id', 'uai', 'starts_at', 'ends_at', 'school_year', 'assignment_type', 'audiences',
    'licences', 'comment', 'category', 'project_code', 'resource_label', 'resource_id_type', 'distributor_id', 'created_at',
    'updated_at', 'deleted_at',
  ],
  client_certificates: [
    'id', 'label', 'fingerprint256', 'subject', 'issuer', 'publisher_id', 'ent_id', 'valid_from', 'valid_until', 'revoked_at', 'created_at',
  ],
  access_log: [
    'id', 'at', 'ent_id', 'uai', 'person_ref', 'profile', 'resource_id', 'publisher_id', 'outcome', 'reason', 'attributes',
    'key_id', 'response_id', 'client_ip', 'request_id', 'door',
  ],
  browser_sessions: [
    'id', 'token_hash', 'ent_id', 'person_id', 'uai_hint', 'authn_instant', 'authn_context_class_ref', 'idp_entity_id',
    'idp_name_id', 'idp_name_id_format', 'idp_session_index', 'created_at', 'last_seen_at', 'ended_at', 'ended_reason',
  ],
  browser_session_participants: ['session_id', 'door', 'resource_id', 'party', 'name_id', 'session_index', 'slo_url', 'created_at'],
  audit_log: ['id', 'at', 'actor_sub', 'actor_role', 'action', 'object_type', 'object_id', 'fields', 'status', 'request_id'],
  access_stats_daily: ['day', 'ent_id', 'uai', 'resource_id', 'publisher_id', 'profile', 'outcome', 'count'],
  rights_records: ['ent_id', 'person_hash', 'kind', 'recorded_at', 'recorded_by'],
  maintenance_state: ['key', 'value'],
  retention_runs: ['id', 'started_at', 'finished_at', 'dry_run', 'removed', 'error'],
  feed_jobs: [
    'id', 'ent_id', 'state', 'created_by', 'archive_name', 'archive_path', 'archive_bytes', 'attempts', 'progress', 'establishments',
    'problems', 'problem_count', 'error', 'created_at', 'started_at', 'finished_at', 'updated_at',
  ],
  assignments: ['id', 'subscription_pk', 'uai', 'target_type', 'person_id', 'group_id', 'profile', 'created_at', 'created_by', 'created_as', 'group_code', 'detached_at'],
  ent_idps: [
    'ent_id', 'entity_id', 'sso_url', 'sso_binding', 'signing_certificates', 'metadata_xml', 'attr_ent_id', 'attr_person_id',
    'allow_sha1', 'slo_url', 'created_at', 'updated_at',
  ],
  entry_requests: ['id', 'authn_request_id', 'ent_id', 'uai', 'resource_id', 'return_path', 'created_at', 'expires_at'],
  saml_seen_assertions: ['idp_entity_id', 'assertion_id', 'expires_at'],
  saml_idp_pending: ['id', 'kind', 'state', 'created_at', 'expires_at'],
  cas_services: ['resource_id', 'url', 'is_prefix', 'origin'],
  cas_tickets: ['ticket_hash', 'service', 'resource_id', 'session_id', 'released', 'created_at', 'expires_at'],
  oidc_clients: ['client_id', 'resource_id', 'redirect_uris', 'auth_method', 'jwks', 'jwks_uri', 'secret_salt', 'created_at', 'updated_at'],
  oidc_payloads: ['kind', 'id', 'payload', 'grant_id', 'uid', 'user_code', 'consumed_at', 'expires_at'],
};

t.test('the Database interface lists exactly the tables and columns the migrations create', async (t) => {
  const { db } = await freshDatabase(t);
  const rows = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name from information_schema.columns c
    join information_schema.tables tb on tb.table_name = c.table_name and tb.table_schema = c.table_schema
    where c.table_schema = 'public' and tb.table_type = 'BASE TABLE' and c.table_name not like 'kysely_%'
      and not exists (select 1 from pg_inherits i join pg_class k on k.oid = i.inhrelid where k.relname = c.table_name)
  `.execute(db);
  const actual: Record<string, string[]> = {};
  for (const r of rows.rows) (actual[r.table_name] ??= []).push(r.column_name);
  t.same(Object.keys(actual).sort(), Object.keys(COLUMNS).sort(), 'same tables');
  for (const [table, cols] of Object.entries(COLUMNS)) {
    t.same((actual[table] ?? []).sort(), [...cols].sort(), `columns of ${table}`);
  }
});
