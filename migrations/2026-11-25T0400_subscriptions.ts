import { sql, type Kysely } from 'kysely';

// Publishers' subscriptions for establishments, and the licences establishments assign.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('subscriptions')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('publisher_id', 'text', (c) => c.notNull().references('publishers.id'))
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id'))
    .addColumn('uai', 'text', (c) => c.notNull().references('establishments.uai'))
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('school_year', 'text')
    .addColumn('assignment_type', 'text', (c) => c.notNull().check(sql`assignment_type in ('INDIV', 'ETABL')`))
    .addColumn('audiences', sql`text[]`, (c) => c.notNull())
    // The API's licences object as given: {global} or the four per-audience counts, "unlimited" allowed.
    .addColumn('licences', 'jsonb', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('subscriptions_publisher_id_uq', ['publisher_id', 'id'])
    .execute();
  await db.schema.createIndex('subscriptions_uai_idx').on('subscriptions').columns(['uai', 'ends_at']).execute();
  await db.schema.createIndex('subscriptions_resource_idx').on('subscriptions').column('resource_id').execute();

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('subscription_pk', 'bigint', (c) => c.notNull().references('subscriptions.pk').onDelete('cascade'))
    .addColumn('uai', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) =>
      c.notNull().check(sql`target_type in ('person', 'division', 'group', 'profile', 'establishment')`),
    )
    .addColumn('person_id', 'bigint', (c) => c.references('people.id').onDelete('cascade'))
    .addColumn('group_id', 'bigint', (c) => c.references('groups.id').onDelete('cascade'))
    .addColumn('profile', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('assignments_subscription_idx').on('assignments').column('subscription_pk').execute();
  await db.schema.createIndex('assignments_person_idx').on('assignments').column('person_id').where('person_id', 'is not', null).execute();
  await db.schema.createIndex('assignments_group_idx').on('assignments').column('group_id').where('group_id', 'is not', null).execute();
  await db.schema.createIndex('assignments_uai_idx').on('assignments').columns(['uai', 'target_type']).execute();
  // One assignment per subscription and target.
  await sql`create unique index assignments_target_uq on assignments (subscription_pk, target_type, coalesce(person_id, 0), coalesce(group_id, 0), coalesce(profile, ''))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('assignments').execute();
  await db.schema.dropTable('subscriptions').execute();
}
