import { Type, type Static } from '@sinclair/typebox';
import { UAI_PATTERN } from '../../lib/uai.js';
import { Timestamp } from '../../lib/http-schemas.js';

export const EntIdParam = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'ENT project id (idENT), e.g. Z0' });
export const UaiParam = Type.String({ pattern: UAI_PATTERN, description: 'UAI: 7 digits and a check letter' });

export const EntProjectInput = Type.Object({
  id: EntIdParam,
  name: Type.String({ minLength: 1, maxLength: 255 }),
  kind: Type.Union([Type.Literal('ent'), Type.Literal('edugar')]),
});
export type EntProjectInput = Static<typeof EntProjectInput>;

export const EntProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('ent'), Type.Literal('edugar')]),
  createdAt: Timestamp,
  establishmentCount: Type.Integer(),
});
export type EntProjectView = Static<typeof EntProjectSchema>;

export const EstablishmentInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
});

export const EstablishmentSchema = Type.Object({
  uai: Type.String(),
  entId: Type.String(),
  name: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type EstablishmentView = Static<typeof EstablishmentSchema>;
