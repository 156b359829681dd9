import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

export type RightsKind = 'restriction' | 'objection';

/**
 * Years a rights record is kept after it was recorded: the GAR decree keeps a pupil's
 * identification data for the length of their schooling, and a record must last as long as the
 * person may come back through the same ENT project (collège then lycée: seven years).
 */
export const RIGHTS_RECORD_YEARS = 7;

/**
 * The person as the record knows them: an HMAC of project and person id under the IDO secret, so
 * the table alone names nobody and cannot be matched against a list of ids without the key.
 */
export function personHash(idoSecret: string, entId: string, personId: string): string {
  return createHmac('sha256', Buffer.from(idoSecret, 'hex')).update(`rights\n${entId}\n${personId}`).digest('hex');
}

export async function keepRightsRecord(
  db: Kysely<Database>,
  r: { entId: string; personHash: string; kind: RightsKind; at: Date; by: string },
): Promise<void> {
  await db
    .insertInto('rights_records')
    .values({ ent_id: r.entId, person_hash: r.personHash, kind: r.kind, recorded_at: r.at, recorded_by: r.by })
    .onConflict((oc) => oc.columns(['ent_id', 'person_hash', 'kind']).doUpdateSet({ recorded_at: r.at, recorded_by: r.by }))
    .execute();
}

export async function dropRightsRecord(db: Kysely<Database>, entId: string, hash: string, kind: RightsKind): Promise<void> {
  await db.deleteFrom('rights_records').where('ent_id', '=', entId).where('person_hash', '=', hash).where('kind', '=', kind).execute();
}
