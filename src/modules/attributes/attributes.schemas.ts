import { Type, type Static } from '@sinclair/typebox';
import { PROFILES } from './attribute-dictionary.js';

export const ProfileSchema = Type.Union(PROFILES.map((p) => Type.Literal(p)));

export const AttributeSchema = Type.Object({
  code: Type.String(),
  label: Type.String(),
  description: Type.String(),
  multiValued: Type.Boolean(),
  profiles: Type.Array(ProfileSchema, { description: 'profiles of the users it may be sent for' }),
  alwaysSent: Type.Boolean({ description: 'sent on every access without a request (only IDO)' }),
  origin: Type.Union([Type.Literal('observed'), Type.Literal('ours')], {
    description: '`observed` in public GAR integrations, or `ours` (fits the directory feed, not seen in public code)',
  }),
  degrees: Type.Array(Type.Union([Type.Literal(1), Type.Literal(2)]), {
    description: 'the establishment degrees whose feed has a source for it: 1 primary schools (GAR-ENT-1D), 2 secondary',
  }),
  formats: Type.Array(
    Type.Object({
      version: Type.Integer({ description: 'a resource keeps the version it was approved under until re-approved or it opts in' }),
      format: Type.String(),
      example: Type.String(),
    }),
    { description: 'the value as publishers parse it; the first is the current format, older ones follow' },
  ),
});
export type AttributeView = Static<typeof AttributeSchema>;

export const AttributeList = Type.Object({ items: Type.Array(AttributeSchema) });
