import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import type { Caller } from '../../plugins/auth.js';
import { SsoGranted, SsoRequest } from './sso.schemas.js';
import { autoPostPage } from './post-page.js';

/** ENT: the access decision. Every decision, granted or refused, is in the access log first. */
export const ssoRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sso',
    {
      // Four short identifiers and a RelayState (80 bytes in SAML bindings): the hottest route parses no more.
      bodyLimit: 16 * 1024,
      // One ENT flooding SSO must not slow the others (src/plugins/fair-share.ts).
      config: { fairShare: true },
      schema: {
        tags: ['sso'],
        summary: 'Decide whether a person may open a resource, and if so issue a signed SAML Response',
        description:
          'Refusals are 403 problems with a machine-readable `reason`. With `Accept: text/html` a granted ' +
          'decision answers a page that posts the Response to the publisher at once.',
        body: SsoRequest,
        response: {
          200: {
            description: 'Granted',
            content: { 'application/json': { schema: SsoGranted }, 'text/html': { schema: Type.String() } },
          },
          ...problems(400, 401, 403, 409, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller as Extract<Caller, { role: 'ent' }>;
      const { uai, personId, resourceId, relayState } = request.body;
      // The one access path decides, releases and records; this door only turns the grant into a Response.
      const built = await app.access.open(
        { door: 'api_sso', entId: caller.entId, uai, personId, resourceId, clientIp: request.ip, requestId: request.id },
        (grant) => {
          // A resource reached only through CAS or OpenID Connect has no SAML SP to answer.
          if (!grant.resource.spEntityId || !grant.resource.acsUrl) {
            throw errors.conflict('this resource has no SAML service provider: it is opened through its CAS or OpenID Connect login');
          }
          const response = app.idp.issue({
            spEntityId: grant.resource.spEntityId,
            acsUrl: grant.resource.acsUrl,
            nameId: grant.ido,
            attributes: grant.attributes,
            now: grant.at,
            encryptionCertificate: grant.resource.encryptionCertificate,
          });
          const artefact = { response, acsUrl: grant.resource.acsUrl, names: grant.attributes.map((a) => a.name) };
          return { artefact, responseId: response.responseId, keyId: app.idp.keys.keyId };
        },
      );

      const samlResponse = Buffer.from(built.response.xml).toString('base64');
      if (request.headers.accept?.includes('text/html')) {
        const page = autoPostPage(built.acsUrl, samlResponse, relayState);
        return reply.headers(page.headers).type('text/html; charset=utf-8').send(page.html);
      }
      reply.header('cache-control', 'no-store');
      return {
        destination: built.acsUrl,
        binding: 'HTTP-POST' as const,
        samlResponse,
        ...(relayState !== undefined ? { relayState } : {}),
        attributes: built.names,
        expiresAt: built.response.notOnOrAfter.toISOString(),
      };
    },
  );
};

/** Public: the broker's IdP metadata (the same document at both paths), rebuilt once a day. */
export const idpMetadataRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const url of ['/saml/metadata', '/idp/metadata']) {
    app.get(
      url,
      {
        schema: {
          tags: ['sso'],
          summary: 'The broker’s SAML IdP metadata: SSO and SLO endpoints, NameID formats, current and next signing certificates',
          description: 'With `?signed=true`, the same document with an enveloped XML signature by the current signing key.',
          querystring: Type.Object({ signed: Type.Optional(Type.Boolean({ description: 'an enveloped-signed copy' })) }),
          response: {
            200: { description: 'SAML 2.0 metadata', content: { 'application/samlmetadata+xml': { schema: Type.String() } } },
            304: { description: 'Not modified', type: 'null' },
          },
        },
      },
      async (request, reply) => {
        const doc = request.query.signed ? app.idp.signedMetadata(app.clock()) : app.idp.metadata(app.clock());
        reply.header('etag', doc.etag).header('cache-control', 'public, max-age=3600');
        if (request.headers['if-none-match'] === doc.etag) return reply.status(304).send();
        return reply.type('application/samlmetadata+xml').send(doc.xml);
      },
    );
  }
};
