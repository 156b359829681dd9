import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodePost, decodeRedirect, readLogoutRequest } from '../../saml/inbound.js';
import { buildLogoutResponse, redirectUrl, STATUS } from '../../saml/response.js';
import type { ServiceProvider } from '../../saml/sp.js';
import { guarded, rawQuery, verifyInboundSignature } from '../saml-browser.js';
import { renderErrorPage, renderLoggedOut } from '../saml-idp/page.js';
import { dropPending, keepPending, readPending } from '../saml-idp/saml-idp.repository.js';
import { propagateLogout } from '../saml-idp/slo.js';
import { DoorError, type Inbound } from '../saml-idp/sso.js';
import { idpsByEntity } from './ent-entry.repository.js';

const tags = ['browser'];
const ANSWER_SECONDS = 5 * 60;
const Message = Type.String({ maxLength: 96 * 1024 });
const Relay = Type.String({ maxLength: 2048, description: 'echoed to the ENT IdP with the LogoutResponse' });
const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });
const RESPONSES = {
  200: html('A logout step (the publishers are told one after another in a frame), or “logged out”'),
  302: { description: 'To the next step, or to the ENT IdP’s SingleLogoutService with the signed LogoutResponse', type: 'null' } as const,
  400: html('Unreadable or inconsistent LogoutRequest'),
  403: html('Unknown IdP or refused signature'),
};

/** The answer owed to the ENT's IdP, kept while the publishers are told. */
interface OwedAnswer {
  destination: string;
  inResponseTo: string;
  relayState: string | null;
}

/**
 * Logout started at the ENT: its IdP's LogoutRequest arrives at the broker's SP SingleLogoutService.
 * The broker ends the sessions it names, tells the publishers of the browser's session (SAML front
 * channel by propagateLogout; CAS back channel through the session's end listeners), then answers
 * the IdP with a LogoutResponse signed by the SP key.
 */
export const entLogoutRoutes: FastifyPluginAsyncTypebox<{ sp: ServiceProvider }> = async (app, { sp }) => {
  async function logoutRequest(request: FastifyRequest, reply: FastifyReply, inbound: Inbound): Promise<FastifyReply> {
    const req = readLogoutRequest(inbound.xml);
    const idps = await idpsByEntity(app.db, req.issuer);
    if (idps.length === 0) throw new DoorError(403, 'Déconnexion refusée', `no ENT project has registered the IdP ${req.issuer}`);
    if (req.destination !== undefined && req.destination !== sp.sloUrl) throw new DoorError(400, 'Déconnexion refusée', 'the Destination is not this SingleLogoutService');
    // Always signed (SAML profiles 4.4.4.1): an unsigned one could log anyone out from a cross-site link.
    const certs = [...new Set(idps.flatMap((i) => i.signing_certificates))];
    verifyInboundSignature(inbound, req, certs);
    if (!req.nameId) throw new DoorError(400, 'Déconnexion refusée', 'the LogoutRequest has no NameID');

    const subject = { entityId: req.issuer, nameId: req.nameId, sessionIndexes: req.sessionIndexes };
    const current = await app.sessions.current(request);
    const inThisBrowser =
      current && current.idp.entityId === req.issuer && current.idp.nameId === req.nameId &&
      (req.sessionIndexes.length === 0 || req.sessionIndexes.includes(current.idp.sessionIndex ?? ''))
        ? current
        : null;
    // Sessions of other browsers end here too (their CAS services are told by the end listeners);
    // only this browser can carry the SAML front-channel requests.
    await app.sessions.endForIdpSubject(subject, 'ent_slo');

    const destination = idps.find((i) => i.slo_url)?.slo_url ?? null;
    const owed: OwedAnswer | null = destination ? { destination, inResponseTo: req.id, relayState: inbound.relayState ?? null } : null;
    const id = owed ? await keepPending(app.db, 'ent_logout', owed, app.clock(), ANSWER_SECONDS) : 'none';
    const returnTo = `/saml/sp/slo?done=${id}`;
    if (inThisBrowser) return propagateLogout(app, reply, { sessionId: inThisBrowser.id, returnTo });
    return answerIdp(reply, id);
  }

  /** The end of the chain: the signed LogoutResponse to the IdP, or a page when it declared no SLO endpoint. */
  async function answerIdp(reply: FastifyReply, id: string): Promise<FastifyReply> {
    const owed = id === 'none' ? undefined : await readPending<OwedAnswer>(app.db, 'ent_logout', id, app.clock());
    if (!owed) return renderLoggedOut(reply);
    await dropPending(app.db, id);
    const { xml } = buildLogoutResponse({ idpEntityId: sp.entityId, destination: owed.destination, inResponseTo: owed.inResponseTo, code: STATUS.success, now: app.clock() });
    return reply.redirect(redirectUrl(owed.destination, 'SAMLResponse', xml, owed.relayState ?? undefined, sp.keys), 302);
  }

  const handle = (request: FastifyRequest, reply: FastifyReply, m: { SAMLRequest?: string; SAMLResponse?: string; RelayState?: string }, binding: 'redirect' | 'post') =>
    guarded(reply, async () => {
      const relay = m.RelayState !== undefined ? { relayState: m.RelayState } : {};
      const decode = binding === 'redirect' ? decodeRedirect : decodePost;
      if (m.SAMLRequest) return logoutRequest(request, reply, { xml: decode(m.SAMLRequest), binding, rawQuery: rawQuery(request), ...relay });
      // The broker starts no logout at the ENT, so a LogoutResponse only closes the page.
      if (m.SAMLResponse) return renderLoggedOut(reply);
      return renderErrorPage(reply, { status: 400, title: 'Demande de déconnexion absente', detail: 'SAMLRequest is missing' });
    });

  const description =
    'A logout started at the ENT: the IdP’s LogoutRequest (signed; Redirect query signature or enveloped POST ' +
    'signature, by a key of a project that registered this IdP). Ends the broker sessions it names (NameID and ' +
    'SessionIndex); in this browser, tells the session’s SAML publishers that declared a SingleLogoutService one ' +
    'after another, CAS services by back channel; then redirects to the IdP’s SingleLogoutService with a signed ' +
    'LogoutResponse (Success: best effort, as SAML allows). `done` is the last step, reached by the logout page.';
  app.get(
    '/saml/sp/slo',
    {
      schema: {
        tags,
        summary: 'The broker’s SP SingleLogoutService for ENT IdPs (HTTP-Redirect binding)',
        description,
        querystring: Type.Object({
          SAMLRequest: Type.Optional(Message),
          SAMLResponse: Type.Optional(Message),
          RelayState: Type.Optional(Relay),
          SigAlg: Type.Optional(Type.String({ maxLength: 256 })),
          Signature: Type.Optional(Type.String({ maxLength: 4096 })),
          done: Type.Optional(Type.String({ maxLength: 64, description: 'the kept answer to the IdP, after the publishers were told' })),
        }),
        response: RESPONSES,
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (q.done !== undefined) return answerIdp(reply, q.done);
      return handle(request, reply, q, 'redirect');
    },
  );
  app.post(
    '/saml/sp/slo',
    {
      bodyLimit: 200 * 1024,
      schema: {
        tags,
        summary: 'The broker’s SP SingleLogoutService for ENT IdPs (HTTP-POST binding)',
        description,
        consumes: ['application/x-www-form-urlencoded'],
        body: Type.Object({ SAMLRequest: Type.Optional(Message), SAMLResponse: Type.Optional(Message), RelayState: Type.Optional(Relay) }),
        response: RESPONSES,
      },
    },
    async (request, reply) => handle(request, reply, request.body, 'post'),
  );
};
