import { sql, type Kysely } from 'kysely';

/*
 * One row per SSO decision, range-partitioned by month so that retention drops whole partitions
 * instead of deleting rows. Monthly partitions are created ahead by the maintenance step; the
 * default partition only catches what would otherwise fail, so no decision is ever lost.
 * No foreign keys: a log row outlives the person, resource or establishment it mentions.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table access_log (
      id bigserial not null,
      at timestamptz not null,
      ent_id text not null,
      uai text not null,
      person_ref bigint,
      profile text,
      resource_id text not null,
      publisher_id text,
      outcome text not null check (outcome in ('granted', 'refused')),
      reason text,
      attributes text[] not null default '{}',
      key_id text,
      response_id text,
      client_ip text,
      request_id text
    ) partition by range (at)`.execute(db);
  await sql`create table access_log_default partition of access_log default`.execute(db);
  await sql`create index access_log_at_idx on access_log (at)`.execute(db);
  await sql`create index access_log_resource_at_idx on access_log (resource_id, at)`.execute(db);
  await sql`create index access_log_uai_at_idx on access_log (uai, at)`.execute(db);
  await sql`create index access_log_person_idx on access_log (ent_id, person_ref)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table access_log`.execute(db);
}
