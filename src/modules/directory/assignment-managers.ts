import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

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
 * The claims of an `establishment` token for a responsable d'affectation: the person must be named
 * by their ENT project's GAR-ENT-RespAff feed, and the token covers only the UAIs that feed gives
 * them which are attached to that project (a feed cannot hand out another project's school).
 * `wanted` narrows the token to some of those UAIs; asking for any other is refused.
 */
export async function establishmentClaimsFor(
  db: Kysely<Database>,
  entId: string,
  personId: string,
  wanted: readonly string[] = [],
): Promise<EstablishmentClaims> {
  const manager = await db
    .selectFrom('assignment_managers')
    .select('uais')
    .where('ent_id', '=', entId)
    .where('person_id', '=', personId)
    .executeTakeFirst();
  if (!manager) throw new NotAManagerError(`${personId} is not a responsable d'affectation of ENT project ${entId} (see its GAR-ENT-RespAff feed)`);
  const attached = manager.uais.length
    ? await db.selectFrom('establishments').select('uai').where('ent_id', '=', entId).where('uai', 'in', manager.uais).execute()
    : [];
  const managed = attached.map((e) => e.uai).sort();
  if (managed.length === 0) throw new NotAManagerError(`${personId} manages no establishment attached to ENT project ${entId}`);
  const outside = wanted.filter((uai) => !managed.includes(uai));
  if (outside.length > 0) throw new NotAManagerError(`${personId} does not manage ${outside.join(', ')} (manages ${managed.join(', ')})`);
  return { sub: personId, role: 'establishment', uai: wanted.length ? [...new Set(wanted)].sort() : managed };
}
