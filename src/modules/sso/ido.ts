import { createHmac } from 'node:crypto';

/**
 * The opaque identifier (IDO): HMAC-SHA-512 of the person within its ENT project, 128 hex chars.
 * Stable across the project's establishments, as GAR's; a pairwise resource also hashes in its
 * publisher, so two publishers cannot join their users.
 */
export function opaqueId(secretHex: string, entId: string, personId: string, publisherId?: string): string {
  const h = createHmac('sha512', Buffer.from(secretHex, 'hex'));
  // Length-prefixed parts: no two different inputs can produce the same message.
  for (const part of publisherId === undefined ? [entId, personId] : [entId, personId, publisherId]) {
    h.update(`${Buffer.byteLength(part)}:${part};`);
  }
  return h.digest('hex');
}
