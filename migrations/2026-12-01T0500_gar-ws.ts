import { sql, type Kysely } from 'kysely';

/*
 * What GAR's web services carry that the model lacked:
 * - subscriptions: the assignment category, the purchase-project code, the resource label and id type
 *   the publisher sent, and the distributor id (SIREN_ISNI) it named;
 * - deleted_subscriptions: a deleted subscription leaves the live table (so no decision, list or count
 *   can ever see it) and is kept here with its id, for searches with `aboSuppr`;
 * - establishments: the official fields of the national directory (nature, type, commune, academy...);
 * - resources: the catalogue fields of GAR's resource list (vocabularies, labels, distributors);
 * - publishers: the SIREN_ISNI that GAR uses as the distributor id;
 * - client_certificates: the operator's mapping from a client certificate to a publisher or an ENT
 *   project, for the client-certificate listener.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table subscriptions
    add column category text not null default 'transferable' check (category in ('transferable', 'non transferable')),
    add column project_code text,
    add column resource_label text,
    add column resource_id_type text not null default 'ark',
    add column distributor_id text`.execute(db);
  await sql`create index subscriptions_project_code_idx on subscriptions (publisher_id, project_code) where project_code is not null`.execute(db);

  await db.schema
    .createTable('deleted_subscriptions')
    .addColumn('pk', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('publisher_id', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('uai', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('school_year', 'text')
    .addColumn('assignment_type', 'text', (c) => c.notNull())
    .addColumn('audiences', sql`text[]`, (c) => c.notNull())
    .addColumn('licences', 'jsonb', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('project_code', 'text')
    .addColumn('resource_label', 'text')
    .addColumn('resource_id_type', 'text', (c) => c.notNull())
    .addColumn('distributor_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('deleted_subscriptions_publisher_idx').on('deleted_subscriptions').columns(['publisher_id', 'id']).execute();

  // Official fields as the national directory names them (uai, nature_uai, nature_uai_libe, ...).
  await sql`alter table establishments add column official jsonb not null default '{}'`.execute(db);
  // Catalogue fields of GAR's resource list and diffusion list (typePedagogique, distributeurTech, ...).
  await sql`alter table resources add column catalogue jsonb not null default '{}'`.execute(db);
  await sql`alter table publishers add column siren_isni text unique`.execute(db);

  await db.schema
    .createTable('client_certificates')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('label', 'text', (c) => c.notNull())
    // SHA-256 of the DER certificate, upper-case hex with colons as Node prints it; or subject + issuer.
    .addColumn('fingerprint256', 'text', (c) => c.unique())
    .addColumn('subject', 'text')
    .addColumn('issuer', 'text')
    .addColumn('publisher_id', 'text', (c) => c.references('publishers.id').onDelete('cascade'))
    .addColumn('ent_id', 'text', (c) => c.references('ent_projects.id').onDelete('cascade'))
    .addColumn('valid_from', 'timestamptz', (c) => c.notNull())
    .addColumn('valid_until', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('client_certificates_one_owner', sql`(publisher_id is null) <> (ent_id is null)`)
    .addCheckConstraint('client_certificates_identified', sql`fingerprint256 is not null or (subject is not null and issuer is not null)`)
    .execute();
  await db.schema.createIndex('client_certificates_subject_idx').on('client_certificates').columns(['subject', 'issuer']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_certificates').execute();
  await sql`alter table publishers drop column siren_isni`.execute(db);
  await sql`alter table resources drop column catalogue`.execute(db);
  await sql`alter table establishments drop column official`.execute(db);
  await db.schema.dropTable('deleted_subscriptions').execute();
  await sql`drop index subscriptions_project_code_idx`.execute(db);
  await sql`alter table subscriptions drop column category, drop column project_code, drop column resource_label,
    drop column resource_id_type, drop column distributor_id`.execute(db);
}
