import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from '../../lib/http-schemas.js';

export const PersonParams = Type.Object({
  entId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  personId: Type.String({ minLength: 1, maxLength: 64 }),
});

export const RestrictionKind = Type.Union([Type.Literal('restriction'), Type.Literal('objection')], {
  description: 'GDPR art. 18 (restriction) or art. 21 (objection); either stops every release of the person’s data',
});

export const RestrictionInput = Type.Object({
  kind: Type.Optional(RestrictionKind),
});
export const RestrictionQuery = Type.Object({ kind: Type.Optional(RestrictionKind) });

export const RestrictionState = Type.Object({
  entId: Type.String(),
  personId: Type.String(),
  restrictedAt: Type.Union([Timestamp, Type.Null()]),
  objectedAt: Type.Union([Timestamp, Type.Null()]),
});
export type RestrictionState = Static<typeof RestrictionState>;


export const PersonExport = Type.Object({
  entId: Type.String(),
  personId: Type.String(),
  exportedAt: Timestamp,
  assignmentManager: Nullable(
    Type.Object(
      {
        lastName: Type.String(),
        firstName: Type.String(),
        email: Type.String(),
        uais: Type.Array(Type.String()),
        lastNamedAt: Timestamp,
      },
      { description: "as a responsable d'affectation, from the RespAff export (null if not one)" },
    ),
  ),
  directory: Type.Object({
    lastName: Type.String(),
    firstName: Type.String(),
    otherFirstNames: Type.Array(Type.String()),
    birthName: Nullable(Type.String()),
    civility: Nullable(Type.String()),
    birthDate: Nullable(Type.String({ description: 'kept only to tell people apart; never released' })),
    emails: Type.Array(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    goneAt: Nullable(Timestamp),
    restrictedAt: Nullable(Timestamp),
    objectedAt: Nullable(Timestamp),
  }),
  establishments: Type.Array(
    Type.Object({ uai: Type.String(), profiles: Type.Array(Type.String()), mefs: Type.Array(Type.String()), subjects: Type.Array(Type.String()), goneAt: Nullable(Timestamp) }),
  ),
  memberships: Type.Array(Type.Object({ uai: Type.String(), code: Type.String(), kind: Type.String(), teaches: Type.Boolean(), subjects: Type.Array(Type.String()) })),
  assignments: Type.Array(Type.Object({ uai: Type.String(), subscriptionId: Type.String(), resourceId: Type.String(), createdAt: Timestamp })),
  accesses: Type.Array(
    Type.Object({
      at: Timestamp,
      uai: Type.String(),
      resourceId: Type.String(),
      publisherId: Nullable(Type.String()),
      outcome: Type.String(),
      reason: Nullable(Type.String()),
      attributes: Type.Array(Type.String(), { description: 'names of the attributes sent to the publisher' }),
    }),
  ),
  projectLink: Type.Optional(
    Nullable(
      Type.Object(
        { confirmedAt: Timestamp, linkedRecords: Type.Integer() },
        { description: 'an operator confirmed this record is the same person as records of other ENT projects (stable identifiers)' },
      ),
    ),
  ),
});
export type PersonExport = Static<typeof PersonExport>;
