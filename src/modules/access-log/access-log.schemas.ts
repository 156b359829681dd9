import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../../lib/http-schemas.js';
import { Limit, Period } from '../../lib/paging.js';

export const AccessLogQuery = Type.Object({
  ...Period,
  resourceId: Type.Optional(Type.String({ maxLength: 1024 })),
  uai: Type.Optional(Type.String({ maxLength: 8 })),
  outcome: Type.Optional(Type.Union([Type.Literal('granted'), Type.Literal('refused')])),
  limit: Limit(1000),
  after: Type.Optional(Type.String({ maxLength: 200, description: 'the `next` cursor of the previous page' })),
});
export type AccessLogQuery = Static<typeof AccessLogQuery>;

export const AccessLogEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  entId: Type.String(),
  uai: Type.String(),
  personRef: Type.Union([Type.Integer(), Type.Null()], { description: 'internal person reference, never a name' }),
  profile: Type.Union([Type.String(), Type.Null()]),
  resourceId: Type.String(),
  publisherId: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('granted'), Type.Literal('refused')]),
  reason: Type.Union([Type.String(), Type.Null()]),
  attributes: Type.Array(Type.String(), { description: 'names of the released attributes (never values)' }),
  keyId: Type.Union([Type.String(), Type.Null()]),
  responseId: Type.Union([Type.String(), Type.Null()]),
  clientIp: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
});
export type AccessLogEntry = Static<typeof AccessLogEntry>;
