import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { refusalOf } from '../contract.js';
import { PgAdapter, sweepOidcPayloads } from './oidc.adapter.js';
import { findOidcClient } from './oidc.clients.js';
import { claimsOf, createOidcProvider, OIDC_PREFIX, OIDC_ROUTES, RELEASE_KIND, RELEASE_SECONDS, subjectFor, type OidcRelease } from './oidc.provider.js';

const tags = ['oidc'];
const Anything = { additionalProperties: true } as const;
const json = (description: string) => ({ description, content: { 'application/json': { schema: Type.Object({}, Anything) } } });
const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });
const redirect = (description: string) => ({ description, type: 'null' as const });

const AuthorizeQuery = Type.Object(
  {
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    redirect_uri: Type.Optional(Type.String({ maxLength: 2048, description: 'one of the client’s registered redirect URIs, exactly' })),
    response_type: Type.Optional(Type.String({ maxLength: 64, description: '`code`' })),
    scope: Type.Optional(Type.String({ maxLength: 256, description: '`openid scope.gar`' })),
    state: Type.Optional(Type.String({ maxLength: 2048 })),
    nonce: Type.Optional(Type.String({ maxLength: 2048 })),
    code_challenge: Type.Optional(Type.String({ maxLength: 128 })),
    code_challenge_method: Type.Optional(Type.String({ maxLength: 16, description: '`S256` (required for public clients)' })),
    idRessource: Type.Optional(Type.String({ maxLength: 1024, description: 'the resource ARK; must be the client’s resource' })),
  },
  Anything,
);
const ProfileQuery = Type.Object(
  { idRessource: Type.Optional(Type.String({ maxLength: 1024, description: 'the resource ARK; must be the one of the authorization' })) },
  Anything,
);

/**
 * Public: the broker's OpenID provider (panva's oidc-provider, a certified implementation), under
 * /oidc. Each provider path is declared as a Fastify route (documented, rate-limited, in the route
 * catalog) whose handler hands the raw request to the provider: nothing else under /oidc reaches it.
 */
