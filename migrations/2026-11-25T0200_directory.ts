import { sql, type Kysely } from 'kysely';

// The directory copy fed by ENTs (JSON snapshots and official GAR-ENT XML files).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('people')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('ent_id', 'text', (c) => c.notNull().references('ent_projects.id'))
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('other_first_names', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('birth_name', 'text')
    .addColumn('civility', 'text')
    // Kept only to de-duplicate people across feeds; never released, never listed.
    .addColumn('birth_date', 'date')
    .addColumn('emails', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('struct_rattach', 'text')
    .addColumn('disciplines', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('content_hash', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('gone_at', 'timestamptz')
    .addColumn('restricted_at', 'timestamptz')
    .addColumn('objected_at', 'timestamptz')
    .addUniqueConstraint('people_ent_person_uq', ['ent_id', 'person_id'])
    .execute();
  await db.schema.createIndex('people_gone_at_idx').on('people').column('gone_at').where(sql.ref('gone_at'), 'is not', null).execute();

  await db.schema
    .createTable('establishment_people')
    .addColumn('uai', 'text', (c) => c.notNull().references('establishments.uai').onDelete('cascade'))
    .addColumn('person_id', 'bigint', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('profiles', sql`text[]`, (c) => c.notNull())
    .addColumn('mefs', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('subjects', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('gone_at', 'timestamptz')
    .addPrimaryKeyConstraint('establishment_people_pk', ['uai', 'person_id'])
    .execute();
  await db.schema.createIndex('establishment_people_person_idx').on('establishment_people').column('person_id').execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('uai', 'text', (c) => c.notNull().references('establishments.uai').onDelete('cascade'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('DIVISION', 'GROUPE')`))
    .addColumn('divisions', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addUniqueConstraint('groups_uai_code_uq', ['uai', 'code'])
    .execute();

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'bigint', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('person_id', 'bigint', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'person_id'])
    .execute();
  await db.schema.createIndex('group_members_person_idx').on('group_members').column('person_id').execute();

  await db.schema
    .createTable('teachings')
    .addColumn('person_id', 'bigint', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('group_id', 'bigint', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('subjects', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addPrimaryKeyConstraint('teachings_pk', ['person_id', 'group_id'])
    .execute();
  await db.schema.createIndex('teachings_group_idx').on('teachings').column('group_id').execute();

  for (const table of ['subjects', 'mefs']) {
    await db.schema
      .createTable(table)
      .addColumn('uai', 'text', (c) => c.notNull().references('establishments.uai').onDelete('cascade'))
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['uai', 'code'])
      .execute();
  }

  // Responsables d'affectation (GAR-ENT-RespAff): the people establishment tokens are issued to.
  await db.schema
    .createTable('assignment_managers')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('ent_id', 'text', (c) => c.notNull().references('ent_projects.id'))
    .addColumn('person_id', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('uais', sql`text[]`, (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('assignment_managers_uq', ['ent_id', 'person_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['assignment_managers', 'mefs', 'subjects', 'teachings', 'group_members', 'groups', 'establishment_people', 'people']) {
    await db.schema.dropTable(t).execute();
  }
}
