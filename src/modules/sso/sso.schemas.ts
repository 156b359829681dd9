import { Type, type Static } from '@sinclair/typebox';
import { UAI_PATTERN } from '../../lib/uai.js';

export const SsoRequest = Type.Object({
  uai: Type.String({ pattern: UAI_PATTERN }),
  personId: Type.String({ minLength: 1, maxLength: 64, description: 'the ENT’s id of the person' }),
  resourceId: Type.String({ minLength: 1, maxLength: 1024, description: 'the resource’s ARK' }),
  // SAML bindings 3.5.3: RelayState MUST NOT exceed 80 bytes.
  relayState: Type.Optional(Type.String({ maxLength: 80 })),
});
export type SsoRequest = Static<typeof SsoRequest>;

export const SsoGranted = Type.Object({
  destination: Type.String({ description: 'the publisher’s AssertionConsumerService URL' }),
  binding: Type.Literal('HTTP-POST'),
  samlResponse: Type.String({ description: 'base64 of the signed SAML Response, to POST as SAMLResponse' }),
  relayState: Type.Optional(Type.String()),
  attributes: Type.Array(Type.String(), { description: 'names of the released attributes' }),
  expiresAt: Type.String({ format: 'date-time', description: 'NotOnOrAfter of the assertion' }),
});
export type SsoGranted = Static<typeof SsoGranted>;
