import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import type { Caller } from '../../plugins/auth.js';
import { decisionFacts } from './sso.repository.js';
import { isGranted, refusalReason, refusalText, releasedAttributes } from './sso.service.js';
import { SsoGranted, SsoRequest } from './sso.schemas.js';
import { autoPostPage } from './post-page.js';

/** ENT: the access decision. Every decision, granted or refused, is in the access log first. */
export const ssoRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sso',
    {
      // Four short identifiers and a RelayState (80 bytes in SAML bindings): the hottest route parses no more.
      bodyLimit: 16 * 1024,
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
          ...problems(400, 401, 403, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller as Extract<Caller, { role: 'ent' }>;
      const { uai, personId, resourceId, relayState } = request.body;
      const now = app.clock();
      const facts = await decisionFacts(app.database, { entId: caller.entId, uai, personId, resourceId, now });
      const reason = refusalReason(facts, caller.entId);
      const base = {
        at: now,
        ent_id: caller.entId,
        uai,
        person_ref: facts.person?.ref ?? null,
        profile: facts.person?.profiles.join(' ') || null,
        resource_id: resourceId,
        publisher_id: facts.resource?.publisherId ?? null,
        client_ip: request.ip,
        request_id: request.id,
      };
      const log = async (row: Parameters<typeof app.accessLog.write>[0]) => {
        try {
          await app.accessLog.write(row);
        } catch (err) {
          app.metrics.ssoDecisions.inc({ outcome: 'error', reason: 'access_log_unwritable' });
          request.log.error({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'access log write failed');
          // No row, no assertion: the decision is not issued when it cannot be recorded.
          throw errors.unavailable('the access log cannot be written; no assertion was issued');
        }
      };

      if (reason !== null || !isGranted(facts)) {
        const why = reason ?? 'unknown_person';
        await log({ ...base, outcome: 'refused', reason: why });
        app.metrics.ssoDecisions.inc({ outcome: 'refused', reason: why });
        throw errors.accessRefused(refusalText(why), why);
      }

      const { ido, attributes } = releasedAttributes(facts, { idoSecret: app.config.idoSecret, uai, entId: caller.entId, personId });
      const built = app.idp.issue({
        spEntityId: facts.resource.spEntityId,
        acsUrl: facts.resource.acsUrl,
        nameId: ido,
        attributes,
        now,
        encryptionCertificate: facts.resource.encryptionCertificate,
      });
      const names = attributes.map((a) => a.name);
      await log({ ...base, outcome: 'granted', reason: null, attributes: names, key_id: app.idp.keys.keyId, response_id: built.responseId });
      app.metrics.ssoDecisions.inc({ outcome: 'granted', reason: 'none' });

      const samlResponse = Buffer.from(built.xml).toString('base64');
      if (request.headers.accept?.includes('text/html')) {
        const page = autoPostPage(facts.resource.acsUrl, samlResponse, relayState);
        return reply.headers(page.headers).type('text/html; charset=utf-8').send(page.html);
      }
      reply.header('cache-control', 'no-store');
      return {
        destination: facts.resource.acsUrl,
        binding: 'HTTP-POST' as const,
        samlResponse,
        ...(relayState !== undefined ? { relayState } : {}),
        attributes: names,
        expiresAt: built.notOnOrAfter.toISOString(),
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
