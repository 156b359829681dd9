import { Type, type Static } from '@sinclair/typebox';

/** The publisher's per-SP choices (resources.sp_options). Absent keys take the defaults below. */
export const SamlOptionsInput = Type.Object(
  {
    signing: Type.Optional(
      Type.Union([Type.Literal('both'), Type.Literal('assertion'), Type.Literal('response')], {
        description: 'what the broker signs: the Assertion, the Response, or both (default)',
      }),
    ),
    encrypt: Type.Optional(
      Type.Boolean({ description: 'encrypt the Assertion; default: when the SP registered an encryption certificate' }),
    ),
    attributeNameFormat: Type.Optional(
      Type.Union([Type.Literal('basic'), Type.Literal('uri')], { description: 'NameFormat of the attributes (default basic, as GAR)' }),
    ),
    requireSignedAuthnRequests: Type.Optional(
      Type.Boolean({ description: 'refuse unsigned AuthnRequests even when the SP metadata does not declare AuthnRequestsSigned' }),
    ),
  },
  { additionalProperties: false },
);
export type SamlOptionsInput = Static<typeof SamlOptionsInput>;

export const SamlOptionsView = Type.Object({
  signing: Type.Union([Type.Literal('both'), Type.Literal('assertion'), Type.Literal('response')]),
  encrypt: Type.Boolean({ description: 'effective: the choice, else whether an encryption certificate is registered' }),
  attributeNameFormat: Type.Union([Type.Literal('basic'), Type.Literal('uri')]),
  requireSignedAuthnRequests: Type.Boolean(),
});
export type SamlOptions = Static<typeof SamlOptionsView>;

/** Stored options with the defaults filled in. */
export function effectiveOptions(stored: unknown, hasEncryptionCertificate: boolean): SamlOptions {
  const o = (stored && typeof stored === 'object' ? stored : {}) as SamlOptionsInput;
  return {
    signing: o.signing ?? 'both',
    encrypt: hasEncryptionCertificate && (o.encrypt ?? true),
    attributeNameFormat: o.attributeNameFormat ?? 'basic',
    requireSignedAuthnRequests: o.requireSignedAuthnRequests ?? false,
  };
}
