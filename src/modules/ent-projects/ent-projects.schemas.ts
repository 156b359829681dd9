import { Type, type Static } from '@sinclair/typebox';
import { UAI_PATTERN } from '../../lib/uai.js';
import { Timestamp } from '../../lib/http-schemas.js';
import { ASSIGNMENT_RULES, type AssignmentRule } from '../directory/assignment-policy.js';

export const EntIdParam = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'ENT project id (idENT), e.g. Z0' });
export const UaiParam = Type.String({ pattern: UAI_PATTERN, description: 'UAI: 7 digits and a check letter' });

export const AssignmentPolicySchema = Type.Array(
  Type.Unsafe<AssignmentRule>({ type: 'string', enum: [...ASSIGNMENT_RULES] }),
  {
    minItems: 1,
    maxItems: ASSIGNMENT_RULES.length,
    uniqueItems: true,
    description:
      'Who may assign resources at the project’s schools; the rules add up. `respaff`: the people its GAR-ENT-RespAff ' +
      'feed names for the school (default). `heads`: also the heads and teacher-librarians present there ' +
      '(National_dir, National_doc). `primary-teachers`: also every teacher present at a primary school (degree 1).',
  },
);

export const EntProjectInput = Type.Object({
  id: EntIdParam,
  name: Type.String({ minLength: 1, maxLength: 255 }),
  kind: Type.Union([Type.Literal('ent'), Type.Literal('edugar')]),
  assignmentPolicy: Type.Optional(AssignmentPolicySchema),
});
export type EntProjectInput = Static<typeof EntProjectInput>;

export const EntProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('ent'), Type.Literal('edugar')]),
  createdAt: Timestamp,
  establishmentCount: Type.Integer(),
  assignmentPolicy: AssignmentPolicySchema,
});

export const AssignmentPolicyInput = Type.Object({ assignmentPolicy: AssignmentPolicySchema }, { additionalProperties: false });
export type EntProjectView = Static<typeof EntProjectSchema>;

export const EstablishmentInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  degree: Type.Optional(
    Type.Union([Type.Literal(1), Type.Literal(2)], { description: '1: primary school (GAR-ENT-1D feed); 2: secondary (default)' }),
  ),
});

export const EstablishmentSchema = Type.Object({
  uai: Type.String(),
  entId: Type.String(),
  name: Type.String(),
  degree: Type.Union([Type.Literal(1), Type.Literal(2)], { description: '1: primary school; 2: secondary' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type EstablishmentView = Static<typeof EstablishmentSchema>;
