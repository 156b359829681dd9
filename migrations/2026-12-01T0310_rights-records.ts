import { sql, type Kysely } from 'kysely';

/*
 * Objections and restrictions outlive the directory data they were recorded against: the person is
 * deleted three months after leaving, and the record is what applies the objection when the ENT
 * sends the person again. Only what that needs: the ENT project, an HMAC of the person id (never the
 * id itself), the kind, when and by whom.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rights_records')
    .addColumn('ent_id', 'text', (c) => c.notNull())
    .addColumn('person_hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('restriction', 'objection')`))
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('rights_records_pk', ['ent_id', 'person_hash', 'kind'])
    .execute();
  await db.schema.createIndex('rights_records_recorded_at_idx').on('rights_records').column('recorded_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rights_records').execute();
}
