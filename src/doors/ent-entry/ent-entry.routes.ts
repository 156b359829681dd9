import { randomBytes } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { AppError } from '../../errors.js';
import { isDatabaseUnavailable } from '../../plugins/error-handler.js';
import { loadSigningKeys } from '../../saml/keys.js';
import { createServiceProvider } from '../../saml/sp.js';
import { SamlResponseError, verifyIdpResponse } from '../../saml/idp-response.js';
import { autoPostPage } from '../../modules/sso/post-page.js';
import { discoveryHtml } from '../../pages/discovery-page.js';
import { langOf, sendPage } from '../../pages/layout.js';
import { renderRefusalPage, type PageReason } from '../../pages/refusal-page.js';
import { AccessRefused } from '../../access/access.js';
import {
  connectedProjects,
  findEntryRequest,
  keepEntryRequest,
  projectWithIdp,
  purgeExpired,
  rememberAssertion,
  resourceAndEstablishment,
  takeEntryRequest,
} from './ent-entry.repository.js';
import { entLogoutRoutes } from './ent-logout.js';
import { parseEntryLink, safeReturnPath } from './entry-link.js';

const tags = ['browser'];
const DOOR = 'entry_link' as const;
const ENT_COOKIE = 'gar_ent';
const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });
const redirect = (description: string) => ({ description, headers: { location: Type.String() }, type: 'null' });
/** The HTML answers every browser route of this door may give (the refusal and error page). */
const PAGES = {
  400: html('Broken entry link, or a SAML Response that is not valid, expired or already used: an explanatory page'),
  403: html('Access refused (the reason in words), or the ENT IdP answered an error: an explanatory page'),
  404: html('Unknown ENT project, or one without a registered IdP: an explanatory page'),
  500: html('Unexpected error: a page with the request id'),
  503: html('Database unavailable: a page asking to try again'),
};

const newRef = () => randomBytes(16).toString('base64url');

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * The ENT door: the `/domaineGar` entry link, the broker as SAML SP of each ENT project's IdP
 * (metadata and ACS), and the "choose your ENT" page other browser doors send people to.
 * It only translates: the decision, the release and the access-log row are app.access's.
 */
