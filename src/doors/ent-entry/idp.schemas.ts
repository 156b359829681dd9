import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../../lib/http-schemas.js';

const AttributeNames = Type.Object(
  {
    entId: Type.String({ minLength: 1, maxLength: 256, description: 'attribute carrying the ENT project code (default idEnt)' }),
    personId: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'attribute carrying the ENT’s id of the person (the id of the directory feed)',
    }),
  },
  { additionalProperties: false, description: 'how the IdP names the two attributes the broker reads (Name, else FriendlyName)' },
);

const common = {
  attributeNames: Type.Optional(AttributeNames),
  allowSha1: Type.Optional(
    Type.Boolean({

      description: 'accept RSA-SHA1 signatures and SHA-1 digests (deployed ENT IdPs sign that way); default true; counted in the metrics',
    }),
  ),
};

export const IdpFromMetadata = Type.Object(
  {
    metadataXml: Type.String({
      minLength: 1,
      maxLength: 256 * 1024,
      description: 'SAML 2.0 metadata of the IdP: entityID, an HTTP-Redirect SingleSignOnService, signing KeyDescriptors. At most 256 KiB, no DOCTYPE.',
    }),
    ...common,
  },
  { additionalProperties: false, title: 'IdpMetadata' },
);

export const IdpFromFields = Type.Object(
  {
    entityId: Type.String({ minLength: 1, maxLength: 1024 }),
    ssoUrl: Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$', description: 'SingleSignOnService URL (https; http only for localhost)' }),
    ssoBinding: Type.Optional(Type.Literal('HTTP-Redirect', { description: 'the binding the broker sends AuthnRequests with' })),
    sloUrl: Type.Optional(
      Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$', description: 'HTTP-Redirect SingleLogoutService URL, where the broker answers a logout the ENT starts' }),
    ),
    signingCertificates: Type.Array(Type.String({ minLength: 1, maxLength: 20_000 }), {
      minItems: 1,
      maxItems: 4,
      description: 'PEM or base64 DER; several during a key rollover',
    }),
    ...common,
  },
  { additionalProperties: false, title: 'IdpFields' },
);

export const IdpInput = Type.Union([IdpFromMetadata, IdpFromFields]);
export type IdpInput = Static<typeof IdpInput>;

export const IdpSchema = Type.Object({
  entId: Type.String(),
  entityId: Type.String(),
  ssoUrl: Type.String(),
  ssoBinding: Type.Literal('HTTP-Redirect'),
  signingCertificates: Type.Array(Type.String({ description: 'PEM' })),
  fromMetadata: Type.Boolean(),
  attributeNames: Type.Object({ entId: Type.String(), personId: Type.String() }),
  allowSha1: Type.Boolean(),
  sloUrl: Type.Union([Type.String(), Type.Null()], { description: 'the IdP’s HTTP-Redirect SingleLogoutService; null: an ENT-started logout ends the broker session without an answer to the IdP' }),
  sharedWith: Type.Array(Type.String(), { description: 'other ENT projects registered with the same IdP entityID' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type IdpView = Static<typeof IdpSchema>;

export const IdpWritten = Type.Object({
  ...IdpSchema.properties,
  warnings: Type.Array(Type.String(), { description: 'what was accepted but left out, e.g. an expired certificate of a rollover' }),
});
