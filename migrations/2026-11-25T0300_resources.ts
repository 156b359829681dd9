import { sql, type Kysely } from 'kysely';

// Publishers' resources, their SAML service providers, and the ministry-reviewed data requests.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('resources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('publisher_id', 'text', (c) => c.notNull().references('publishers.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type_presentation', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('thumbnail_url', 'text')
    .addColumn('access_url', 'text')
    .addColumn('sp_entity_id', 'text', (c) => c.notNull().unique())
    .addColumn('sp_acs_url', 'text', (c) => c.notNull())
    .addColumn('sp_signing_cert', 'text')
    .addColumn('sp_encryption_cert', 'text')
    .addColumn('sp_metadata_xml', 'text')
    .addColumn('sp_requested_attributes', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    // 'pairwise' puts the publisher into the IDO hash; set by the ministry.
    .addColumn('ido_scope', 'text', (c) => c.notNull().defaultTo('project').check(sql`ido_scope in ('project', 'pairwise')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('resources_publisher_idx').on('resources').column('publisher_id').execute();

  await db.schema
    .createTable('data_requests')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'reviewed', 'superseded')`))
    .addColumn('submitted_by', 'text', (c) => c.notNull())
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reviewed_by', 'text')
    .addColumn('reviewed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('data_requests_resource_idx').on('data_requests').columns(['resource_id', 'submitted_at']).execute();
  await db.schema.createIndex('data_requests_pending_idx').on('data_requests').column('status').where('status', '=', 'pending').execute();

  await db.schema
    .createTable('data_request_items')
    .addColumn('request_id', 'uuid', (c) => c.notNull().references('data_requests.id').onDelete('cascade'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('approved', 'boolean')
    .addColumn('comment', 'text')
    .addPrimaryKeyConstraint('data_request_items_pk', ['request_id', 'code'])
    .execute();

  // The released set: what the SSO may send for a resource, besides IDO. Only a review adds to it.
  await db.schema
    .createTable('released_attributes')
    .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('request_id', 'uuid', (c) => c.notNull().references('data_requests.id'))
    .addColumn('approved_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('released_attributes_pk', ['resource_id', 'code'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['released_attributes', 'data_request_items', 'data_requests', 'resources']) await db.schema.dropTable(t).execute();
}
