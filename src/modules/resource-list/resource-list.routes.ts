import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { isValidUai } from '../../lib/uai.js';
import { assertScope } from '../../plugins/auth.js';
import { ResourceListParams, ResourceListSchema, type ListedResource } from './resource-list.schemas.js';
import { assignedResources, establishmentProject, findPersonDbId } from './resource-list.repository.js';
import { garResourceItem } from '../gar-ws/catalogue.js';
import { catalogueFacts } from '../gar-ws/gar-ws.repository.js';

/** ENT: what one of its people may open at one of its establishments now. */
export const resourceListRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/establishments/:uai/people/:personId/resources',
    {
      schema: {
        tags: ['resource list'],
        summary: 'The resources a person may open at this establishment now',
        description:
          'From direct, division, group, profile and whole-establishment assignments of valid subscriptions, and ETABL ' +
          'subscriptions; each resource once, sorted by name. A person marked gone, or no longer at this UAI, has none ' +
          '(empty list); a person unknown to your project is a 404, as is an establishment of another project.',
        params: ResourceListParams,
        response: { 200: ResourceListSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { uai, personId } = request.params;
      if (!isValidUai(uai)) throw errors.validation('invalid UAI', [{ path: 'params/uai', message: 'the check letter does not match the 7 digits' }]);
      const entId = await establishmentProject(app.db, uai);
      if (entId === undefined) throw errors.notFound('establishment', uai);
      assertScope(request.caller, { entId }, { what: 'establishment', id: uai });
      const personDbId = await findPersonDbId(app.db, entId, personId);
      if (personDbId === undefined) throw errors.notFound('person', personId);
      const rows = await assignedResources(app.db, { personDbId, uai, now: app.clock() });
      const facts = await catalogueFacts(app.db, rows.map((r) => r.resource_id));
      const link = { brokerBaseUrl: app.config.brokerBaseUrl, entId, uai };
      const items: ListedResource[] = rows
        .map((r) => ({
          ...garResourceItem(facts.get(r.resource_id)!, link),
          description: r.description,
          subscriptionId: r.subscription_id,
          validUntil: r.ends_at.toISOString(),
          sso: { method: 'POST' as const, path: '/v1/sso' as const, body: { uai, personId, resourceId: r.resource_id } },
        }))
        .sort((a, b) => a.nomRessource.localeCompare(b.nomRessource, 'fr') || a.idRessource.localeCompare(b.idRessource));
      return { items };
    },
  );
};
