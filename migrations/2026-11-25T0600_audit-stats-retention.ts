import { sql, type Kysely } from 'kysely';

/*
 * The audit trail (partitioned by month like the access log, kept as long), daily access
 * aggregates without personal data (kept beyond the twelve-month purge), and the record of
 * retention runs.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table audit_log (
      id bigserial not null,
      at timestamptz not null,
      actor_sub text not null,
      actor_role text not null,
      action text not null,
      object_type text not null,
      object_id text,
      fields text[] not null default '{}',
      status integer not null,
      request_id text
    ) partition by range (at)`.execute(db);
  await sql`create table audit_log_default partition of audit_log default`.execute(db);
  await sql`create index audit_log_at_idx on audit_log (at)`.execute(db);
  await sql`create index audit_log_object_idx on audit_log (object_type, object_id)`.execute(db);

  await db.schema
    .createTable('access_stats_daily')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('ent_id', 'text', (c) => c.notNull())
    .addColumn('uai', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('publisher_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('profile', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('access_stats_daily_pk', ['day', 'ent_id', 'uai', 'resource_id', 'publisher_id', 'profile', 'outcome'])
    .execute();

  await db.schema
    .createTable('maintenance_state')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('retention_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('dry_run', 'boolean', (c) => c.notNull())
    .addColumn('removed', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('error', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['retention_runs', 'maintenance_state', 'access_stats_daily', 'audit_log']) await sql`drop table ${sql.table(t)}`.execute(db);
}
