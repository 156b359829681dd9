import type { Role } from '../src/plugins/auth.js';

/**
 * Who may do what: THE declared access table, one row per operation (`METHOD /path/{param}`, as in
 * openapi.yaml). test/access-matrix.test.ts calls every operation with every role, in and out of
 * scope and without a token, and compares each answer with this table.
 *
 * - `public`: no token needed; every caller (and none) gets this status.
 * - `roles`: the roles that may call the operation. `in` is the status of a call on the caller's own
 *   objects (its publisher, ENT project, UAIs; for operator and ministry, the first tenant);
 *   `out` the status of the same call on another tenant's real object, where the operation names
 *   one (omitted where it does not: the scope then comes from the token alone). For operator and
 *   ministry, who act across tenants, `out` is the same success.
 * - A role not listed gets 403 both ways; no token gets 401.
 */
export interface Grant {
  in: number;
  out?: number;
}
/** `protocol`: a browser or protocol door (CAS, OpenID) answers errors in its own format, not problem+json. */
export type Rule = { public: number; protocol?: true } | { roles: Partial<Record<Role, Grant>> };

const national = (status: number, out = status): Grant => ({ in: status, out });

export const ACCESS_MATRIX: Record<string, Rule> = {
  'GET /health': { public: 200 },
  'GET /ready': { public: 200 },
  'GET /openapi.yaml': { public: 200 },
  'GET /saml/metadata': { public: 200 },
  // The ENT door (browser and IdP; answers pages, not problems): a valid entry link goes to the IdP.
  'GET /domaineGar': { public: 302 },
  'GET /saml/sp/metadata': { public: 200 },
  'POST /saml/sp/acs': { public: 400 },
  // A logout started at the ENT: without a signed LogoutRequest there is nothing to do.
  'GET /saml/sp/slo': { public: 400 },
  'POST /saml/sp/slo': { public: 400 },
  'GET /discovery': { public: 200 },
  'GET /idp/metadata': { public: 200 },
  // The IdP door: browser protocol endpoints, no token (a valid AuthnRequest without a session goes to the ENT login).
  'GET /idp/profile/SAML2/Redirect/SSO': { public: 302 },
  'POST /idp/profile/SAML2/POST/SSO': { public: 302 },
  'GET /idp/profile/SAML2/Redirect/SLO': { public: 200 },
  'POST /idp/profile/SAML2/Redirect/SLO': { public: 200 },
  'POST /idp/profile/SAML2/POST/SLO': { public: 200 },
  // Not a JWT route: only the METRICS_TOKEN opens it (test/metrics.test.ts covers the token modes).
  'GET /metrics': { public: 401 },

  // Everyone authenticated; statistics are cut to the caller's scope (checked by the test).
  'GET /v1/attributes': { roles: { operator: { in: 200 }, ministry: { in: 200 }, publisher: { in: 200 }, ent: { in: 200 }, establishment: { in: 200 } } },
  'GET /v1/stats/accesses': { roles: { operator: { in: 200 }, ministry: { in: 200 }, publisher: { in: 200 }, ent: { in: 200 }, establishment: { in: 200 } } },

  // Operator onboarding and operations.
  'POST /v1/ent-projects': { roles: { operator: { in: 201 } } },
  'GET /v1/ent-projects': { roles: { operator: { in: 200 } } },
  'GET /v1/ent-projects/{entId}': { roles: { operator: national(200) } },
  'PUT /v1/ent-projects/{entId}/establishments/{uai}': { roles: { operator: national(200) } },
  'PUT /v1/ent-projects/{entId}/idp': { roles: { operator: national(200) } },
  'GET /v1/ent-projects/{entId}/idp': { roles: { operator: national(200) } },
  'PUT /v1/ent-projects/{entId}/assignment-policy': { roles: { operator: national(200) } },
  'POST /v1/publishers': { roles: { operator: { in: 201 } } },
  'GET /v1/publishers': { roles: { operator: { in: 200 }, ministry: { in: 200 } } },
  'GET /v1/publishers/{publisherId}': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 404 } } },
  'GET /v1/access-logs': { roles: { operator: { in: 200 } } },
  'GET /v1/retention/status': { roles: { operator: { in: 200 } } },
  'GET /v1/audit': { roles: { operator: { in: 200 } } },
  'GET /v1/people/{entId}/{personId}/export': { roles: { operator: national(200) } },
  'POST /v1/people/{entId}/{personId}/restriction': { roles: { operator: national(200) } },
  'DELETE /v1/people/{entId}/{personId}/restriction': { roles: { operator: national(200) } },
  'PUT /v1/people/{entId}/{personId}/link': { roles: { operator: national(200) } },

  // Resources: publishers write their own; operator and ministry read all. Another publisher's is a 404.
  'GET /v1/resources': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 403 } } },
  'POST /v1/resources': { roles: { publisher: { in: 201 } } },
  'GET /v1/resources/{resourceId}': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 404 } } },
  'PUT /v1/resources/{resourceId}': { roles: { publisher: { in: 200, out: 404 } } },
  'PUT /v1/resources/{resourceId}/saml-options': { roles: { publisher: { in: 200, out: 404 } } },
  'PUT /v1/resources/{resourceId}/ido-scope': { roles: { ministry: national(200) } },

  // Data requests.
  'GET /v1/resources/{resourceId}/data-requests': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 404 } } },
  'POST /v1/resources/{resourceId}/data-requests': { roles: { publisher: { in: 201, out: 404 } } },
  'PUT /v1/resources/{resourceId}/attribute-formats': { roles: { publisher: { in: 200, out: 404 } } },
  'GET /v1/resources/{resourceId}/data-policy': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 404 } } },
  'GET /v1/data-requests/{requestId}': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 404 } } },
  'GET /v1/data-requests': { roles: { operator: { in: 200 }, ministry: { in: 200 } } },
  'POST /v1/data-requests/{requestId}/review': { roles: { ministry: national(200) } },
  'GET /v1/register': { roles: { operator: { in: 200 }, ministry: { in: 200 }, publisher: { in: 200 } } },

  // Subscriptions: the publisher's own only. Another publisher's subscription is a 404; naming
  // another publisher's resource is a 403; a filter on another tenant lists nothing of it.
  'POST /v1/subscriptions': { roles: { publisher: { in: 201, out: 404 } } }, // another's resource answers as unknown (issue 11)
  'GET /v1/subscriptions': { roles: { publisher: { in: 200, out: 200 } } },
  'GET /v1/subscriptions/{id}': { roles: { publisher: { in: 200, out: 404 } } },
  'PUT /v1/subscriptions/{id}': { roles: { publisher: { in: 200, out: 404 } } },
  'DELETE /v1/subscriptions/{id}': { roles: { publisher: { in: 204, out: 404 } } },

  // Establishments (their UAIs) and operator: subscriptions of a UAI and assignments. Another UAI: 403.
  'GET /v1/establishments/{uai}/subscriptions': { roles: { operator: national(200), establishment: { in: 200, out: 403 } } },
  'POST /v1/establishments/{uai}/assignments': { roles: { operator: national(201), establishment: { in: 201, out: 403 } } },
  'GET /v1/establishments/{uai}/assignments': { roles: { operator: national(200), establishment: { in: 200, out: 403 } } },
  'DELETE /v1/establishments/{uai}/assignments/{assignmentId}': { roles: { operator: national(204), establishment: { in: 204, out: 403 } } },

  // ENT: resource lists (another project's UAI is a 404), SSO (a refusal, logged), feeds and read-back (403).
  'GET /v1/establishments/{uai}/people/{personId}/resources': { roles: { ent: { in: 200, out: 404 } } },
  'POST /v1/sso': { roles: { ent: { in: 200, out: 403 } } },
  'PUT /v1/establishments/{uai}/directory': { roles: { ent: { in: 200, out: 403 } } },
  'POST /v1/establishments/{uai}/directory/changes': { roles: { ent: { in: 200, out: 403 } } },
  'POST /v1/feed/gar-ent': { roles: { ent: { in: 200, out: 403 } } },
  'GET /v1/establishments/{uai}/directory': { roles: { operator: national(200), ent: { in: 200, out: 403 } } },
  // Nightly exports: an ENT for its own project (another project named is a 403), operators for any.
  'POST /v1/feed/gar-ent/exports': { roles: { operator: national(202), ent: { in: 202, out: 403 } } },
  // Another project's job is as unknown as a missing one.
  'GET /v1/feed/jobs/{id}': { roles: { operator: national(200), ent: { in: 200, out: 404 } } },
  'GET /v1/feed/jobs': { roles: { operator: { in: 200 }, ent: { in: 200 } } },
  'GET /v1/establishments/{uai}/people/{personId}': { roles: { operator: national(200), ent: { in: 200, out: 403 } } },
  'POST /v1/resources/{resourceId}/oidc/secret': { roles: { publisher: { in: 200, out: 404 } } },

  // CAS and OpenID Connect doors: public; the browser session (a cookie), not a token, decides.
  'GET /login': { public: 302 },
  'GET /p3/serviceValidate': { public: 200 },
  'GET /serviceValidate': { public: 200 },
  'GET /logout': { public: 200 },
  'GET /oidc/.well-known/openid-configuration': { public: 200 },
  'GET /oidc/jwks': { public: 200 },
  'GET /oidc/oidcAuthorize': { public: 303 },
  'GET /oidc/oidcAuthorize/{uid}': { public: 400, protocol: true },
  'GET /oidc/interaction/{uid}': { public: 400, protocol: true },
  'POST /oidc/oidcAccessToken': { public: 401, protocol: true },
  'GET /oidc/oidcProfile': { public: 401, protocol: true },
  'POST /oidc/oidcProfile': { public: 401, protocol: true },

  // GAR-compatible web services (JWT on the main listener; answers and refusals in GAR's shapes).
  // Another publisher's subscription is a 404; its resource in a new subscription a 400 (listed with other problems).
  'PUT /ws/abonnement/{idAbonnement}': { roles: { publisher: { in: 201, out: 400 } } },
  'POST /ws/abonnement/{idAbonnement}': { roles: { publisher: { in: 200, out: 404 } } },
  'DELETE /ws/abonnement/{idAbonnement}': { roles: { publisher: { in: 204, out: 404 } } },
  'GET /ws/abonnement/abonnements': { roles: { publisher: { in: 200, out: 200 } } },
  'POST /ws/abonnement/abonnements': { roles: { publisher: { in: 200, out: 200 } } },
  'GET /ws/abonnement/etablissements/etablissements.xml': { roles: { publisher: { in: 200 } } },
  'GET /ws/decompteaffectations': { roles: { publisher: { in: 200, out: 200 } } },
  'GET /ws/ressources/{idENT}/{uai}/{personId}': { roles: { ent: { in: 200, out: 403 } } },
  'GET /ws/ressourcesDiffusables': { roles: { ent: { in: 200 } } },

  // Data of the GAR web services: catalogue fields (publisher, its own), official fields (operator or the
  // establishment's ENT project), distributor ids and client certificates (operator).
  'PUT /v1/resources/{resourceId}/catalogue': { roles: { publisher: { in: 200, out: 404 } } },
  'GET /v1/resources/{resourceId}/catalogue': { roles: { operator: national(200), ministry: national(200), publisher: { in: 200, out: 404 } } },
  'PUT /v1/establishments/{uai}/official': { roles: { operator: national(200), ent: { in: 200, out: 403 } } },
  'PUT /v1/publishers/{publisherId}/siren-isni': { roles: { operator: national(200) } },
  'POST /v1/client-certificates': { roles: { operator: { in: 201 } } },
  'GET /v1/client-certificates': { roles: { operator: { in: 200 } } },
  'DELETE /v1/client-certificates/{id}': { roles: { operator: { in: 204 } } },
};
