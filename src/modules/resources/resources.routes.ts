import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { findPublisher } from '../publishers/publishers.repository.js';
import { SamlOptionsInput } from '../../doors/saml-idp/options.js';
import {
  IdoScopeInput,
  ResourceInput,
  ResourceListQuery,
  ResourceParams,
  ResourceSchema,
  ResourceUpdate,
  ResourceWritten,
} from './resources.schemas.js';
import {
  findResource,
  insertResource,
  listResources,
  otherPublisherWithEntityId,
  setIdoScope,
  setSamlOptions,
  updateResource,
} from './resources.repository.js';
import { checkEntryFields, resolveServiceProvider, visibleResource } from './resources.service.js';
import { assertCasServicesFree, resolveCasServices, saveCasServices } from '../../doors/cas/cas.registration.js';
import { OidcWritten, rotateOidcSecret, saveOidcClient } from '../../doors/oidc/oidc.clients.js';

const tags = ['resources'];

/**
 * One SP may serve several resources (one per ARK) of the publisher that runs it; another
 * publisher's SP entityID is refused, as the IdP could no longer tell whose SP an AuthnRequest is.
 */
async function assertEntityIdFree(db: Kysely<Database>, entityId: string, publisherId: string): Promise<void> {
  if ((await otherPublisherWithEntityId(db, entityId, publisherId)) !== undefined) {
    throw errors.conflict(`SP entityID "${entityId}" is not available`);
  }
}

/** A resource is reached through SAML, CAS or OpenID Connect: at least one must be declared. */
function assertSomeDoor(body: { sp?: unknown; cas?: unknown; oidc?: unknown }): void {
  if (!body.sp && !body.cas && !body.oidc) {
    throw errors.validation('a resource needs at least one of sp, cas, oidc', [{ path: 'body', message: 'needs at least one of sp, cas, oidc' }]);
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
            '409 "not available" when the id is already used (by you or anyone), or the entityID by another publisher (one SP may serve several ' +
            'resources of its publisher: an AuthnRequest then names the resource by its RelayState).',
        body: ResourceInput,
        response: { 201: ResourceWritten, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      if (caller.role !== 'publisher') throw errors.forbidden('only publishers register resources');
      const { id, sp, cas, oidc, ...fields } = request.body;
      assertSomeDoor(request.body);
      checkEntryFields(fields);
      const resolved = sp && resolveServiceProvider(sp, app.clock());
      const casServices = cas ? resolveCasServices(cas) : [];
      if (!(await findPublisher(app.db, caller.publisherId))) {
        throw errors.forbidden(`publisher "${caller.publisherId}" is not registered; ask the operator to onboard it`);
      }
      // The same words whoever holds the id: the answer must not tell another publisher's from yours.
      if (await findResource(app.db, id)) throw errors.conflict(`resource id "${id}" is not available`);
      if (resolved) await assertEntityIdFree(app.db, resolved.entityId, caller.publisherId);
      await assertCasServicesFree(app.db, id, casServices);
      const created = await app.db.transaction().execute(async (trx) => {
        const view = await insertResource(trx, id, caller.publisherId, fields, resolved, app.clock());
        await saveCasServices(trx, id, casServices, cas?.backChannelLogout ?? true);
        const client = await saveOidcClient(trx, id, oidc, app.config.idoSecret, app.clock());
        return { ...view, ...(cas ? { cas: { serviceUrls: cas.serviceUrls, backChannelLogout: cas.backChannelLogout ?? true } } : {}), ...(client ? { oidc: client } : {}) };
      });
      return reply.status(201).send({ ...created, warnings: resolved?.warnings ?? [] });
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
      const current = await visibleResource(app.db, request.caller, resourceId);
      const { sp, cas, oidc, ...fields } = request.body;
      assertSomeDoor(request.body);
      checkEntryFields(fields);
      const resolved = sp && resolveServiceProvider(sp, app.clock());
      const casServices = cas ? resolveCasServices(cas) : [];
      if (resolved) await assertEntityIdFree(app.db, resolved.entityId, current.publisherId);
      await assertCasServicesFree(app.db, resourceId, casServices);
      const updated = await app.db.transaction().execute(async (trx) => {
        const view = await updateResource(trx, resourceId, fields, resolved, app.clock());
        if (!view) throw errors.notFound('resource', resourceId);
        await saveCasServices(trx, resourceId, casServices, cas?.backChannelLogout ?? true);
        const client = await saveOidcClient(trx, resourceId, oidc, app.config.idoSecret, app.clock());
        return { ...view, ...(cas ? { cas: { serviceUrls: cas.serviceUrls, backChannelLogout: cas.backChannelLogout ?? true } } : {}), ...(client ? { oidc: client } : {}) };
      });
      return { ...updated, warnings: resolved?.warnings ?? [] };
    },
  );

  app.post(
    '/resources/:resourceId/oidc/secret',
    {
      schema: {
        tags,
        summary: 'Rotate the OpenID client secret of a resource (publisher, own resources)',
        description: 'The new secret is shown once; the previous one stops working at once. 409 when the client has no secret (private_key_jwt, public).',
        params: ResourceParams,
        response: { 200: OidcWritten, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { resourceId } = request.params;
      await visibleResource(app.db, request.caller, resourceId);
      return rotateOidcSecret(app.db, resourceId, app.config.idoSecret, app.clock());
    },
  );
};

/** Publisher: SAML options of its resources' SP (the ministry and the operator read them on the resource). */
export const resourcesSamlOptionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/resources/:resourceId/saml-options',
    {
      schema: {
        tags,
        summary: 'Set how the broker answers this resource’s SP: signing, encryption, attribute NameFormat, signed requests (publisher)',
        description: 'Keys left out take their defaults. `encrypt: true` needs an encryption certificate on the SP.',
        params: ResourceParams,
        body: SamlOptionsInput,
        response: { 200: ResourceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { resourceId } = request.params;
      const current = await visibleResource(app.db, request.caller, resourceId);
      if (request.body.encrypt === true && current.sp?.encryptionCertificate === undefined) {
        throw errors.validation('the SP has no encryption certificate', [{ path: 'body/encrypt', message: 'needs an encryption certificate on the SP' }]);
      }
      const updated = await setSamlOptions(app.db, resourceId, request.body, app.clock());
      if (!updated) throw errors.notFound('resource', resourceId);
      return updated;
    },
  );
};

/** Ministry: whether a resource's IDO is the project-wide one (as GAR) or pairwise per publisher. */
export const resourcesIdoScopeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/resources/:resourceId/ido-scope',
    {
      schema: {
        tags,
        summary: 'Set the scope of the IDO (persistent NameID and IDO attribute) released for a resource (ministry)',
        description:
          '`project` (default, as GAR): the same IDO for a person of an ENT project at every publisher. `pairwise`: ' +
          'one per publisher, the same across all of its resources and SPs. `stable`: one per publisher that stays the ' +
          'same when the person moves to another ENT project and an operator linked the two records. Changing it changes what the publisher ' +
          'receives: its accounts keyed on the IDO are orphaned.',
        params: ResourceParams,
        body: IdoScopeInput,
        response: { 200: ResourceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const updated = await setIdoScope(app.db, request.params.resourceId, request.body.idoScope, app.clock());
      if (!updated) throw errors.notFound('resource', request.params.resourceId);
      return updated;
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
