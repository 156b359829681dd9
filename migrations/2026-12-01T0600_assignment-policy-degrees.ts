import { sql, type Kysely } from 'kysely';

/*
 * Who may assign, and primary schools.
 * - ent_projects.assignment_policy: whom an ENT project lets assign resources at its schools
 *   (decree art. 6, 3° to 6°): `respaff` (the people its GAR-ENT-RespAff feed names, the default),
 *   `heads` (adds National_dir and National_doc), `primary-teachers` (adds every National_ens of a
 *   primary school). A set, so that a project may combine them.
 * - establishments.degree: 1 for a primary school (fed with GAR-ENT-1D), 2 otherwise.
 * - assignments.created_as: which rule of the policy let the person assign (null before this).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ent_projects add column assignment_policy text[] not null default '{respaff}'`.execute(db);
  await sql`alter table ent_projects add constraint ent_projects_assignment_policy_ck
            check (cardinality(assignment_policy) > 0 and assignment_policy <@ array['respaff', 'heads', 'primary-teachers']::text[])`.execute(db);
  await sql`alter table establishments add column degree smallint not null default 2`.execute(db);
  await sql`alter table establishments add constraint establishments_degree_ck check (degree in (1, 2))`.execute(db);
  await sql`alter table assignments add column created_as text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table assignments drop column created_as`.execute(db);
  await sql`alter table establishments drop column degree`.execute(db);
  await sql`alter table ent_projects drop column assignment_policy`.execute(db);
}
