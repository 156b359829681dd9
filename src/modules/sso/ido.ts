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

/**
 * The identifier of a resource whose IDO scope is `stable`: one per person and publisher, the same
 * in every ENT project the person was linked across (person_links). The link key is itself a keyed
 * hash; a person never linked has the key of their own (project, person id), so that linking them
 * later to a newcomer's record keeps their identifier and gives it to the newcomer.
 */
export function stableId(secretHex: string, linkKey: string | null, entId: string, personId: string, publisherId: string): string {
  const key = linkKey ?? ownLinkKey(secretHex, entId, personId);
  const h = createHmac('sha512', Buffer.from(secretHex, 'hex'));
  for (const part of ['stable', key, publisherId]) h.update(`${Buffer.byteLength(part)}:${part};`);
  return h.digest('hex');
}

/** The link key of a person never linked: derived from (project, person id) under the secret. */
export function ownLinkKey(secretHex: string, entId: string, personId: string): string {
  const h = createHmac('sha256', Buffer.from(secretHex, 'hex'));
  for (const part of ['link', entId, personId]) h.update(`${Buffer.byteLength(part)}:${part};`);
  return h.digest('hex');
}
