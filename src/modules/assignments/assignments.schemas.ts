import { Type, type Static } from '@sinclair/typebox';
import { Limit } from '../../lib/paging.js';
import { Timestamp } from '../../lib/http-schemas.js';
import { UAI_PATTERN } from '../../lib/uai.js';
import { SubscriptionId } from '../subscriptions/subscriptions.schemas.js';

export const UaiParams = Type.Object({ uai: Type.String({ pattern: UAI_PATTERN, description: 'UAI: 7 digits and a check letter' }) });

export const TargetType = Type.Union(
  [Type.Literal('person'), Type.Literal('division'), Type.Literal('group'), Type.Literal('profile'), Type.Literal('establishment')],
  { description: 'person (id = the ENT person id), division or group (id = its code), profile (id = National_elv, ...), establishment (no id)' },
);

export const TargetSchema = Type.Object(
  {
    type: TargetType,
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const AssignmentInput = Type.Object(
  {
    subscriptionId: SubscriptionId,
    publisherId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'needed only when two publishers use the same subscription id at this establishment',
      }),
    ),
    target: TargetSchema,
  },
  { additionalProperties: false },
);
export type AssignmentInput = Static<typeof AssignmentInput>;

export const AssignmentSchema = Type.Object({
  id: Type.String({ description: 'the assignment id, for DELETE' }),
  uai: Type.String(),
  subscriptionId: Type.String(),
  publisherId: Type.String(),
  resourceId: Type.String(),
  target: Type.Object({ type: TargetType, id: Type.Optional(Type.String()), name: Type.Optional(Type.String()) }),
  createdAt: Timestamp,
  createdBy: Type.String({ description: 'who assigned: the token sub (for an establishment token, the person’s ENT id)' }),
  createdAs: Type.Optional(
    Type.String({ description: 'why they could: the rule of the assignment policy (respaff, heads, primary-teachers) or operator' }),
  ),
  detachedAt: Type.Optional(
    Type.String({ format: 'date-time', description: 'set while the group is absent from the directory: the assignment grants nothing, comes back with the group, and is deleted by retention' }),
  ),
});
export type AssignmentView = Static<typeof AssignmentSchema>;

export const AssignmentListQuery = Type.Object({
  subscriptionId: Type.Optional(SubscriptionId),
  limit: Limit(),
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the `next` cursor of the previous page' })),
});

export const AssignmentParams = Type.Object({
  uai: Type.String({ pattern: UAI_PATTERN }),
  assignmentId: Type.String({ pattern: '^[0-9]{1,15}$' }),
});

export const PageAfterPk = Type.Object({
  limit: Limit(),
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the `next` cursor of the previous page' })),
});
