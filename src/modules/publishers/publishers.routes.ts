import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { PageQuery, page } from '../../lib/paging.js';
import { assertScope } from '../../plugins/auth.js';
import { PublisherId, PublisherInput, PublisherSchema } from './publishers.schemas.js';
import { findPublisher, insertPublisher, listPublishers } from './publishers.repository.js';

const tags = ['onboarding'];

/** Operator: onboards publishers. */
export const publishersWriteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/publishers',
    {
      schema: {
        tags,
        summary: 'Register a publisher',
        body: PublisherInput,
        response: { 201: PublisherSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      if (await findPublisher(app.db, request.body.id)) throw errors.conflict(`publisher "${request.body.id}" already exists`);
      return reply.status(201).send(await insertPublisher(app.db, request.body, app.clock()));
    },
  );
};

/** Operator and ministry list publishers; a publisher may read its own record. */
export const publishersReadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/publishers',
    {
      schema: { tags, summary: 'List publishers (operator, ministry)', querystring: PageQuery, response: { 200: ListOf(PublisherSchema), ...problems(400, 401, 403) } },
    },
    async (request) => {
      if (request.caller.role === 'publisher') throw errors.forbidden('publishers read only their own record');
      const rows = await listPublishers(app.db, request.query.limit + 1, request.query.after);
      return page(rows, request.query.limit, (p) => p.id);
    },
  );

  app.get(
    '/publishers/:publisherId',
    {
      schema: {
        tags,
        summary: 'Read one publisher (operator, ministry, or the publisher itself)',
        params: Type.Object({ publisherId: PublisherId }),
        response: { 200: PublisherSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { publisherId } = request.params;
      assertScope(request.caller, { publisherId }, { what: 'publisher', id: publisherId });
      const publisher = await findPublisher(app.db, publisherId);
      if (!publisher) throw errors.notFound('publisher', publisherId);
      return publisher;
    },
  );
};
