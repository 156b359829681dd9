import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { isValidUai } from '../../lib/uai.js';
import {
  SubscriptionIdParams,
  SubscriptionInput,
  SubscriptionListQuery,
  SubscriptionSchema,
  SubscriptionUpdate,
} from './subscriptions.schemas.js';
import {
  coveredCounts,
  deleteSubscription,
  findPublisherSubscription,
  findResourceOwner,
  findSubscriptionByPk,
  insertSubscription,
  listPublisherSubscriptions,
  updateSubscription,
  type SubscriptionRow,
} from './subscriptions.repository.js';
import { checkSubscription, toSubscriptionView, usageOf } from './subscriptions.service.js';

import { primarySchoolErrors } from './primary-schools.js';

const tags = ['subscriptions'];

function publisherOf(request: FastifyRequest): string {
  if (request.caller.role !== 'publisher') throw errors.forbidden('subscriptions are managed by publisher tokens');
  return request.caller.publisherId;
}

/**
 * Format rules, then the referenced resource. Another publisher's resource is "not found", as an
 * unknown one: its existence must not leak. The UAI is not looked up: any valid UAI may be named
 * (a school not yet onboarded gets its subscription when it is), so the answer says nothing about
 * which schools exist here.
 */
async function checkInput(db: Kysely<Database>, publisherId: string, input: SubscriptionInput | SubscriptionUpdate) {
  const checked = checkSubscription(input);
  const fieldErrors = 'errors' in checked ? [...checked.errors] : [];
  if (!isValidUai(input.uai)) fieldErrors.push({ path: 'body/uai', message: 'the check letter does not match the 7 digits' });
  if (fieldErrors.length > 0) throw errors.validation(`${fieldErrors.length} invalid field(s)`, fieldErrors);
  const owner = await findResourceOwner(db, input.resourceId);
  if (!owner || owner.publisher_id !== publisherId) throw errors.notFound('resource', input.resourceId);
  const primary = await primarySchoolErrors(db, input);
  if (primary.length > 0) throw errors.validation('not for a primary school', primary);
  return (checked as Extract<typeof checked, { values: unknown }>).values;
}

/** Publisher: its subscriptions (GAR abonnements) and the licences used under each. */
export const subscriptionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // An ETABL subscription covers everyone at the UAI: its "usage" would be the school's headcounts,
  // which a publisher could read by creating one. Publishers see counts only of the people the
  // school itself assigned (INDIV); the school sees both on its own routes.
  const view = async (row: SubscriptionRow) =>
    row.assignment_type === 'ETABL'
      ? toSubscriptionView(row, app.clock())
      : toSubscriptionView(row, app.clock(), usageOf(row, await coveredCounts(app.db, row)));

  app.post(
    '/subscriptions',
    {
      schema: {
        tags,
        summary: 'Create a subscription for one establishment',
        description:
          'The resource must be yours (another publisher\'s is a 404, as an unknown one); any valid UAI may be named. ' +
          'Validity: startsAt and endsAt, or a schoolYear. ' +
          'Licences: {global} or the four per-audience counts. An id you already used is a 409. ' +
          'At a primary school (degree 1): no DOCUMENTALISTE audience and librarian licences 0 (400).',
        body: SubscriptionInput,
        response: { 201: SubscriptionSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const publisherId = publisherOf(request);
      const values = await checkInput(app.db, publisherId, request.body);
      if (await findPublisherSubscription(app.db, publisherId, request.body.id)) {
        throw errors.conflict(`you already have a subscription "${request.body.id}"`);
      }
      const pk = await insertSubscription(app.db, publisherId, request.body.id, values, app.clock());
      return reply.status(201).send(await view((await findSubscriptionByPk(app.db, pk))!));
    },
  );

  app.get(
    '/subscriptions',
    {
      schema: {
        tags,
        summary: 'List your subscriptions',
        description: 'Filters combine; `audience` keeps subscriptions whose audiences include it. Usage is in GET /v1/subscriptions/{id}.',
        querystring: SubscriptionListQuery,
        response: { 200: ListOf(SubscriptionSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const publisherId = publisherOf(request);
      const { limit, after, ...filter } = request.query;
      const rows = await listPublisherSubscriptions(app.db, publisherId, filter, limit + 1, after);
      const now = app.clock();
      return page(rows.map((r) => toSubscriptionView(r, now)), limit, (v) => v.id);
    },
  );

  app.get(
    '/subscriptions/:id',
    {
      schema: {
        tags,
        summary: 'Read one of your subscriptions, with licences used and left',
        description: 'usage is given for INDIV subscriptions (people the establishment assigned); an ETABL one has none.',
        params: SubscriptionIdParams,
        response: { 200: SubscriptionSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const row = await findPublisherSubscription(app.db, publisherOf(request), request.params.id);
      if (!row) throw errors.notFound('subscription', request.params.id);
      return view(row);
    },
  );

  app.put(
    '/subscriptions/:id',
    {
      schema: {
        tags,
        summary: 'Replace one of your subscriptions',
        description:
          'The whole subscription is given again. The UAI and the resource cannot change (409): the school\'s ' +
          'assignments were made for this resource at this establishment; delete and create instead, so that the establishment sees it.',
        params: SubscriptionIdParams,
        body: SubscriptionUpdate,
        response: { 200: SubscriptionSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const publisherId = publisherOf(request);
      const { id } = request.params;
      if (request.body.id !== undefined && request.body.id !== id) {
        throw errors.validation('the id cannot change', [{ path: 'body/id', message: `must be "${id}", the id in the path` }]);
      }
      const existing = await findPublisherSubscription(app.db, publisherId, id);
      if (!existing) throw errors.notFound('subscription', id);
      if (request.body.uai !== existing.uai) {
        throw errors.conflict('the UAI of a subscription cannot change', {
          reason: 'uai_immutable',
          errors: [{ path: 'body/uai', message: `must stay "${existing.uai}"; delete the subscription and create one for the other establishment` }],
        });
      }
      if (request.body.resourceId !== existing.resource_id) {
        throw errors.conflict('the resource of a subscription cannot change: the establishment assigned it for this resource', {
          reason: 'resource_immutable',
          errors: [
            { path: 'body/resourceId', message: `must stay "${existing.resource_id}"; delete the subscription and create one for the other resource` },
          ],
        });
      }
      const values = await checkInput(app.db, publisherId, request.body);
      await updateSubscription(app.db, existing.pk, values, app.clock());
      return view((await findSubscriptionByPk(app.db, existing.pk))!);
    },
  );

  app.delete(
    '/subscriptions/:id',
    {
      schema: {
        tags,
        summary: 'Delete one of your subscriptions and its assignments',
        params: SubscriptionIdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const existing = await findPublisherSubscription(app.db, publisherOf(request), request.params.id);
      if (!existing) throw errors.notFound('subscription', request.params.id);
      await app.db.transaction().execute((trx) => deleteSubscription(trx, existing.pk));
      return reply.status(204).send();
    },
  );
};
