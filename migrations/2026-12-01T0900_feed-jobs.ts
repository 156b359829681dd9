import { sql, type Kysely } from 'kysely';

/*
 * Nightly GAR-ENT exports imported as background jobs: one row per archive, its state, progress and
 * outcome per establishment, and the first problems found (capped, with their count). The archive
 * itself waits on disk (archive_path) until the job ends; a job left `running` by a stopped process
 * is taken up again at start from that file, or failed when the file is gone.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('feed_jobs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('ent_id', 'text', (c) => c.notNull().references('ent_projects.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('queued', 'running', 'succeeded', 'failed', 'partial')`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('archive_name', 'text')
    .addColumn('archive_path', 'text')
    .addColumn('archive_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('establishments', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('problems', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('problem_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('feed_jobs_ent_created_idx').on('feed_jobs').columns(['ent_id', 'created_at']).execute();
  await db.schema.createIndex('feed_jobs_state_idx').on('feed_jobs').column('state').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('feed_jobs').execute();
}