export const entEntryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const config = app.config;
  const keys = config.samlSpSigningKey && config.samlSpSigningCert ? loadSigningKeys(config.samlSpSigningKey, config.samlSpSigningCert) : app.idp.keys;
  const sp = createServiceProvider(config.brokerBaseUrl, keys);
  const secureCookie = config.brokerBaseUrl.startsWith('https:');

  const outcomes = new Counter({
    name: 'gar_broker_browser_door_total',
    help: 'Browser doors: ends by door, outcome (granted, refused, error, login, redirect_to_idp) and reason',
    labelNames: ['door', 'outcome', 'reason'] as const,
    registers: [app.metrics.registry],
  });
  const sha1 = new Counter({
    name: 'gar_broker_ent_idp_sha1_total',
    help: 'Accepted ENT IdP Responses whose signature used SHA-1, by ENT project (to know when it can be switched off)',
    labelNames: ['ent_id'] as const,
    registers: [app.metrics.registry],
  });

  // The HTTP-POST binding sends a form; SAML Responses stay well below 512 KiB.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const fail = (reply: FastifyReply, reason: PageReason, extra: { resourceName?: string | null; establishmentName?: string | null } = {}) => {
    outcomes.inc({ door: DOOR, outcome: reason === 'unavailable' ? 'error' : 'refused', reason });
    reply.request.log.info({ door: DOOR, reason }, 'entry door refusal');
    return renderRefusalPage(reply, { reason, ...extra });
  };

  // Browsers get pages, never problem+json nor a stack trace; only our own bugs answer 5xx.
  app.setErrorHandler((err, request, reply) => {
    if (isDatabaseUnavailable(err) || (err instanceof AppError && err.status === 503)) return fail(reply, 'unavailable');
    const status = (err as { statusCode?: number }).statusCode ?? (err instanceof AppError ? err.status : undefined);
    if (status !== undefined && status >= 400 && status < 500) {
      return fail(reply, request.routeOptions.url === '/saml/sp/acs' ? 'bad_assertion' : 'broken_entry_link');
    }
    request.log.error({ err }, 'unexpected error in the ENT door');
    outcomes.inc({ door: DOOR, outcome: 'error', reason: 'internal' });
    return renderRefusalPage(reply, { reason: 'unavailable', status: 500 });
  });

  /** Sends the browser to the ENT project's IdP with a signed AuthnRequest; the request waits in the database. */
  async function toIdp(reply: FastifyReply, idp: { sso_url: string }, kept: { entId: string; uai: string | null; resourceId: string | null; returnPath: string | null }) {
    const now = app.clock();
    const id = newRef();
    const { location, requestId } = sp.authnRequest({ ssoUrl: idp.sso_url }, id, now);
    await keepEntryRequest(app.db, { id, authnRequestId: requestId, ...kept }, now, config.entryRequestMinutes);
    // Expired rows go from time to time, on whichever replica is busy; nothing reads them once expired.
    if (Math.random() < 0.01) purgeExpired(app.db, now).catch((err) => reply.request.log.warn({ err: { message: err.message } }, 'purge failed'));
    outcomes.inc({ door: DOOR, outcome: 'redirect_to_idp', reason: 'none' });
    return reply.header('cache-control', 'no-store').redirect(location, 302);
  }

  /** Decides through the one access path, then sends the browser on: to the resource's URL, or with a posted Response. */
  async function decideAndSend(
    request: FastifyRequest,
    reply: FastifyReply,
    who: { sessionId: string; entId: string; personId: string; uai: string | null; uaiHint: string | null; resourceId: string },
  ) {
    const names = await resourceAndEstablishment(app.db, who.resourceId, who.uai ?? who.uaiHint);
    type Sent = { kind: 'redirect'; url: string } | { kind: 'post'; acsUrl: string; xml: string };
    let sent: Sent;
    try {
      sent = await app.access.open<Sent>(
        {
          door: DOOR,
          entId: who.entId,
          personId: who.personId,
          ...(who.uai ? { uai: who.uai } : {}),
          uaiHint: who.uaiHint,
          resourceId: who.resourceId,
          clientIp: request.ip,
          requestId: String(request.id),
        },
        async (grant) => {
          const mode = names.ssoMode ?? (names.resourceUrl ? 'redirect' : 'unsolicited');
          // GAR's way: send the browser to the resource, whose own SP-initiated login comes back to us; nothing is released here.
          if (mode === 'redirect' && names.resourceUrl) return { artefact: { kind: 'redirect', url: names.resourceUrl }, attributes: [] };
          const built = app.idp.issue({
            spEntityId: grant.resource.spEntityId,
            acsUrl: grant.resource.acsUrl,
            nameId: grant.ido,
            attributes: grant.attributes,
            now: app.clock(),
            encryptionCertificate: grant.resource.encryptionCertificate,
          });
          await app.sessions.addParticipant(who.sessionId, {
            door: DOOR,
            resourceId: grant.resource.id,
            party: grant.resource.spEntityId,
            nameId: grant.ido,
            sessionIndex: built.sessionIndex,
            sloUrl: null,
          });
          return { artefact: { kind: 'post', acsUrl: grant.resource.acsUrl, xml: built.xml }, responseId: built.responseId, keyId: app.idp.keys.keyId };
        },
      );
    } catch (err) {
      if (!(err instanceof AccessRefused)) throw err;
      // A person who left, restricted or objected keeps no session: the next door asks the ENT again.
      if (err.reason === 'person_gone' || err.reason === 'restricted' || err.reason === 'objected') {
        await app.sessions.end(who.sessionId, err.reason);
        app.sessions.clearCookie(reply);
      }
      const establishmentName =
        err.context.uai && err.context.uai !== (who.uai ?? who.uaiHint) ? (await resourceAndEstablishment(app.db, who.resourceId, err.context.uai)).establishmentName : names.establishmentName;
      return fail(reply, err.reason, { resourceName: names.resourceName, establishmentName });
    }
    outcomes.inc({ door: DOOR, outcome: 'granted', reason: 'none' });
    if (sent.kind === 'redirect') return reply.header('cache-control', 'no-store').redirect(sent.url, request.method === 'POST' ? 303 : 302);
    const pageOut = autoPostPage(sent.acsUrl, Buffer.from(sent.xml).toString('base64'));
    return reply.headers(pageOut.headers).type('text/html; charset=utf-8').send(pageOut.html);
  }

  app.get(
    '/domaineGar',
    {
      schema: {
        tags,
        summary: 'The entry link an ENT’s media centre opens (GAR’s urlAccesRessource)',
        description:
          'Without a broker session for that ENT project: keeps the request for a few minutes and redirects (302) to the ' +
          'project’s IdP with a signed AuthnRequest (HTTP-Redirect binding, RelayState naming the kept request). With one: ' +
          'decides at once, then redirects to the resource’s `resourceUrl` (302) or answers a page that posts a SAML ' +
          'Response to its ACS (`ssoMode: unsolicited`). Refusals and errors answer an HTML page (French first, English ' +
          'with Accept-Language) with a 4xx status.',
        querystring: Type.Object({
          idENT: Type.Optional(Type.String({ description: 'Base64 of the ENT project code, padding optional (`QjA=`, `QjA%3D`, `QjA`)' })),
          idEtab: Type.Optional(Type.String({ description: 'Base64 of the UAI; absent: the person’s establishment' })),
          idRessource: Type.Optional(Type.String({ description: 'the resource ARK, URL-encoded or raw' })),
          idSrc: Type.Optional(Type.String({ description: 'older links: Base64 of the ARK (or of its n2t.net URL)' })),
        }),
        response: {
          200: html('Granted, `ssoMode: unsolicited`: a page that posts the SAML Response to the publisher’s ACS'),
          302: redirect('To the ENT IdP (AuthnRequest), or, granted, to the resource’s URL'),
          ...PAGES,
        },
      },
    },
    async (request, reply) => {
      const link = parseEntryLink(request.query as Record<string, unknown>);
      if (!link) return fail(reply, 'broken_entry_link');
      const project = await projectWithIdp(app.db, link.entId);
      if (!project) return fail(reply, 'unknown_ent_project');
      const session = await app.sessions.current(request);
      if (session && session.entId === link.entId) {
        return decideAndSend(request, reply, {
          sessionId: session.id,
          entId: session.entId,
          personId: session.personId,
          uai: link.uai,
          uaiHint: link.uai ?? session.uaiHint,
          resourceId: link.resourceId,
        });
      }
      if (!project.sso_url) return fail(reply, 'ent_not_connected');
      return toIdp(reply, { sso_url: project.sso_url }, { entId: link.entId, uai: link.uai, resourceId: link.resourceId, returnPath: null });
    },
  );

  app.get(
    '/saml/sp/metadata',
    {
      schema: {
        tags,
        summary: 'The broker’s SAML SP metadata, to give to each ENT IdP (entityID is this URL)',
        response: {
          200: { description: 'SAML 2.0 metadata', content: { 'application/samlmetadata+xml': { schema: Type.String() } } },
          304: { description: 'Not modified', type: 'null' },
        },
      },
    },
    async (request, reply) => {
      reply.header('etag', sp.metadataEtag).header('cache-control', 'public, max-age=3600');
      if (request.headers['if-none-match'] === sp.metadataEtag) return reply.status(304).send();
      return reply.type('application/samlmetadata+xml').send(sp.metadataXml);
    },
  );

  app.post(
    '/saml/sp/acs',
    {
      bodyLimit: 512 * 1024,
      schema: {
        tags,
        summary: 'The broker’s AssertionConsumerService (HTTP-POST binding) for ENT IdPs',
        description:
          'Takes the ENT IdP’s Response to an AuthnRequest the broker sent: signed Response or Assertion (at least one, by a ' +
          'key of that project’s IdP), RSA-SHA256 or RSA-SHA1 when the IdP allows it, Audience = SP entityID or ACS URL, ' +
          'Recipient = ACS, InResponseTo = the kept request, within the time window (3 minutes of skew), never seen before, ' +
          '`idEnt` = the entry link’s project. Then starts the broker session and continues as the entry link would.',
        consumes: ['application/x-www-form-urlencoded'],
        body: Type.Object({ SAMLResponse: Type.Optional(Type.String()), RelayState: Type.Optional(Type.String()) }),
        response: {
          200: html('Granted, `ssoMode: unsolicited`: a page that posts the SAML Response to the publisher’s ACS'),
          303: redirect('Granted: to the resource’s URL; or, after a login from the discovery page, to its `return` path'),
          ...PAGES,
        },
      },
    },
    async (request, reply) => {
      const { SAMLResponse, RelayState } = request.body;
      if (!SAMLResponse || !RelayState) return fail(reply, 'bad_assertion');
      // Ours are 22 characters; the binding caps RelayState at 80 bytes (saml-bindings 3.5.3).
      if (RelayState.length > 80) return fail(reply, 'expired_request');
      const now = app.clock();
      const kept = await findEntryRequest(app.db, RelayState, now);
      if (!kept) return fail(reply, 'expired_request');
      const project = await projectWithIdp(app.db, kept.entId);
      if (!project?.entity_id || !project.signing_certificates) return fail(reply, 'ent_not_connected');
      let verified;
      try {
        verified = await verifyIdpResponse(
          SAMLResponse,
          { entityId: project.entity_id, certificates: project.signing_certificates, allowSha1: project.allow_sha1 ?? true },
          { spEntityId: sp.entityId, acsUrl: sp.acsUrl, requestId: kept.authnRequestId, now, decryptionKey: keys.key },
        );
      } catch (err) {
        if (!(err instanceof SamlResponseError)) throw err;
        request.log.info({ door: DOOR, entId: kept.entId, detail: err.detail }, 'ENT IdP Response refused');
        return fail(reply, err.problem);
      }
      const idEnt = verified.attributes.get(project.attr_ent_id ?? 'idEnt') ?? [];
      const personIds = verified.attributes.get(project.attr_person_id ?? 'GARPersonIdentifiant') ?? [];
      // The IdP must vouch for the project the link named: a platform serving several projects cannot log into another's.
      if (idEnt.length !== 1 || idEnt[0] !== kept.entId) {
        request.log.info({ door: DOOR, entId: kept.entId }, 'ENT IdP Response names another ENT project (idEnt)');
        return fail(reply, 'bad_assertion');
      }
      const personId = personIds[0] ?? '';
      if (personIds.length !== 1 || personId === '' || personId.length > 64) {
        request.log.info({ door: DOOR, entId: kept.entId }, 'ENT IdP Response without one person id');
        return fail(reply, 'bad_assertion');
      }
      // Single use of the kept request, then of the assertion ID: in the database, so every replica agrees.
      if (!(await takeEntryRequest(app.db, kept.id))) return fail(reply, 'expired_request');
      if (!(await rememberAssertion(app.db, verified.issuer, verified.assertionId, verified.rememberUntil))) {
        request.log.warn({ door: DOOR, entId: kept.entId }, 'replayed ENT assertion refused');
        return fail(reply, 'bad_assertion');
      }
      if (verified.sha1) sha1.inc({ ent_id: kept.entId });
      const session = await app.sessions.start(reply, {
        entId: kept.entId,
        personId,
        uaiHint: kept.uai,
        authnInstant: verified.authnInstant ?? now,
        authnContextClassRef: verified.authnContextClassRef,
        idp: { entityId: verified.issuer, nameId: verified.nameId, nameIdFormat: verified.nameIdFormat, sessionIndex: verified.sessionIndex },
      });
      outcomes.inc({ door: DOOR, outcome: 'login', reason: 'none' });
      if (kept.resourceId) {
        return decideAndSend(request, reply, {
          sessionId: session.id,
          entId: kept.entId,
          personId,
          uai: kept.uai,
          uaiHint: kept.uai,
          resourceId: kept.resourceId,
        });
      }
      return reply.redirect(safeReturnPath(kept.returnPath) ?? '/discovery', 303);
    },
  );

  await app.register(entLogoutRoutes, { sp });

  app.get(
    '/discovery',
    {
      schema: {
        tags,
        summary: 'Choose your ENT: the login page every browser door sends people without a session to',
        description:
          'Lists the ENT projects that have an IdP, filtered by `q` (a plain GET form, no script). With `entId` it ' +
          'remembers the choice in a cookie and starts that ENT’s login; after the ACS the browser goes to `return`, a ' +
          'broker-relative path (starting with `/`, not `//`). A browser that already has a session goes to `return` at once.',
        querystring: Type.Object({
          return: Type.Optional(Type.String({ description: 'broker-relative path to go to after login' })),
          q: Type.Optional(Type.String({ description: 'filter on the ENT’s name or code' })),
          entId: Type.Optional(Type.String({ description: 'the chosen ENT project: starts its login' })),
        }),
        response: {
          200: html('The list of ENT projects to choose from'),
          302: redirect('To the chosen ENT’s IdP, or to `return` when a session exists'),
          ...PAGES,
        },
      },
    },
    async (request, reply) => {
      const q = request.query as { return?: string; q?: string; entId?: string };
      const returnPath = safeReturnPath(q.return ?? '/');
      if (!returnPath) return fail(reply, 'broken_entry_link');
      if (await app.sessions.current(request)) return reply.redirect(returnPath, 302);
      if (q.entId) {
        const project = await projectWithIdp(app.db, q.entId.slice(0, 64));
        if (!project) return fail(reply, 'unknown_ent_project');
        if (!project.sso_url) return fail(reply, 'ent_not_connected');
        // Remembered for a year, readable by this page only; Lax is enough for a top-level navigation.
        reply.header(
          'set-cookie',
          `${ENT_COOKIE}=${encodeURIComponent(project.id)}; Path=/discovery; Max-Age=31536000; HttpOnly; SameSite=Lax${secureCookie ? '; Secure' : ''}`,
        );
        return toIdp(reply, { sso_url: project.sso_url }, { entId: project.id, uai: null, resourceId: null, returnPath });
      }
      const query = (q.q ?? '').trim().slice(0, 100);
      const projects = await connectedProjects(app.db, query || undefined);
      const rememberedId = cookieValue(request, ENT_COOKIE);
      const remembered = rememberedId ? ((await connectedProjects(app.db, undefined)).find((p) => p.id === rememberedId) ?? null) : null;
      return sendPage(reply, 200, discoveryHtml({ lang: langOf(request), returnPath, query, projects, remembered }));
    },
  );
};
