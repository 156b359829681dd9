import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

/*
 * Who may assign resources at a school (decree art. 6, 3° to 6°), per ENT project:
 * - `respaff`: the people the project's GAR-ENT-RespAff feed names for that UAI (the default, and
 *   what GAR itself uses);
 * - `heads`: also the heads and teacher-librarians there (National_dir, National_doc), the rule
 *   ENT connectors apply when they nominate responsables d'affectation automatically;
 * - `primary-teachers`: also every teacher (National_ens) of a primary school (degree 1), an option
 *   ENTs offer because a primary school rarely has anyone else to do it.
 * The rules add up. Only people present at the school (not gone) count, except RespAff people,
 * whom their own feed names.
 */

export const ASSIGNMENT_RULES = ['respaff', 'heads', 'primary-teachers'] as const;
export type AssignmentRule = (typeof ASSIGNMENT_RULES)[number];
export const DEFAULT_ASSIGNMENT_POLICY: readonly AssignmentRule[] = ['respaff'];

/** The profiles each rule admits (`respaff` admits by name, not by profile). */
const RULE_PROFILES = { heads: ['National_dir', 'National_doc'], 'primary-teachers': ['National_ens'] } as const;

/** Every UAI of `entId` where `personId` may assign, with the first rule (in policy order) that allows it. */
export async function assignableUais(db: Kysely<Database>, entId: string, personId: string): Promise<Map<string, AssignmentRule>> {
  const project = await db.selectFrom('ent_projects').select('assignment_policy').where('id', '=', entId).executeTakeFirst();
  const policy = (project?.assignment_policy ?? []) as AssignmentRule[];
  const found = new Map<string, AssignmentRule>();
  if (policy.includes('respaff')) {
    // Only the UAIs attached to this project: a feed cannot hand out another project's school.
    const rows = await sql<{ uai: string }>`
      select e.uai from assignment_managers m join establishments e on e.uai = any(m.uais) and e.ent_id = m.ent_id
      where m.ent_id = ${entId} and m.person_id = ${personId}
    `.execute(db);
    for (const r of rows.rows) found.set(r.uai, 'respaff');
  }
  const byProfile = policy.filter((r): r is Exclude<AssignmentRule, 'respaff'> => r !== 'respaff');
  if (byProfile.length) {
    const rows = await sql<{ uai: string; profiles: string[]; degree: number }>`
      select ep.uai, ep.profiles, e.degree
      from people p
      join establishment_people ep on ep.person_id = p.id and ep.gone_at is null
      join establishments e on e.uai = ep.uai and e.ent_id = p.ent_id
      where p.ent_id = ${entId} and p.person_id = ${personId} and p.gone_at is null
    `.execute(db);
    for (const r of rows.rows) {
      if (found.has(r.uai)) continue;
      const rule = byProfile.find(
        (rule) => (rule !== 'primary-teachers' || Number(r.degree) === 1) && RULE_PROFILES[rule].some((p) => r.profiles.includes(p)),
      );
      if (rule) found.set(r.uai, rule);
    }
  }
  return found;
}

export type AssignmentVerdict = { allowed: true; rule: AssignmentRule } | { allowed: false; reason: string; detail: string };

/**
 * Whether the person an establishment token names (`sub`, their ENT id) may assign at `uai` under
 * the policy of the project that holds `uai`. Asked at every request, so that a token outlives
 * neither the person's departure nor a change of policy.
 */
export async function mayAssignAt(db: Kysely<Database>, personId: string, uai: string): Promise<AssignmentVerdict> {
  const est = await db
    .selectFrom('establishments as e')
    .innerJoin('ent_projects as p', 'p.id', 'e.ent_id')
    .select(['e.ent_id', 'p.assignment_policy'])
    .where('e.uai', '=', uai)
    .executeTakeFirst();
  if (!est) return { allowed: false, reason: 'establishment_unknown', detail: `${uai} is attached to no ENT project` };
  const rule = (await assignableUais(db, est.ent_id, personId)).get(uai);
  if (rule) return { allowed: true, rule };
  return {
    allowed: false,
    reason: 'not_allowed_to_assign',
    detail:
      `${personId} may not assign resources at ${uai}: the assignment policy of ENT project ${est.ent_id} ` +
      `(${est.assignment_policy.join(', ')}) does not include them there. ${policyExplanation(est.assignment_policy as AssignmentRule[])}`,
  };
}

export function policyExplanation(policy: readonly AssignmentRule[]): string {
  const parts: Record<AssignmentRule, string> = {
    respaff: "the people its GAR-ENT-RespAff feed names for the school",
    heads: 'the heads and teacher-librarians present there (National_dir, National_doc)',
    'primary-teachers': 'every teacher present at a primary school (National_ens, degree 1)',
  };
  return `Allowed: ${policy.map((r) => parts[r]).join('; ')}.`;
}
