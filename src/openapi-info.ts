import type { Config } from './config.js';

/** The document-level part of openapi.yaml; paths come from the route schemas. */
export const OPENAPI_INFO = (_config: Config) => ({
  openapi: '3.1.0',
  info: {
    title: 'gar-broker',
    version: '0.1.0',
    description:
      'Resource-access broker between school digital workspaces (ENT) and publishers of digital resources. ' +
      'Every /v1 route needs a bearer JWT whose `role` claim is one of operator, ministry, publisher, ent, ' +
      'establishment, with the scope claim of that role (publisherId, entId, uai[]). Errors are application/problem+json.',
    license: { name: 'EUPL-1.2', identifier: 'EUPL-1.2' },
  },
  servers: [{ url: '/' }],
  components: {
    securitySchemes: {
      bearer: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT' },
      metricsToken: { type: 'http' as const, scheme: 'bearer', description: 'The METRICS_TOKEN of the deployment' },
    },
  },
  tags: [
    { name: 'operations', description: 'Health, readiness, metrics and this document' },
    { name: 'onboarding', description: 'ENT projects, establishments and publishers (operator)' },
    {
      name: 'resources',
      description:
        "Publishers' resources and their SAML service providers. A publisher registers, reads and updates its own " +
        "(another publisher's is a 404); the ministry and the operator read all of them.",
    },
    {
      name: 'data-requests',
      description:
        'The attribute dictionary, publishers\' data requests, the ministry\'s attribute-by-attribute review, and ' +
        "each resource's data policy (decree of 18 December 2017, art. 3).",
    },
    { name: 'subscriptions', description: "Publishers' subscriptions (abonnements) for establishments, with licences used and left" },
    { name: 'assignments', description: "An establishment's subscriptions and the assignments (affectations) of their licences" },
    { name: 'resource list', description: 'The resources each person may open (ENT)' },
    { name: 'directory', description: 'The directory feed of establishments (JSON and GAR-ENT XML) and reading it back' },
  ],
});

/** A route schema key: the body may be left out (swagger otherwise marks every declared body required). */
export const OPTIONAL_BODY = 'x-optional-body';

type OpenApiDoc = { paths?: Record<string, Record<string, Record<string, unknown> & { requestBody?: { required?: boolean } }>> };

/** Makes the document say what the routes accept: a body marked optional is `required: false`. */
export function truthfulBodies({ openapiObject }: { openapiObject: Partial<OpenApiDoc> }) {
  for (const methods of Object.values(openapiObject.paths ?? {})) {
    for (const op of Object.values(methods)) {
      if (op[OPTIONAL_BODY] !== true) continue;
      delete op[OPTIONAL_BODY];
      if (op.requestBody) op.requestBody.required = false;
    }
  }
  return openapiObject;
}
