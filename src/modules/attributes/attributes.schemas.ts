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
});
export type AttributeView = Static<typeof AttributeSchema>;

export const AttributeList = Type.Object({ items: Type.Array(AttributeSchema) });
