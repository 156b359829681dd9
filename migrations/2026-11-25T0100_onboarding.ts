import { sql, type Kysely } from 'kysely';

// Frozen in time: this file must keep working as written, whatever src/ becomes.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ent_projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('ent', 'edugar')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('establishments')
    .addColumn('uai', 'text', (c) => c.primaryKey())
    .addColumn('ent_id', 'text', (c) => c.notNull().references('ent_projects.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('establishments_ent_id_idx').on('establishments').column('ent_id').execute();

  await db.schema
    .createTable('publishers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('contact_email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('publishers').execute();
  await db.schema.dropTable('establishments').execute();
  await db.schema.dropTable('ent_projects').execute();
}
