import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodePost, decodeRedirect } from '../../saml/inbound.js';
import { IDP_PATHS } from '../../saml/metadata.js';
import { STATUS } from '../../saml/response.js';
import { guarded, rawQuery } from '../saml-browser.js';
import { renderErrorPage } from './page.js';
import { dropPending, readPending } from './saml-idp.repository.js';
import { continueLogout, handleLogoutRequest, handleLogoutResponse } from './slo.js';
import { admitAuthnRequest, answer, answerStatus, DoorError, sendToLogin, type Inbound, type KeptAuthnRequest } from './sso.js';

const tags = ['saml-idp'];
// Base64 of a 64 KiB message and a RelayState; anything longer is not a SAML message we would read.
const Message = Type.String({ maxLength: 96 * 1024 });
const Relay = Type.String({ maxLength: 2048, description: 'echoed to the SP; for SSO, the resource URL (how GAR names the resource)' });
const Html = { description: 'an HTML page (auto-posted SAML message, redirect step or readable error)', content: { 'text/html': { schema: Type.String() } } };
const Redirect = { description: 'to the ENT login (no session), or an HTTP-Redirect SAML message', type: 'null' } as const;
const PageError = (d: string) => ({ description: d, content: { 'text/html': { schema: Type.String() } } });

const SsoQuery = Type.Object({
  SAMLRequest: Type.Optional(Message),
  RelayState: Type.Optional(Relay),
  SigAlg: Type.Optional(Type.String({ maxLength: 256 })),
  Signature: Type.Optional(Type.String({ maxLength: 4096 })),
  resume: Type.Optional(Type.String({ maxLength: 64, description: 'a kept AuthnRequest, after the ENT login' })),
});
const PostBody = Type.Object({ SAMLRequest: Type.Optional(Message), SAMLResponse: Type.Optional(Message), RelayState: Type.Optional(Relay) });
const SloQuery = Type.Object({
  SAMLRequest: Type.Optional(Message),
  SAMLResponse: Type.Optional(Message),
  RelayState: Type.Optional(Relay),
  SigAlg: Type.Optional(Type.String({ maxLength: 256 })),
  Signature: Type.Optional(Type.String({ maxLength: 4096 })),
  logout: Type.Optional(Type.String({ maxLength: 64 })),
  step: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
});