export const oidcRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Built on the first OpenID request (see createOidcProvider); a failure is retried by the next one.
  let building: ReturnType<typeof createOidcProvider> | undefined;
  const providerOf = () => (building ??= createOidcProvider(app.config, app.db).catch((err) => { building = undefined; throw err; }));
  let callback: ReturnType<Awaited<ReturnType<typeof createOidcProvider>>['callback']> | undefined;
  const base = new URL(app.config.brokerBaseUrl);
  const releases = new PgAdapter(app.db, RELEASE_KIND, app.config.idoSecret);

  // Form bodies are read by Fastify (its limits and timeouts apply) and handed over as text.
  app.removeContentTypeParser('application/x-www-form-urlencoded');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));

  const toProvider = async (request: FastifyRequest, reply: FastifyReply) => {
    const req = request.raw as typeof request.raw & { body?: unknown; originalUrl?: string };
    if (typeof request.body === 'string') req.body = request.body;
    req.originalUrl = req.url;
    req.url = req.url!.slice(OIDC_PREFIX.length) || '/';
    // URLs the provider writes (discovery, redirects, cookies' Secure flag) follow BROKER_BASE_URL,
    // never what the client put in Host or X-Forwarded-*.
    req.headers.host = base.host;
    req.headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
    delete req.headers['x-forwarded-host'];
    reply.hijack();
    reply.raw.setHeader('x-request-id', request.id);
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    reply.raw.setHeader('referrer-policy', 'no-referrer');
    callback ??= (await providerOf()).callback();
    await callback(req, reply.raw);
  };

  const provided = (summary: string, description: string, extra: Record<string, unknown> = {}) => ({
    schema: { tags, summary, description, ...extra },
    handler: toProvider,
  });

  app.get(
    `${OIDC_PREFIX}/.well-known/openid-configuration`,
    provided('OpenID provider discovery document', 'Issuer `${BROKER_BASE_URL}/oidc`; served by the provider.', {
      response: { 200: json('OpenID Provider Metadata') },
    }),
  );
  app.get(
    `${OIDC_PREFIX}${OIDC_ROUTES.jwks}`,
    provided('The provider’s public signing keys (current, next and previous during a rollover)', 'RS256 keys, from OIDC_SIGNING_KEY (or the SAML key), OIDC_NEXT_SIGNING_KEY and OIDC_PREVIOUS_SIGNING_KEY.', {
      response: { 200: json('JWK Set') },
    }),
  );
  const authorizeDoc =
    'Authorization code flow; PKCE S256 required for public clients. Goes through the broker session (the ENT login when there ' +
    'is none) and the access decision for the resource named by `idRessource` (default: the client’s resource); no consent page. ' +
    'A refusal ends at the redirect URI with `error=access_denied&error_description=<reason code>`. An unknown client or ' +
    'redirect URI answers an error page (400); other errors go to the redirect URI.';
  // GET only: the provider serves the authorization endpoint by POST only with enableHttpPostMethods,
  // which GAR's clients do not use.
  app.get(
    `${OIDC_PREFIX}${OIDC_ROUTES.authorization}`,
    provided('OpenID authorization endpoint (GAR: oidcAuthorize)', authorizeDoc, {
      querystring: AuthorizeQuery,
      response: { 303: redirect('To the interaction, or to the redirect URI with a code or an error'), 400: html('Unknown client or redirect URI') },
    }),
  );
  app.get(
    `${OIDC_PREFIX}${OIDC_ROUTES.authorization}/:uid`,
    provided('Resumes an authorization after the interaction', 'Reached by the provider’s own redirect; not called by clients.', {
      params: Type.Object({ uid: Type.String({ maxLength: 64 }) }),
      response: { 303: redirect('To the redirect URI with a code or an error'), 400: html('Unknown or expired interaction') },
    }),
  );
  app.post(
    `${OIDC_PREFIX}${OIDC_ROUTES.token}`,
    provided(
      'OpenID token endpoint (GAR: oidcAccessToken)',
      'grant_type=authorization_code; client_secret_basic, private_key_jwt, or none with PKCE. A code is single use: a replay ' +
        'fails with invalid_grant and revokes what the code gave.',
      {
        consumes: ['application/x-www-form-urlencoded'],
        response: { 200: json('access_token, id_token (RS256), token_type, expires_in'), 400: json('OAuth error'), 401: json('Client authentication failed') },
      },
    ),
  );
  const profileDoc =
    'Claims: `sub` (opaque per client) and the codes released by the decision at authorization (arrays for multi-valued codes), ' +
    'nothing else. `idRessource`, when given, must be the resource of that authorization (400 otherwise).';
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: `${OIDC_PREFIX}${OIDC_ROUTES.userinfo}`,
      preHandler: async (request, reply) => {
        // Another resource named at userinfo is an error, not a silent answer about the first one.
        const fromQuery = (request.query as { idRessource?: string }).idRessource;
        const fromBody = typeof request.body === 'string' ? new URLSearchParams(request.body).get('idRessource') ?? undefined : undefined;
        const idRessource = fromQuery ?? fromBody;
        if (idRessource === undefined) return;
        const auth = request.headers.authorization;
        const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
        const at = token ? await (await providerOf()).AccessToken.find(token) : undefined;
        if (!at) return; // the provider answers invalid_token
        const release = at.grantId ? ((await releases.find(at.grantId)) as unknown as OidcRelease | undefined) : undefined;
        if (release && release.resourceId !== idRessource) {
          return reply
            .status(400)
            .type('application/json')
            .send({ error: 'invalid_request', error_description: 'idRessource is not the resource of this access token' });
        }
      },
      ...provided('OpenID userinfo endpoint (GAR: oidcProfile)', profileDoc, {
        ...(method === 'GET' ? { querystring: ProfileQuery } : { consumes: ['application/x-www-form-urlencoded'] }),
        response: { 200: json('The claims'), 400: json('idRessource of another resource'), 401: json('invalid_token') },
      }),
    });
  }

  app.get(
    `${OIDC_PREFIX}/interaction/:uid`,
    {
      schema: {
        tags,
        summary: 'The login step of an authorization: the broker session and the access decision',
        description:
          'Reached by the provider’s redirect. Without a broker session: to the ENT choice page, and back here. With one: the access ' +
          'decision for the resource, then back to the provider (which redirects to the client with a code, or with ' +
          '`error=access_denied` and the reason code).',
        params: Type.Object({ uid: Type.String({ maxLength: 64 }) }),
        response: { 302: redirect('To the ENT login'), 303: redirect('Back to the authorization'), 400: html('Unknown or expired interaction') },
      },
    },
    async (request, reply) => {
      const provider = await providerOf();
      let details;
      try {
        details = await provider.interactionDetails(request.raw, reply.raw);
      } catch {
        details = undefined;
      }
      if (!details || details.uid !== request.params.uid) {
        return reply
          .status(400)
          .type('text/html; charset=utf-8')
          .send('<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Connexion expirée</title></head><body><h1>Connexion expirée</h1><p>Retournez à votre ENT et ouvrez la ressource de nouveau.</p></body></html>');
      }
      const session = await app.sessions.current(request);
      if (!session) return reply.redirect(app.sessions.loginUrl(`${OIDC_PREFIX}/interaction/${details.uid}`), 302);

      const clientId = String(details.params.client_id);
      const client = await findOidcClient(app.db, clientId);
      const resourceId = typeof details.params.idRessource === 'string' ? details.params.idRessource : client?.resource_id;
      let result: Record<string, unknown>;
      if (!client || resourceId !== client.resource_id) {
        result = { error: 'invalid_request', error_description: 'idRessource is not a resource this client is registered for' };
      } else {
        try {
          const { accountId, grantId } = await app.access.open(
            {
              door: 'oidc',
              entId: session.entId,
              personId: session.personId,
              uaiHint: session.uaiHint,
              resourceId,
              clientIp: request.ip,
              requestId: request.id,
            },
            async (grant) => {
              const sub = subjectFor(app.config.idoSecret, clientId, grant.ido);
              // No consent step: the grant is the ministry's approval, given here for the scopes GAR knows.
              const g = new provider.Grant({ accountId: sub, clientId });
              g.addOIDCScope(String(details.params.scope ?? '').split(' ').filter((s) => s === 'openid' || s === 'scope.gar').join(' '));
              const id = await g.save();
              const release: OidcRelease = { sub, resourceId, clientId, claims: claimsOf(grant.attributes) };
              await sweepOidcPayloads(app.db);
              await releases.upsert(id, release as unknown as Record<string, unknown>, RELEASE_SECONDS);
              return { artefact: { accountId: sub, grantId: id }, responseId: `oidc-${id}` };
            },
          );
          result = { login: { accountId, ts: Math.floor(session.authnInstant.getTime() / 1000) }, consent: { grantId } };
        } catch (err) {
          const reason = refusalOf(err);
          if (reason === undefined) throw err;
          result = { error: 'access_denied', error_description: reason };
        }
      }
      reply.hijack();
      await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
    },
  );
};
