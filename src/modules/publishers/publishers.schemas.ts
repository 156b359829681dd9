import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../../lib/http-schemas.js';

/**
 * GAR's distributor id (9-digit SIREN, `_`, 16 digits) or a simpler slug: both fit this pattern,
 * so publishers known to the GAR keep their id and others choose a readable one.
 */
export const PublisherId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$',
  description: 'GAR distributor id (e.g. 123456789_0000000000000001) or a slug (e.g. editions-durand)',
});

export const PublisherInput = Type.Object({
  id: PublisherId,
  name: Type.String({ minLength: 1, maxLength: 255 }),
  contactEmail: Type.String({ format: 'email', maxLength: 254 }),
});
export type PublisherInput = Static<typeof PublisherInput>;

export const PublisherSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  contactEmail: Type.String(),
  createdAt: Timestamp,
});
export type PublisherView = Static<typeof PublisherSchema>;
