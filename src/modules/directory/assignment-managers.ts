import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { DEFAULT_ASSIGNMENT_POLICY, assignableUais, policyExplanation, type AssignmentRule } from './assignment-policy.js';

/** Raised when an `establishment` token is asked for someone the feed does not make a manager. */
export class NotAManagerError extends Error {
  override name = 'NotAManagerError';
}

export interface EstablishmentClaims {
  sub: string;
  role: 'establishment';
  uai: string[];
}

/**
 * The claims of an `establishment` token for a person who may assign under their ENT project's
 * assignment policy (assignment-policy.ts): by default the responsables d'affectation its
 * GAR-ENT-RespAff feed names. The token covers the UAIs of that project where the policy lets them
 * assign (a feed cannot hand out another project's school). `wanted` narrows the token to some of
 * those UAIs; asking for any other is refused. The API asks the same policy again at each request.
 */
export async function establishmentClaimsFor(
  db: Kysely<Database>,
  entId: string,
  personId: string,
  wanted: readonly string[] = [],
): Promise<EstablishmentClaims> {
  const allowed = await assignableUais(db, entId, personId);
  if (allowed.size === 0) {
    const project = await db.selectFrom('ent_projects').select('assignment_policy').where('id', '=', entId).executeTakeFirst();
    const policy = (project?.assignment_policy ?? DEFAULT_ASSIGNMENT_POLICY) as AssignmentRule[];
    const named = await db.selectFrom('assignment_managers').select('id').where('ent_id', '=', entId).where('person_id', '=', personId).executeTakeFirst();
    if (named && policy.includes('respaff')) throw new NotAManagerError(`${personId} manages no establishment attached to ENT project ${entId}`);
    const wider = policy.length === 1 && policy[0] === 'respaff' ? '' : ` nor allowed by its assignment policy (${policyExplanation(policy)})`;
    throw new NotAManagerError(`${personId} is not a responsable d'affectation of ENT project ${entId} (see its GAR-ENT-RespAff feed)${wider}`);
  }
  const managed = [...allowed.keys()].sort();
  const outside = wanted.filter((uai) => !managed.includes(uai));
  if (outside.length > 0) throw new NotAManagerError(`${personId} does not manage ${outside.join(', ')} (manages ${managed.join(', ')})`);
  return { sub: personId, role: 'establishment', uai: wanted.length ? [...new Set(wanted)].sort() : managed };
}
