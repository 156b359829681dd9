import { readFileSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../src/db/database.js';
import { bearer, operator } from './helper.js';

/** Two schools of project Z0, one of project Z1. */
export const UAI_A = '0650001Y';
export const UAI_B = '0650002Z';
export const UAI_OTHER = '0750001U';
export const UNKNOWN_UAI = '0690037R';

export const entZ0 = { sub: 'ent-z0', role: 'ent', entId: 'Z0' } as const;
export const entZ1 = { sub: 'ent-z1', role: 'ent', entId: 'Z1' } as const;

export async function onboard(app: FastifyInstance): Promise<void> {
  const h = bearer(app, operator);
  for (const [id, name] of [
    ['Z0', 'ENT Occitanie'],
    ['Z1', 'ENT Paris'],
  ]) {
    const r = await app.inject({ method: 'POST', url: '/v1/ent-projects', headers: h, payload: { id, name, kind: 'ent' } });
    if (r.statusCode !== 201) throw new Error(r.body);
  }
  for (const [entId, uai] of [
    ['Z0', UAI_A],
    ['Z0', UAI_B],
    ['Z1', UAI_OTHER],
  ]) {
    const r = await app.inject({ method: 'PUT', url: `/v1/ent-projects/${entId}/establishments/${uai}`, headers: h, payload: { name: `École ${uai}` } });
    if (r.statusCode !== 201) throw new Error(r.body);
  }
}

/** The same content as the XML files in fixtures/gar-ent/, for establishment A. */
export function sampleSnapshot() {
  return {
    establishment: { name: 'Collège Jean Moulin' },
    people: [
      {
        id: 'E1-000123', lastName: 'Martin', firstName: 'Léa', otherFirstNames: ['Léa', 'Anne'], civility: 'Mme', birthDate: '2012-03-04',
        profiles: [{ uai: UAI_A, profile: 'National_elv' }], mefs: ['10310019110'], subjects: ['030201'],
      },
      {
        id: 'E1-000124', lastName: 'Durand', firstName: 'Tom', otherFirstNames: ['Tom'], birthName: 'Durand-Roux', civility: 'M.',
        birthDate: '2012-05-06', profiles: [{ uai: UAI_A, profile: 'National_ELV' }], mefs: ['10310019110'],
      },
      {
        id: 'E1-000900', lastName: 'Bernard', firstName: 'Paul', otherFirstNames: ['Paul'], civility: 'M.', structRattach: UAI_A,
        profiles: [{ uai: UAI_A, profile: 'National_ens' }, { uai: UAI_B, profile: 'National_ens' }],
        emails: ['paul.bernard@ac-toulouse.fr'], disciplines: ['L1300'], mefs: ['10310019110'],
      },
      {
        id: 'E1-000950', lastName: 'Petit', firstName: 'Anne', otherFirstNames: ['Anne', 'Marie'], civility: 'Mme',
        profiles: [{ uai: UAI_A, profile: 'national_doc' }],
      },
    ],
    groups: [
      { code: '3A', name: '3e A', kind: 'DIVISION' },
      { code: 'LAT3', name: 'Latin 3e', kind: 'GROUPE', divisions: ['3A'] },
    ],
    memberships: [
      { personId: 'E1-000123', groupCode: '3A' },
      { personId: 'E1-000123', groupCode: 'LAT3' },
      { personId: 'E1-000124', groupCode: '3A' },
    ],
    teachings: [
      { personId: 'E1-000900', groupCode: '3A', subjects: ['030201'] },
      { personId: 'E1-000900', groupCode: 'LAT3', subjects: ['020700'] },
    ],
    subjects: [
      { code: '030201', name: 'Mathématiques' },
      { code: '020700', name: 'Latin' },
    ],
    mefs: [{ code: '10310019110', name: '3EME' }],
  };
}

export const fixture = (name: string) => readFileSync(new URL(`./fixtures/gar-ent/${name}`, import.meta.url), 'utf8');

/** Everything stored about one establishment, without generated ids or times, in a stable order. */
export async function dumpDirectory(db: Kysely<Database>, uai: string) {
  const people = await sql`
    select p.ent_id, p.person_id, p.last_name, p.first_name, p.other_first_names, p.birth_name, p.civility, p.birth_date::text,
           p.emails, p.struct_rattach, p.disciplines, p.content_hash, p.gone_at is not null as gone,
           ep.profiles, ep.mefs, ep.subjects, ep.gone_at is not null as gone_here
    from establishment_people ep join people p on p.id = ep.person_id where ep.uai = ${uai} order by p.person_id`.execute(db);
  const groups = await sql`select code, name, kind, divisions from groups where uai = ${uai} order by code`.execute(db);
  const members = await sql`
    select g.code, p.person_id from group_members gm join groups g on g.id = gm.group_id join people p on p.id = gm.person_id
    where g.uai = ${uai} order by 1, 2`.execute(db);
  const teachings = await sql`
    select g.code, p.person_id, te.subjects from teachings te join groups g on g.id = te.group_id join people p on p.id = te.person_id
    where g.uai = ${uai} order by 1, 2`.execute(db);
  const subjects = await sql`select code, name from subjects where uai = ${uai} order by code`.execute(db);
  const mefs = await sql`select code, name from mefs where uai = ${uai} order by code`.execute(db);
  const est = await sql`select name from establishments where uai = ${uai}`.execute(db);
  return {
    establishment: est.rows,
    people: people.rows,
    groups: groups.rows,
    members: members.rows,
    teachings: teachings.rows,
    subjects: subjects.rows,
    mefs: mefs.rows,
  };
}
