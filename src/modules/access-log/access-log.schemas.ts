import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../../lib/http-schemas.js';
import { Limit, Period } from '../../lib/paging.js';
import { DOORS } from '../../access/doors.js';

export const AccessOutcome = Type.Union([Type.Literal('granted'), Type.Literal('refused'), Type.Literal('error')], {
  description: '`error`: granted, but the answer could not be built; nothing was sent',
});
export const AccessDoor = Type.Union(DOORS.map((d) => Type.Literal(d)), {
  description: 'the way in: `api_sso` (POST /v1/sso), `entry_link` (/domaineGar), `saml_idp`, `cas`, `oidc`',
});

export const AccessLogQuery = Type.Object({
  ...Period,
  resourceId: Type.Optional(Type.String({ maxLength: 1024 })),
  uai: Type.Optional(Type.String({ maxLength: 8 })),
  outcome: Type.Optional(AccessOutcome),
  door: Type.Optional(AccessDoor),
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
  outcome: AccessOutcome,
  door: AccessDoor,
  reason: Type.Union([Type.String(), Type.Null()]),
  attributes: Type.Array(Type.String(), { description: 'names of the released attributes (never values)' }),
  keyId: Type.Union([Type.String(), Type.Null()]),
  responseId: Type.Union([Type.String(), Type.Null()]),
  clientIp: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
});
export type AccessLogEntry = Static<typeof AccessLogEntry>;
