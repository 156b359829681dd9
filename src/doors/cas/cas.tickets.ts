import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

/** Apereo CAS's default: long enough for a service's back channel, too short to be carried off. */
export const TICKET_SECONDS = 10;

/** What a validation answers: fixed at /login, when the decision granted. */
export interface CasRelease {
  user: string;
  attributes: Array<{ name: string; values: string[] }>;
  authenticationDate: string;
  isFromNewLogin: boolean;
}

/** `ST-` and 256 random bits (the protocol asks for at least 128 bits of entropy). */
export const newTicket = () => `ST-${randomBytes(32).toString('base64url')}`;
const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest();
/** A reference to a ticket for the access log: joins a row with a service's report, replays nothing. */
export const ticketRef = (ticket: string) => hashOf(ticket).subarray(0, 12).toString('hex');

/**
 * The opaque cas:user: an HMAC of the resource and the person's IDO, so that two resources of one
 * publisher cannot join their users through it, and the IDO (which the service may also receive
 * as cas:IDO, when approved) is not repeated in the clear identity.
 */
export function casUser(idoSecretHex: string, resourceId: string, ido: string): string {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(idoSecretHex, 'hex'), Buffer.alloc(0), 'gar-broker cas user', 32));
  return createHmac('sha256', key).update(`${Buffer.byteLength(resourceId)}:${resourceId};${ido}`).digest('hex');
}

export async function storeTicket(
  db: Kysely<Database>,
  t: { ticket: string; service: string; resourceId: string; sessionId: string | null; release: CasRelease; now: Date },
): Promise<void> {
  await db
    .insertInto('cas_tickets')
    .values({
      ticket_hash: hashOf(t.ticket),
      service: t.service,
      resource_id: t.resourceId,
      session_id: t.sessionId,
      released: JSON.stringify(t.release),
      created_at: t.now,
      expires_at: new Date(t.now.getTime() + TICKET_SECONDS * 1000),
    })
    .execute();
}

/**
 * Takes a ticket out: whatever the outcome of the validation, a ticket is good for one attempt
 * (CAS 3.0 §3.1.1), and deleting it also removes the released data from the database at once.
 */
export async function takeTicket(
  db: Kysely<Database>,
  ticket: string,
): Promise<{ service: string; resourceId: string; release: CasRelease; expiresAt: Date } | undefined> {
  const row = await db
    .deleteFrom('cas_tickets')
    .where('ticket_hash', '=', hashOf(ticket))
    .returning(['service', 'resource_id', 'released', 'expires_at'])
    .executeTakeFirst();
  if (!row) return undefined;
  const release = (typeof row.released === 'string' ? JSON.parse(row.released) : row.released) as CasRelease;
  return { service: row.service, resourceId: row.resource_id, release, expiresAt: new Date(row.expires_at) };
}

/** Tickets never presented: removed a minute after they expire (each issue sweeps, cheaply by index). */
export async function sweepTickets(db: Kysely<Database>, now: Date): Promise<void> {
  await db.deleteFrom('cas_tickets').where('expires_at', '<', sql<Date>`${new Date(now.getTime() - 60_000)}`).execute();
}
