import { sql } from 'kysely';
import type { DatabaseHandle } from '../db/connect.js';

/**
 * The establishments of the ENT project where the person is present, for a door that does not
 * name one (a publisher's SP-initiated login, CAS, OIDC, an entry link without idEtab).
 */
export async function presentEstablishments(
  database: Pick<DatabaseHandle, 'db'>,
  q: { entId: string; personId: string },
): Promise<string[]> {
  const { rows } = await sql<{ uai: string }>`
    select ep.uai from people p
    join establishment_people ep on ep.person_id = p.id and ep.gone_at is null
    join establishments e on e.uai = ep.uai and e.ent_id = ${q.entId}
    where p.ent_id = ${q.entId} and p.person_id = ${q.personId} and p.gone_at is null
    order by ep.uai`.execute(database.db);
  return rows.map((r) => r.uai);
}
