import { Type, type Static } from '@sinclair/typebox';
import { Limit } from '../../lib/paging.js';
import { Timestamp } from '../../lib/http-schemas.js';
import { UAI_PATTERN } from '../../lib/uai.js';
import { AUDIENCES } from './audiences.js';

/** GAR's idAbonnement: chosen by the publisher, ≤ 45 characters, no white space, not starting with `_`. */
export const SubscriptionId = Type.String({
  pattern: '^[^\\s_]\\S{0,44}$',
  minLength: 1,
  maxLength: 45,
  description: 'publisher-chosen id (idAbonnement): 1 to 45 characters, no white space, not starting with "_"',
});

export const AudienceSchema = Type.Union(AUDIENCES.map((a) => Type.Literal(a)), {
  description: 'target audience (publicCible)',
});

export const LicenceCount = Type.Union([Type.Integer({ minimum: 0, maximum: 10_000_000 }), Type.Literal('unlimited')], {
  description: 'a number of licences, or "unlimited" (ILLIMITE)',
});

/**
 * Either `{global}` (nbLicenceGlobale) or the four per-audience counts (nbLicenceEleve,
 * nbLicenceEnseignant, nbLicenceProfDoc, nbLicenceAutrePersonnel), never both. The form is checked
 * after the schema so that the problem can say exactly what is wrong.
 */
export const LicencesInput = Type.Object(
  {
    global: Type.Optional(LicenceCount),
    pupils: Type.Optional(LicenceCount),
    teachers: Type.Optional(LicenceCount),
    librarians: Type.Optional(LicenceCount),
    otherStaff: Type.Optional(LicenceCount),
  },
  {
    additionalProperties: false,
    description: 'either {global} or all four of {pupils, teachers, librarians, otherStaff}; each a number or "unlimited"',
  },
);

const subscriptionFields = {
  resourceId: Type.String({ minLength: 1, maxLength: 1024, description: 'the ARK of one of your resources (idRessource)' }),
  uai: Type.String({ pattern: UAI_PATTERN, description: 'the establishment (uaiEtab); cannot change after creation' }),
  startsAt: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'start of validity (debutValidite). Required with endsAt; with schoolYear it defaults to 1 September 00:00 Europe/Paris',
    }),
  ),
  endsAt: Type.Optional(Type.String({ format: 'date-time', description: 'end of validity (finValidite), exclusive. Give endsAt or schoolYear' })),
  schoolYear: Type.Optional(
    Type.String({
      pattern: '^[0-9]{4}-[0-9]{4}$',
      description:
        'school year of the end of validity (anneeFinValidite), e.g. 2025-2026: valid until 31 August 2026 24:00 Europe/Paris (endsAt = 2026-09-01T00:00 Paris, exclusive)',
    }),
  ),
  assignmentType: Type.Union([Type.Literal('INDIV'), Type.Literal('ETABL')], {
    description: 'INDIV: licences are assigned to people; ETABL: everyone of the audiences at the UAI',
  }),
  audiences: Type.Array(AudienceSchema, { minItems: 1, maxItems: 4, uniqueItems: true }),
  licences: LicencesInput,
  comment: Type.Optional(Type.String({ maxLength: 255, description: 'commentaireAbonnement' })),
};

export const SubscriptionInput = Type.Object({ id: SubscriptionId, ...subscriptionFields }, { additionalProperties: false });
export type SubscriptionInput = Static<typeof SubscriptionInput>;

export const SubscriptionUpdate = Type.Object(
  { id: Type.Optional(SubscriptionId), ...subscriptionFields },
  { additionalProperties: false, description: 'the whole subscription; the UAI must stay the same' },
);
export type SubscriptionUpdate = Static<typeof SubscriptionUpdate>;

export const LicencesSchema = Type.Union([
  Type.Object({ global: LicenceCount }),
  Type.Object({ pupils: LicenceCount, teachers: LicenceCount, librarians: LicenceCount, otherStaff: LicenceCount }),
]);

export const AudienceUsage = Type.Object({
  audience: AudienceSchema,
  used: Type.Integer({ description: 'distinct present people of this audience covered by the assignments' }),
  total: Type.Optional(LicenceCount),
  left: Type.Optional(LicenceCount),
});

export const UsageSchema = Type.Object(
  {
    enforced: Type.Boolean({ description: 'false for ETABL subscriptions, which cover everyone without counting' }),
    total: LicenceCount,
    used: Type.Integer(),
    left: LicenceCount,
    audiences: Type.Array(AudienceUsage, {
      description: 'per audience; total and left are given for the per-audience licence form',
    }),
  },
  {
    description:
      'licences used and left. "used" counts distinct people, present at the UAI, covered by the assignments (ETABL: everyone of the audiences). ' +
      'Class and group assignments follow the directory, so "used" may pass "total" after a class grows; "left" is then 0.',
  },
);
export type Usage = Static<typeof UsageSchema>;

export const SubscriptionSchema = Type.Object({
  id: Type.String(),
  publisherId: Type.String(),
  resourceId: Type.String(),
  resourceName: Type.String(),
  uai: Type.String(),
  startsAt: Timestamp,
  endsAt: Timestamp,
  schoolYear: Type.Optional(Type.String()),
  assignmentType: Type.Union([Type.Literal('INDIV'), Type.Literal('ETABL')]),
  audiences: Type.Array(AudienceSchema),
  licences: LicencesSchema,
  comment: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('valid'), Type.Literal('not_started'), Type.Literal('expired')], { description: 'at the time of the answer' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  usage: Type.Optional(UsageSchema),
  // Set through GAR's subscription service (/ws/abonnement): shown here so that both APIs say the same.
  category: Type.Optional(Type.Union([Type.Literal('transferable'), Type.Literal('non transferable')], { description: 'GAR categorieAffectation' })),
  projectCode: Type.Optional(Type.String({ description: 'GAR codeProjetRessource' })),
  resourceLabel: Type.Optional(Type.String({ description: 'GAR libelleRessource, as the publisher sent it' })),
});
export type SubscriptionView = Static<typeof SubscriptionSchema>;

export const SubscriptionListQuery = Type.Object({
  uai: Type.Optional(Type.String({ pattern: UAI_PATTERN })),
  resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  assignmentType: Type.Optional(Type.Union([Type.Literal('INDIV'), Type.Literal('ETABL')])),
  audience: Type.Optional(AudienceSchema),
  limit: Limit(),
  after: Type.Optional(Type.String({ maxLength: 1024, description: 'the `next` cursor of the previous page' })),
});

export const SubscriptionIdParams = Type.Object({ id: SubscriptionId });
