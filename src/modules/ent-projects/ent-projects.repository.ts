import { sql, type Kysely } from 'kysely';
import type { Database, Establishment } from '../../db/database.js';
import type { EntProjectInput, EntProjectView, EstablishmentView } from './ent-projects.schemas.js';
import type { AssignmentRule } from '../directory/assignment-policy.js';

const projectColumns = (db: Kysely<Database>) =>
  db
    .selectFrom('ent_projects as p')
    .select(['p.id', 'p.name', 'p.kind', 'p.created_at', 'p.assignment_policy'])
    .select((eb) =>
      eb.selectFrom('establishments as e').whereRef('e.ent_id', '=', 'p.id').select(eb.fn.countAll<number>().as('n')).as('establishment_count'),
    );

type ProjectRow = { id: string; name: string; kind: 'ent' | 'edugar'; created_at: Date; assignment_policy: string[]; establishment_count: number | null };

const toProject = (r: ProjectRow): EntProjectView => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  createdAt: r.created_at.toISOString(),
  establishmentCount: Number(r.establishment_count ?? 0),
  assignmentPolicy: r.assignment_policy as AssignmentRule[],
});

export const toEstablishment = (r: Establishment): EstablishmentView => ({
  uai: r.uai,
  entId: r.ent_id,
  name: r.name,
  degree: r.degree,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export async function insertProject(db: Kysely<Database>, input: EntProjectInput, now: Date): Promise<EntProjectView> {
  const { assignmentPolicy, ...rest } = input;
  await db
    .insertInto('ent_projects')
    .values({ ...rest, created_at: now, ...(assignmentPolicy ? { assignment_policy: assignmentPolicy } : {}) })
    .execute();
  return (await findProject(db, input.id))!;
}

export async function findProject(db: Kysely<Database>, id: string): Promise<EntProjectView | undefined> {
  const row = await projectColumns(db).where('p.id', '=', id).executeTakeFirst();
  return row && toProject(row);
}

export async function listProjects(db: Kysely<Database>, limit: number, after?: string): Promise<EntProjectView[]> {
  let q = projectColumns(db).orderBy('p.id').limit(limit);
  if (after) q = q.where('p.id', '>', after);
  return (await q.execute()).map(toProject);
}

export async function findEstablishment(db: Kysely<Database>, uai: string): Promise<Establishment | undefined> {
  return db.selectFrom('establishments').selectAll().where('uai', '=', uai).executeTakeFirst();
}

/** Attaches or renames; returns undefined when the UAI is held by another project. */
export async function upsertEstablishment(
  db: Kysely<Database>,
  entId: string,
  uai: string,
  name: string,
  now: Date,
  degree?: 1 | 2,
): Promise<{ row: Establishment; created: boolean } | undefined> {
  const row = await db
    .insertInto('establishments')
    .values({ uai, ent_id: entId, name, created_at: now, updated_at: now, ...(degree ? { degree } : {}) })
    .onConflict((oc) =>
      oc
        .column('uai')
        .doUpdateSet({ name, updated_at: now, ...(degree ? { degree } : {}) })
        // Only the holder may rename: another project's UAI is left untouched and reported.
        .where('establishments.ent_id', '=', entId),
    )
    .returningAll()
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .executeTakeFirst();
  if (!row) return undefined;
  const { inserted, ...est } = row as Establishment & { inserted: boolean };
  return { row: est, created: inserted };
}

export async function setAssignmentPolicy(db: Kysely<Database>, entId: string, policy: readonly AssignmentRule[]): Promise<boolean> {
  const r = await db.updateTable('ent_projects').set({ assignment_policy: [...policy] }).where('id', '=', entId).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
