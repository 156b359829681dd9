import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { findPublisher } from '../publishers/publishers.repository.js';
import {
  ResourceInput,
  ResourceListQuery,
  ResourceParams,
  ResourceSchema,
  ResourceUpdate,
  ResourceWritten,
} from './resources.schemas.js';
import { findResource, insertResource, listResources, resourceIdForEntityId, updateResource } from './resources.repository.js';
import { checkEntryFields, resolveServiceProvider, visibleResource } from './resources.service.js';

const tags = ['resources'];

async function assertEntityIdFree(db: Kysely<Database>, entityId: string, resourceId: string): Promise<void> {
  const holder = await resourceIdForEntityId(db, entityId);
  if (holder !== undefined && holder !== resourceId) {
    throw errors.conflict(`SP entityID "${entityId}" is not available`);
  }
}

/** Publisher: registers and updates its resources. */
export const resourcesWriteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/resources',
    {
      schema: {
        tags,
        summary: 'Register a resource with its SAML service provider (publisher)',
        description:
          'The SP is given as metadata XML (entityID, HTTP-POST AssertionConsumerService, signing and encryption ' +
          'KeyDescriptors and RequestedAttribute elements are read from it) or as the same fields directly. ' +
          'Refused: a malformed ARK, a non-https ACS (http only for localhost), certificates that do not parse or ' +
          'have expired, metadata that is not well-formed, larger than 256 KiB or carrying a DOCTYPE/ENTITY. ' +
          '409 "not available" when the id or the entityID is already used (by you or anyone).',
        body: ResourceInput,
        response: { 201: ResourceWritten, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      if (caller.role !== 'publisher') throw errors.forbidden('only publishers register resources');
      const { id, sp, ...fields } = request.body;
      checkEntryFields(fields);
      const resolved = resolveServiceProvider(sp, app.clock());
      if (!(await findPublisher(app.db, caller.publisherId))) {
        throw errors.forbidden(`publisher "${caller.publisherId}" is not registered; ask the operator to onboard it`);
      }
      // The same words whoever holds the id: the answer must not tell another publisher's from yours.
      if (await findResource(app.db, id)) throw errors.conflict(`resource id "${id}" is not available`);
      await assertEntityIdFree(app.db, resolved.entityId, id);
      const created = await insertResource(app.db, id, caller.publisherId, fields, resolved, app.clock());
      return reply.status(201).send({ ...created, warnings: resolved.warnings });
    },
  );

  app.put(
    '/resources/:resourceId',
    {
      schema: {
        tags,
        summary: 'Replace a resource and its SAML service provider (publisher, own resources)',
        description: 'Same checks as on creation. Data requests and the released attributes are kept.',
        params: ResourceParams,
        body: ResourceUpdate,
        response: { 200: ResourceWritten, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { resourceId } = request.params;
      await visibleResource(app.db, request.caller, resourceId);
      const { sp, ...fields } = request.body;
      checkEntryFields(fields);
      const resolved = resolveServiceProvider(sp, app.clock());
      await assertEntityIdFree(app.db, resolved.entityId, resourceId);
      const updated = await updateResource(app.db, resourceId, fields, resolved, app.clock());
      if (!updated) throw errors.notFound('resource', resourceId);
      return { ...updated, warnings: resolved.warnings };
    },
  );
};

/** Publisher (its own), ministry and operator (all): read resources. */
export const resourcesReadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/resources',
    {
      schema: {
        tags,
        summary: 'List resources: a publisher its own, the ministry and the operator all (or one publisher\'s)',
        querystring: ResourceListQuery,
        response: { 200: ListOf(ResourceSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, after, publisherId } = request.query;
      const caller = request.caller;
      const filter = caller.role === 'publisher' ? { publisherId: caller.publisherId } : publisherId ? { publisherId } : {};
      if (caller.role === 'publisher' && publisherId !== undefined && publisherId !== caller.publisherId) {
        throw errors.forbidden('a publisher lists only its own resources');
      }
      return page(await listResources(app.db, filter, limit + 1, after), limit, (r) => r.id);
    },
  );

  app.get(
    '/resources/:resourceId',
    {
      schema: {
        tags,
        summary: 'Read one resource (its publisher, the ministry, the operator)',
        params: ResourceParams,
        response: { 200: ResourceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => visibleResource(app.db, request.caller, request.params.resourceId),
  );
};
