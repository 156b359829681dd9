import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { assertScope } from '../../plugins/auth.js';
import { ResourceParams } from '../resources/resources.schemas.js';
import { visibleResource } from '../resources/resources.service.js';
import {
  AdoptedFormats,
  AdoptFormatsInput,
  DataPolicySchema,
  DataRequestCreated,
  DataRequestInput,
  DataRequestListQuery,
  DataRequestSchema,
  RequestParams,
  ReviewedRequest,
  ReviewInput,
} from './data-requests.schemas.js';
import {
  adoptCurrentFormats,
  findRequest,
  latestRequest,
  listRequests,
  releasedAttributeCodes,
  releasedWithPurposes,
  requestsOfResource,
} from './data-requests.repository.js';
import { reviewRequest, submitRequest } from './data-requests.service.js';
import { releasedSince } from '../access-log/access-log.repository.js';

const tags = ['data-requests'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseCursor(after: string | undefined): { submittedAt: Date; id: string } | undefined {
  if (after === undefined) return undefined;
  const [time, id] = after.split('|');
  const submittedAt = new Date(time ?? '');
  if (!id || !UUID.test(id) || Number.isNaN(submittedAt.getTime())) {
    throw errors.validation('invalid cursor', [{ path: 'querystring/after', message: 'is not a cursor this list returned' }]);
  }
  return { submittedAt, id };
}

/** Publisher: submits the data request of one of its resources. */
export const dataRequestsSubmitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/resources/:resourceId/data-requests',
    {
      schema: {
        tags,
        summary: 'Declare the attributes a resource needs, each with its purpose (publisher)',
        description:
          'The complete declaration of needs; the ministry reviews it. A pending request is superseded. The request ' +
          'in force (last reviewed) stays in force until this one is reviewed, but attributes this one no longer lists ' +
          'stop being released at once (`withdrawn`). 400 lists every code outside the dictionary, IDO (always sent) ' +
          'and duplicates. `suggested` are the codes the SP metadata requests: a starting point, never an approval.',
        params: ResourceParams,
        body: DataRequestInput,
        response: { 201: DataRequestCreated, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { resourceId } = request.params;
      const resource = await visibleResource(app.db, request.caller, resourceId);
      const { id, withdrawn } = await submitRequest(app.db, resourceId, request.body, request.caller.sub, app.clock());
      const created = await findRequest(app.db, id);
      if (!created) throw errors.notFound('data request', id);
      const suggested = (resource.sp?.requestedAttributes ?? []).filter((c) => c !== 'IDO');
      return reply.status(201).send({ ...created, suggested, withdrawn });
    },
  );
};

/** Publisher: opts a resource in to the current value formats of what it is already approved to receive. */
export const attributeFormatsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/resources/:resourceId/attribute-formats',
    {
      schema: {
        tags,
        summary: 'Receive the current value format of approved attributes (publisher opt-in)',
        description:
          'A resource keeps receiving each attribute in the format it was approved under (e.g. DIV as the class code alone, ' +
          'version 1) until the ministry reviews a new data request or the publisher opts in here: the listed codes (all ' +
          'released codes when omitted) are sent in their current format (GET /v1/attributes, `formats[0]`) from the next ' +
          'access on. Nothing more is released. A code that is not released: 400.',
        params: ResourceParams,
        body: AdoptFormatsInput,
        response: { 200: AdoptedFormats, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { resourceId } = request.params;
      await visibleResource(app.db, request.caller, resourceId);
      const released = await releasedAttributeCodes(app.db, resourceId);
      const codes = request.body.codes;
      const unknown = (codes ?? []).map((c, i) => ({ c, i })).filter(({ c }) => !released.includes(c));
      if (unknown.length > 0) {
        throw errors.validation(
          'only released attributes have a format to adopt',
          unknown.map(({ c, i }) => ({ path: `body/codes/${i}`, message: `"${c}" is not released for this resource` })),
        );
      }
      await adoptCurrentFormats(app.db, resourceId, codes);
      return { resourceId, approved: await releasedWithPurposes(app.db, resourceId) };
    },
  );
};

/** Publisher (its own resources), ministry and operator: history and transparency. */
export const dataRequestsReadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/resources/:resourceId/data-requests',
    {
      schema: {
        tags,
        summary: "A resource's data requests, newest first, with every decision (who, when, what, why)",
        params: ResourceParams,
        response: { 200: Type.Object({ items: Type.Array(DataRequestSchema) }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await visibleResource(app.db, request.caller, request.params.resourceId);
      return { items: await requestsOfResource(app.db, request.params.resourceId) };
    },
  );

  app.get(
    '/resources/:resourceId/data-policy',
    {
      schema: {
        tags,
        summary: 'What a resource asked for, what it may receive and why (publisher, ministry, operator)',
        params: ResourceParams,
        response: { 200: DataPolicySchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { resourceId } = request.params;
      await visibleResource(app.db, request.caller, resourceId);
      return {
        resourceId,
        requested: (await latestRequest(app.db, resourceId)) ?? null,
        approved: await releasedWithPurposes(app.db, resourceId),
        releasedLast30Days: await releasedSince(app.db, resourceId, new Date(app.clock().getTime() - 30 * 86_400_000)),
      };
    },
  );

  app.get(
    '/data-requests/:requestId',
    {
      schema: {
        tags,
        summary: 'One data request (its publisher, the ministry, the operator)',
        params: RequestParams,
        response: { 200: DataRequestSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { requestId } = request.params;
      const found = await findRequest(app.db, requestId);
      if (!found) throw errors.notFound('data request', requestId);
      assertScope(request.caller, { publisherId: found.publisherId }, { what: 'data request', id: requestId });
      return found;
    },
  );
};

/** Ministry and operator: the review queue. */
export const dataRequestsQueueRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/data-requests',
    {
      schema: {
        tags,
        summary: 'Data requests across publishers, oldest first (ministry, operator); `status=pending` is the review queue',
        querystring: DataRequestListQuery,
        response: { 200: ListOf(DataRequestSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { status, limit, after } = request.query;
      const rows = await listRequests(app.db, status ? { status } : {}, limit + 1, parseCursor(after));
      return page(rows, limit, (r) => `${r.submittedAt}|${r.id}`);
    },
  );
};

/** Ministry: decides, attribute by attribute. */
export const dataRequestsReviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/data-requests/:requestId/review',
    {
      schema: {
        tags,
        summary: 'Approve or refuse every attribute of a pending data request, each with a comment (ministry)',
        description:
          "One decision per requested attribute (missing or extra codes: 400). The resource's released set becomes " +
          'exactly the approved attributes of this request. A reviewed or superseded request: 409.',
        params: RequestParams,
        body: ReviewInput,
        response: { 200: ReviewedRequest, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { requestId } = request.params;
      await reviewRequest(app.db, requestId, request.body, request.caller.sub, app.clock());
      const reviewed = await findRequest(app.db, requestId);
      if (!reviewed) throw errors.notFound('data request', requestId);
      return { ...reviewed, released: await releasedAttributeCodes(app.db, reviewed.resourceId) };
    },
  );
};
