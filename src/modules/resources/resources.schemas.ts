import { Type, type Static } from '@sinclair/typebox';
import { Limit } from '../../lib/paging.js';
import { Timestamp } from '../../lib/http-schemas.js';
import { SamlOptionsView } from '../../doors/saml-idp/options.js';
import { CasInput, CasView } from '../../doors/cas/cas.registration.js';
import { OidcInput, OidcView, OidcWritten } from '../../doors/oidc/oidc.clients.js';

/** `ark:/NAAN/name`, as GAR identifies resources (e.g. `ark:/49591/Vittascience.p`). */
export const ARK_PATTERN = '^ark:/[0-9]{5,10}/[A-Za-z0-9][A-Za-z0-9=~*+@_$.:/-]*$';

export const ResourceIdParam = Type.String({
  pattern: ARK_PATTERN,
  maxLength: 1024,
  description: 'the resource ARK, URL-encoded in paths (e.g. `ark%3A%2F12345%2Fmaths`)',
});
export const ResourceParams = Type.Object({ resourceId: ResourceIdParam });

const HttpUrl = (description: string) => Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$', description });
const Certificate = (use: string) =>
  Type.String({ minLength: 1, maxLength: 20_000, description: `${use} certificate: PEM, or the base64 DER body as in metadata` });

export const SpFromMetadata = Type.Object(
  {
    metadataXml: Type.String({
      minLength: 1,
      maxLength: 256 * 1024,
      description:
        'SAML 2.0 metadata of the service provider (one md:EntityDescriptor with an SPSSODescriptor). ' +
        'At most 256 KiB; DOCTYPE and ENTITY declarations are refused.',
    }),
  },
  { additionalProperties: false, title: 'SpMetadata' },
);

export const SpFromFields = Type.Object(
  {
    entityId: Type.String({ minLength: 1, maxLength: 1024 }),
    acsUrl: HttpUrl('HTTP-POST AssertionConsumerService URL; https (http only for localhost)'),
    signingCertificate: Type.Optional(Certificate('signing')),
    encryptionCertificate: Type.Optional(Certificate('encryption')),
  },
  { additionalProperties: false, title: 'SpFields' },
);

export const SpInput = Type.Union([SpFromMetadata, SpFromFields], {
  description: 'the SAML service provider: its metadata, or the same fields given directly',
});
export type SpInput = Static<typeof SpInput>;

const resourceFields = {
  name: Type.String({ minLength: 1, maxLength: 255 }),
  typePresentation: Type.String({ minLength: 1, maxLength: 64, description: 'GAR presentation type code, e.g. MAN' }),
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  urlVignette: Type.Optional(HttpUrl('thumbnail URL')),
  urlAccesRessource: Type.Optional(HttpUrl('URL where the resource is opened')),
  resourceUrl: Type.Optional(
    HttpUrl('the landing page of the resource’s catalogue notice: where the `/domaineGar` entry link sends the browser (https)'),
  ),
  ssoMode: Type.Optional(
    Type.Union([Type.Literal('redirect'), Type.Literal('unsolicited')], {
      description:
        '`redirect` (GAR’s way, the default when `resourceUrl` is set): the entry link redirects to `resourceUrl` and the ' +
        'publisher’s SP-initiated login follows; `unsolicited` (the default otherwise): the broker posts a Response to the ACS',
    }),
  ),
  sp: Type.Optional(SpInput),
  // A resource is reached by at least one of sp, cas, oidc (checked by the route).
  cas: Type.Optional(CasInput),
  oidc: Type.Optional(OidcInput),
};

export const ResourceInput = Type.Object({ id: ResourceIdParam, ...resourceFields }, { additionalProperties: false });
export type ResourceInput = Static<typeof ResourceInput>;

export const ResourceUpdate = Type.Object(resourceFields, {
  additionalProperties: false,
  description: 'the whole resource again (the id comes from the path); the SP is checked as on creation',
});
export type ResourceUpdate = Static<typeof ResourceUpdate>;

const CertificateSummary = (what: string) =>
  Type.Object(
    {
      sha256: Type.String({ description: 'SHA-256 fingerprint of the certificate, hex bytes separated by colons' }),
      publicKey: Type.String({ description: 'key type and size, e.g. "RSA 2048"' }),
      notAfter: Timestamp,
    },
    { description: what },
  );

export const KeyUseSchema = Type.Object(
  {
    assertions: Type.Union([Type.Literal('encrypted'), Type.Literal('signed, not encrypted')], {
      description: 'what the SP receives: the Assertion is encrypted only for a key offered for encryption',
    }),
    encryption: Type.Optional(
      CertificateSummary('the key the Assertion is encrypted for (KeyDescriptor use="encryption", or without use)'),
    ),
    signing: Type.Optional(
      CertificateSummary("the key that checks the SP's own signatures (KeyDescriptor use=\"signing\", or without use); never used to encrypt"),
    ),
  },
  { description: 'which certificate is used for what' },
);

export const ServiceProviderSchema = Type.Object({
  entityId: Type.String(),
  acsUrl: Type.String(),
  signingCertificate: Type.Optional(Type.String({ description: 'PEM' })),
  encryptionCertificate: Type.Optional(Type.String({ description: 'PEM' })),
  fromMetadata: Type.Boolean({ description: 'whether it was imported from metadata XML' }),
  keyUse: KeyUseSchema,
  requestedAttributes: Type.Array(Type.String(), {
    description: 'dictionary codes of the RequestedAttribute elements of the metadata: a suggestion, never an approval',
  }),
});

export const IdoScope = Type.Union([Type.Literal('project'), Type.Literal('pairwise'), Type.Literal('stable')], {
  description:
    'project: one IDO per person and ENT project, the same for every publisher (as GAR); ' +
    'pairwise: one IDO per person, ENT project and publisher, shared by all of that publisher’s resources and SPs; ' +
    'stable: one IDO per person and publisher that survives a move to another ENT project when an operator linked the ' +
    'two records (PUT /v1/people/{entId}/{personId}/link); a keyed hash, never derived from anything the publisher sees',
});
export const IdoScopeInput = Type.Object({ idoScope: IdoScope }, { additionalProperties: false });

export const ResourceSchema = Type.Object({
  id: Type.String(),
  publisherId: Type.String(),
  name: Type.String(),
  typePresentation: Type.String(),
  description: Type.Optional(Type.String()),
  urlVignette: Type.Optional(Type.String()),
  urlAccesRessource: Type.Optional(Type.String()),
  resourceUrl: Type.Optional(Type.String()),
  ssoMode: Type.Union([Type.Literal('redirect'), Type.Literal('unsolicited')], { description: 'as stored, or its default' }),
  samlOptions: SamlOptionsView,
  idoScope: IdoScope,
  sp: Type.Optional(ServiceProviderSchema),
  cas: Type.Optional(CasView),
  oidc: Type.Optional(OidcView),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ResourceView = Static<typeof ResourceSchema>;

export const ResourceWritten = Type.Object({
  ...ResourceSchema.properties,
  oidc: Type.Optional(OidcWritten),
  warnings: Type.Array(Type.String(), {
    description: 'what was accepted but ignored, e.g. RequestedAttribute names outside the dictionary',
  }),
});

export const ResourceListQuery = Type.Object({
  limit: Limit(),
  after: Type.Optional(Type.String({ maxLength: 1024, description: 'the `next` cursor of the previous page' })),
  publisherId: Type.Optional(Type.String({ maxLength: 64, description: 'ministry and operator: only this publisher' })),
});
