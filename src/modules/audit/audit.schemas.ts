import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../../lib/http-schemas.js';
import { Limit, Period } from '../../lib/paging.js';

export const AuditQuery = Type.Object({
  ...Period,
  actor: Type.Optional(Type.String({ maxLength: 256, description: 'token `sub` of the actor' })),
  objectType: Type.Optional(Type.String({ maxLength: 100, description: 'e.g. `resources`, `establishments.directory`' })),
  objectId: Type.Optional(Type.String({ maxLength: 1100 })),
  limit: Limit(1000),
  after: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: 'the `next` cursor of the previous page' })),
});
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actorSub: Type.String(),
  actorRole: Type.String(),
  action: Type.String({ description: 'method and route, e.g. `PUT /v1/resources/:resourceId`' }),
  objectType: Type.String(),
  objectId: Type.Union([Type.String(), Type.Null()]),
  fields: Type.Array(Type.String(), { description: 'names of the fields the change carried, never their values' }),
  status: Type.Integer(),
  requestId: Type.Union([Type.String(), Type.Null()]),
});
export type AuditEntry = Static<typeof AuditEntry>;
