/** Every way into a resource. Each door translates its protocol; deciding, releasing and recording are in access.ts. */
export const DOORS = ['api_sso', 'entry_link', 'saml_idp', 'cas', 'oidc'] as const;
export type Door = (typeof DOORS)[number];