/** Public: the broker as the SAML IdP of publishers' SPs (SP-initiated SSO and single logout). */
export const samlIdpRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // The HTTP-POST binding sends an HTML form; only these routes read that content type.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 200 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const sso = async (request: FastifyRequest, reply: FastifyReply, inbound: Inbound) =>
    guarded(reply, async () => {
      const kept = await admitAuthnRequest(app, inbound);
      const current = await app.sessions.currentWithParticipants(request);
      if (!current) return sendToLogin(app, reply, kept);
      return answer(app, request, reply, kept, current);
    });

  app.get(
    IDP_PATHS.ssoRedirect,
    {
      schema: {
        tags,
        summary: 'SP-initiated SSO, HTTP-Redirect binding (AuthnRequest deflated and base64 in the query, optionally signed)',
        description:
          'With a broker session, answers a page that posts the signed Response (or a SAML error status) to the SP’s ' +
          'registered ACS, echoing RelayState. Without one, keeps the request and redirects to the ENT login, which ' +
          'comes back with `resume`. Bad requests (unknown SP, unregistered ACS, bad signature) are readable pages.',
        querystring: SsoQuery,
        response: { 200: Html, 302: Redirect, 400: PageError('unreadable or inconsistent request'), 403: PageError('unknown SP or refused signature') },
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (q.resume !== undefined) {
        return guarded(reply, async () => {
          const kept = await readPending<KeptAuthnRequest>(app.db, 'authn', q.resume!, app.clock());
          if (!kept) throw new DoorError(400, 'Demande expirée', 'the sign-in request has expired or was already answered; open the resource again');
          const current = await app.sessions.currentWithParticipants(request);
          await dropPending(app.db, q.resume!);
          // Back from the ENT without a session: the person could not be authenticated there.
          if (!current) return answerStatus(app, reply, kept, STATUS.responder, STATUS.authnFailed, 'the person could not be authenticated at their ENT');
          return answer(app, request, reply, kept, current);
        });
      }
      if (!q.SAMLRequest) return renderErrorPage(reply, { status: 400, title: 'Demande de connexion absente', detail: 'SAMLRequest is missing' });
      return guarded(reply, async () =>
        sso(request, reply, { xml: decodeRedirect(q.SAMLRequest!), binding: 'redirect', rawQuery: rawQuery(request), ...(q.RelayState !== undefined ? { relayState: q.RelayState } : {}) }),
      );
    },
  );

  app.post(
    IDP_PATHS.ssoPost,
    {
      bodyLimit: 200 * 1024,
      schema: {
        tags,
        summary: 'SP-initiated SSO, HTTP-POST binding (AuthnRequest base64 in a form, optionally with an enveloped signature)',
        description: 'Answers as the Redirect binding does.',
        consumes: ['application/x-www-form-urlencoded'],
        body: PostBody,
        response: { 200: Html, 302: Redirect, 400: PageError('unreadable or inconsistent request'), 403: PageError('unknown SP or refused signature') },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (!b.SAMLRequest) return renderErrorPage(reply, { status: 400, title: 'Demande de connexion absente', detail: 'SAMLRequest is missing' });
      return guarded(reply, async () => sso(request, reply, { xml: decodePost(b.SAMLRequest!), binding: 'post', ...(b.RelayState !== undefined ? { relayState: b.RelayState } : {}) }));
    },
  );

  const slo = (request: FastifyRequest, reply: FastifyReply, m: { SAMLRequest?: string; SAMLResponse?: string; RelayState?: string }, binding: 'redirect' | 'post') =>
    guarded(reply, async () => {
      const decode = binding === 'redirect' ? decodeRedirect : decodePost;
      const relay = m.RelayState !== undefined ? { relayState: m.RelayState } : {};
      if (m.SAMLRequest) return handleLogoutRequest(app, request, reply, { xml: decode(m.SAMLRequest), binding, rawQuery: rawQuery(request), ...relay });
      if (m.SAMLResponse) return handleLogoutResponse(app, reply, { xml: decode(m.SAMLResponse), binding, ...relay });
      return renderErrorPage(reply, { status: 400, title: 'Demande de déconnexion absente', detail: 'SAMLRequest or SAMLResponse is missing' });
    });
  const sloSchema = (binding: string) => ({
    tags,
    summary: `Single logout, ${binding} binding: a LogoutRequest from an SP (or a LogoutResponse during propagation)`,
    description:
      'Ends the broker session, tells the session’s other SAML SPs that declared a SingleLogoutService (front ' +
      'channel, one after another, each with a timeout), then answers the initiator with a LogoutResponse.',
    response: { 200: Html, 302: Redirect, 400: PageError('unreadable request'), 403: PageError('unknown SP or refused signature') },
  });

  app.get(IDP_PATHS.sloRedirect, { schema: { ...sloSchema('HTTP-Redirect'), querystring: SloQuery } }, async (request, reply) => {
    const q = request.query;
    if (q.logout !== undefined) return continueLogout(app, reply, q.logout, q.step ?? 0);
    return slo(request, reply, q, 'redirect');
  });
  // Some SPs post to the Redirect location; the body says which binding it is.
  app.post(IDP_PATHS.sloRedirect, { bodyLimit: 200 * 1024, schema: { ...sloSchema('HTTP-POST (at the Redirect location)'), consumes: ['application/x-www-form-urlencoded'], body: PostBody } }, async (request, reply) =>
    slo(request, reply, request.body, 'post'),
  );
  app.post(IDP_PATHS.sloPost, { bodyLimit: 200 * 1024, schema: { ...sloSchema('HTTP-POST'), consumes: ['application/x-www-form-urlencoded'], body: PostBody } }, async (request, reply) =>
    slo(request, reply, request.body, 'post'),
  );
};
