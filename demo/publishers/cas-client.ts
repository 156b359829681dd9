import type { FastifyInstance } from 'fastify';
import { esc, Sessions, siteApp } from '../lib/site.js';
import { errorPage, resourcePage, sessionPage, type PublisherSite } from './common.js';

/*
 * A publisher's CAS 3.0 client: /login?service=, then /p3/serviceValidate (JSON), the attributes
 * IDO, UAI, PRO, DIV…; the broker's back-channel logout (a POSTed SAML LogoutRequest whose
 * SessionIndex is the ticket) ends the session that ticket opened.
 */

/** Attributes of the CAS protocol itself (CAS 3.0 §2.5.7), not about the person. */
const CAS_PROTOCOL = new Set(['authenticationDate', 'isFromNewLogin', 'longTermAuthenticationRequestTokenUsed']);

interface CasSession {
  ticket: string;
  user: string;
  attributes: Record<string, unknown>;
}

export function casPublisher(o: PublisherSite & { base: string }) {
  const sessions = new Sessions<CasSession>('demo_cas_pub_session');
  const service = `${o.base}/`;
  const app: FastifyInstance = siteApp();

  app.get('/', async (request, reply) => {
    const s = sessions.get(request);
    const ticket = (request.query as { ticket?: string }).ticket;
    if (ticket) {
      try {
        const url = `${o.brokerUrl}/p3/serviceValidate?${new URLSearchParams({ service, ticket, format: 'json' })}`;
        const res = await fetch(url);
        const body = (await res.json()) as {
          serviceResponse: { authenticationSuccess?: { user: string; attributes?: Record<string, unknown> }; authenticationFailure?: { code: string; description: string } };
        };
        const ok = body.serviceResponse.authenticationSuccess;
        if (!ok) throw new Error(`${body.serviceResponse.authenticationFailure?.code}: ${body.serviceResponse.authenticationFailure?.description}`);
        sessions.open(reply, { ticket, user: ok.user, attributes: ok.attributes ?? {} });
        return reply.redirect(service, 303);
      } catch (err) {
        return errorPage(reply, o, 'Ticket CAS refusé', err);
      }
    }
    if (s) {
      const person = Object.fromEntries(Object.entries(s.attributes).filter(([k]) => !CAS_PROTOCOL.has(k)));
      const protocol = Object.entries(s.attributes).filter(([k]) => CAS_PROTOCOL.has(k));
      const note = `<p class="note">cas:user (opaque) : <code>${esc(s.user.slice(0, 16))}…</code> · protocole : ${protocol.map(([k, v]) => `${esc(k)}=${esc(v)}`).join(', ')}</p>`;
      return resourcePage(reply, o, person, note);
    }
    return reply.redirect(`${o.brokerUrl}/login?${new URLSearchParams({ service })}`);
  });

  // Back-channel logout: the broker POSTs logoutRequest to the service URL.
  app.post('/', async (request, reply) => {
    const xml = (request.body as { logoutRequest?: string } | undefined)?.logoutRequest;
    const index = xml && /<samlp:SessionIndex>([^<]+)<\/samlp:SessionIndex>/.exec(xml)?.[1];
    if (!index) return reply.status(400).send('no logoutRequest');
    sessions.endWhere((s) => s.ticket === index);
    return reply.status(200).send('ok');
  });

  app.get('/session', async (request, reply) => sessionPage(reply, o, Boolean(sessions.get(request))));
  return { app, service };
}
