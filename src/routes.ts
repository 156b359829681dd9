import type { FastifyPluginAsync } from 'fastify';
import { accessLevel, ROLES } from './plugins/auth.js';
import { problems } from './lib/http-schemas.js';
import { entProjectsRoutes } from './modules/ent-projects/ent-projects.routes.js';
import { subscriptionsRoutes } from './modules/subscriptions/subscriptions.routes.js';
import { assignmentsRoutes } from './modules/assignments/assignments.routes.js';
import { resourceListRoutes } from './modules/resource-list/resource-list.routes.js';
import { directoryFeedRoutes, directoryReadRoutes, garEntFeedRoutes } from './modules/directory/directory.routes.js';
import { publishersReadRoutes, publishersWriteRoutes } from './modules/publishers/publishers.routes.js';
import { attributesRoutes } from './modules/attributes/attributes.routes.js';
import { resourcesReadRoutes, resourcesWriteRoutes } from './modules/resources/resources.routes.js';
import { resourcesIdoScopeRoutes, resourcesSamlOptionsRoutes } from './modules/resources/resources.routes.js';
import {
  attributeFormatsRoutes,
  dataRequestsQueueRoutes,
  dataRequestsReadRoutes,
  dataRequestsReviewRoutes,
  dataRequestsSubmitRoutes,
} from './modules/data-requests/data-requests.routes.js';
import { ssoRoutes } from './modules/sso/sso.routes.js';
import { accessLogRoutes } from './modules/access-log/access-log.routes.js';
import { maintenanceRoutes } from './modules/maintenance/maintenance.routes.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { statsRoutes } from './modules/stats/stats.routes.js';
import { dataSubjectsRoutes } from './modules/data-subjects/data-subjects.routes.js';
import { personLinksRoutes } from './modules/person-links/person-links.routes.js';
import { registerRoutes } from './modules/register/register.routes.js';
import { registerAuditTrail } from './modules/audit/audit.hook.js';
import { entIdpRoutes } from './doors/ent-entry/idp.routes.js';
import { catalogueReadRoutes, catalogueWriteRoutes, establishmentOfficialRoutes, publisherDistributorRoutes } from './modules/gar-ws/gar-admin.routes.js';
import { clientCertificatesRoutes } from './modules/gar-ws/client-certificates.js';
import { feedJobsRoutes } from './modules/feed-jobs/feed-jobs.routes.js';

/**
 * Every /v1 feature, each inside the access level of its callers. A route that more than one role
 * may call lives in a level listing those roles and narrows scope with assertScope().
 */
export const v1Routes: FastifyPluginAsync = async (app) => {
  app.addHook('onRoute', (route) => {
    // Every /v1 route is behind the per-caller rate limit (when configured).
    const response = route.schema?.response ? { ...(route.schema.response as object), ...problems(429) } : undefined;
    route.schema = { ...route.schema, security: [{ bearer: [] }], ...(response ? { response } : {}) };
  });
  registerAuditTrail(app);
  await app.register(accessLevel(ROLES, attributesRoutes, statsRoutes));
  await app.register(accessLevel(['operator'], entProjectsRoutes, publishersWriteRoutes, accessLogRoutes, maintenanceRoutes, auditRoutes, dataSubjectsRoutes, personLinksRoutes));
  await app.register(accessLevel(['operator', 'ministry', 'publisher'], publishersReadRoutes, resourcesReadRoutes, dataRequestsReadRoutes, registerRoutes));
  await app.register(accessLevel(['publisher'], resourcesWriteRoutes, dataRequestsSubmitRoutes, attributeFormatsRoutes, subscriptionsRoutes));
  await app.register(accessLevel(['operator', 'ministry'], dataRequestsQueueRoutes));
  await app.register(accessLevel(['ministry'], dataRequestsReviewRoutes));
  await app.register(accessLevel(['publisher'], resourcesSamlOptionsRoutes));
  await app.register(accessLevel(['ministry'], resourcesIdoScopeRoutes));
  await app.register(accessLevel(['establishment', 'operator'], assignmentsRoutes));
  await app.register(accessLevel(['ent'], resourceListRoutes, ssoRoutes));
  await app.register(accessLevel(['ent'], directoryFeedRoutes, garEntFeedRoutes));
  await app.register(accessLevel(['ent', 'operator'], directoryReadRoutes));
  // Nightly GAR-ENT exports as background jobs (an ENT for its project, an operator for any).
  await app.register(accessLevel(['ent', 'operator'], feedJobsRoutes));
  await app.register(accessLevel(['operator'], entIdpRoutes));
  // GAR web services' data: catalogue fields, official fields, distributor ids, client certificates.
  await app.register(accessLevel(['publisher'], catalogueWriteRoutes));
  await app.register(accessLevel(['operator', 'ministry', 'publisher'], catalogueReadRoutes));
  await app.register(accessLevel(['ent', 'operator'], establishmentOfficialRoutes));
  await app.register(accessLevel(['operator'], publisherDistributorRoutes, clientCertificatesRoutes));
};
