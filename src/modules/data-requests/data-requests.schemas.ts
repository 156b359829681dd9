import { Type, type Static } from '@sinclair/typebox';
import { Limit } from '../../lib/paging.js';
import { Timestamp } from '../../lib/http-schemas.js';

const Text = (description: string) => Type.String({ minLength: 1, maxLength: 2000, pattern: '\\S', description });
const Code = Type.String({ minLength: 1, maxLength: 64, description: 'attribute code from GET /v1/attributes' });

export const DataRequestStatus = Type.Union([Type.Literal('pending'), Type.Literal('reviewed'), Type.Literal('superseded')]);

export const DataRequestInput = Type.Object(
  {
    attributes: Type.Array(Type.Object({ code: Code, purpose: Text('why the resource needs it') }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 64,
      description:
        "the resource's complete declaration of needs. IDO is always sent and is not requested; codes outside the " +
        'dictionary (birth date, birth name, other first names, ...) are refused.',
    }),
  },
  { additionalProperties: false },
);
export type DataRequestInput = Static<typeof DataRequestInput>;

export const ReviewInput = Type.Object(
  {
    decisions: Type.Array(
      Type.Object({ code: Code, approved: Type.Boolean(), comment: Text('the reason of the decision') }, { additionalProperties: false }),
      { minItems: 1, maxItems: 64, description: 'exactly one decision for every requested attribute' },
    ),
  },
  { additionalProperties: false },
);
export type ReviewInput = Static<typeof ReviewInput>;

export const DataRequestItemSchema = Type.Object({
  code: Type.String(),
  label: Type.String(),
  purpose: Type.String(),
  approved: Type.Union([Type.Boolean(), Type.Null()], { description: 'null until reviewed' }),
  comment: Type.Union([Type.String(), Type.Null()], { description: "the reviewer's reason, null until reviewed" }),
});

export const DataRequestSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  resourceId: Type.String(),
  resourceName: Type.String(),
  publisherId: Type.String(),
  status: DataRequestStatus,
  attributes: Type.Array(DataRequestItemSchema),
  notFromPrimarySchools: Type.Array(Type.String(), {
    description:
      'codes of this request that a primary school (degree 1) cannot provide: its GAR-ENT-1D feed has no source for them, ' +
      'so users of primary schools never receive them, even approved (see `degrees` in GET /v1/attributes)',
  }),
  submittedAt: Timestamp,
  submittedBy: Type.String({ description: 'token `sub` of the submitter' }),
  reviewedAt: Type.Optional(Timestamp),
  reviewedBy: Type.Optional(Type.String({ description: 'token `sub` of the reviewer' })),
});
export type DataRequestView = Static<typeof DataRequestSchema>;

export const DataRequestCreated = Type.Object({
  ...DataRequestSchema.properties,
  suggested: Type.Array(Type.String(), {
    description: 'codes the SP metadata requests (RequestedAttribute): a starting point, never approved by themselves',
  }),
  withdrawn: Type.Array(Type.String(), {
    description: 'approved attributes this request no longer lists: no longer released, from now on',
  }),
});

export const ReviewedRequest = Type.Object({
  ...DataRequestSchema.properties,
  released: Type.Array(Type.String(), { description: "the resource's released set now: exactly the approved codes" }),
});

export const RequestParams = Type.Object({ requestId: Type.String({ format: 'uuid' }) });

export const DataRequestListQuery = Type.Object({
  status: Type.Optional(DataRequestStatus),
  limit: Limit(),
  after: Type.Optional(Type.String({ maxLength: 200, description: 'the `next` cursor of the previous page' })),
});

export const DataPolicySchema = Type.Object({
  resourceId: Type.String(),
  requested: Type.Union([DataRequestSchema, Type.Null()], { description: 'the latest data request, whatever its status' }),
  approved: Type.Array(
    Type.Object({
      code: Type.String(),
      label: Type.String(),
      purpose: Type.String(),
      comment: Type.Union([Type.String(), Type.Null()]),
      approvedAt: Timestamp,
      requestId: Type.String(),
      formatVersion: Type.Integer({
        description: 'the value format it is sent in (GET /v1/attributes `formats`): the one current when it was approved, or opted in to',
      }),
      currentFormatVersion: Type.Integer({
        description: 'the current format; when higher, PUT /v1/resources/{resourceId}/attribute-formats (publisher) or a new review switches to it',
      }),
    }),
    { description: 'what may be released now (besides IDO, always sent), with the purposes that were approved' },
  ),
  releasedLast30Days: Type.Array(Type.Object({ code: Type.String(), accesses: Type.Integer() }), {
    description:
      'attributes actually sent in the last 30 days (IDO included), with the number of granted accesses that carried them, from the access log',
  }),
});
export type DataPolicyView = Static<typeof DataPolicySchema>;

export const AdoptFormatsInput = Type.Object(
  {
    codes: Type.Optional(
      Type.Array(Code, {
        maxItems: 64,
        description: 'the released codes to switch to their current format; omitted: every released code',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AdoptFormatsInput = Static<typeof AdoptFormatsInput>;

export const AdoptedFormats = Type.Object({
  resourceId: Type.String(),
  approved: DataPolicySchema.properties.approved,
});
