import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { xmlText } from '../../saml/xml.js';
import { refusalOf } from '../contract.js';
import { renderRefusalPage } from '../refusal-page.js';
import { findCasService, normalizeService } from './cas.registration.js';
import { casJson, casXml, type CasAnswer } from './cas.protocol.js';
import { casUser, newTicket, storeTicket, sweepTickets, takeTicket, ticketRef, type CasRelease } from './cas.tickets.js';
import { notifyCasLogout } from './cas.logout.js';

const tags = ['cas'];
/** A login started for a /login request counts as "new" for it if it ends within this time. */
const RESUME_SECONDS = 600;

const flag = (v: string | undefined) => v !== undefined && v !== 'false' && v !== '0';

const Service = Type.String({ maxLength: 2048, description: 'the service URL, as registered by the resource' });
const LoginQuery = Type.Object({
  service: Type.Optional(Service),
  renew: Type.Optional(Type.String({ maxLength: 8, description: '`true`: a fresh login through the ENT, whatever the session' })),
  gateway: Type.Optional(Type.String({ maxLength: 8, description: '`true`: never show a page; back to the service without ticket' })),
  resume: Type.Optional(Type.String({ maxLength: 200, description: 'set by the broker when it comes back from the ENT login' })),
});
const ValidateQuery = Type.Object({
  service: Type.Optional(Type.String({ maxLength: 2048 })),
  ticket: Type.Optional(Type.String({ maxLength: 256 })),
  renew: Type.Optional(Type.String({ maxLength: 8 })),
  format: Type.Optional(Type.String({ maxLength: 8, description: '`JSON` (any case) for the JSON form; XML otherwise' })),
  pgtUrl: Type.Optional(Type.String({ maxLength: 2048, description: 'ignored: the broker issues no proxy tickets' })),
});
const LogoutQuery = Type.Object({ service: Type.Optional(Service), url: Type.Optional(Service) });

const html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });
const redirect = (description: string) => ({ description, type: 'null' as const });

function page(reply: FastifyReply, status: number, title: string, text: string) {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${xmlText(title)}</title></head><body><h1>${xmlText(title)}</h1><p>${xmlText(text)}</p></body></html>`);
}

/** The service URL with `ticket=` added before any fragment, the rest left as the service wrote it. */
function withTicket(service: URL, ticket: string): string {
  const href = service.href;
  const hashAt = href.indexOf('#');
  const base = hashAt < 0 ? href : href.slice(0, hashAt);
  return `${base}${base.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}${hashAt < 0 ? '' : href.slice(hashAt)}`;
}

/**
 * The state carried through the ENT login: when it started, for this service, signed so that the
 * browser cannot claim a login it did not make (renew=true relies on it).
 */
function resumeSigner(app: FastifyInstance) {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(app.config.idoSecret, 'hex'), Buffer.alloc(0), 'gar-broker cas resume', 32));
  const mac = (service: string, at: number) => createHmac('sha256', key).update(`${at}\n${service}`).digest('base64url');
  return {
    make: (service: string, now: Date) => `${now.getTime()}.${mac(service, now.getTime())}`,
    /** The start time, if the state is genuine and recent. */
    read(service: string, state: string | undefined, now: Date): Date | undefined {
      const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(state ?? '');
      if (!m) return undefined;
      const at = Number(m[1]);
      const expected = Buffer.from(mac(service, at));
      if (!timingSafeEqual(expected, Buffer.from(m[2]!))) return undefined;
      if (now.getTime() - at > RESUME_SECONDS * 1000 || at > now.getTime() + 5000) return undefined;
      return new Date(at);
    },
  };
}

/** Public: the broker's CAS 3.0 server for publishers (paths as GAR serves them). */
export const casRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const resume = resumeSigner(app);
  // However a broker session ends (CAS or SAML logout, ENT logout, restriction), its CAS services are told.
  app.sessions.onEnd((sessionId) => notifyCasLogout(app, sessionId));

  app.get(
    '/login',
    {
      schema: {
        tags,
        summary: 'CAS login: a service ticket for the service, from the broker session',
        description:
          'With a broker session whose access decision grants, redirects to the service with `ticket=ST-…` (single use, ' +
          'valid 10 s, bound to the service URL). Without a session, redirects to the ENT choice page and comes back. ' +
          'A refusal answers the refusal page (403). `gateway=true`: no page ever, back to the service without ticket. ' +
          '`renew=true`: the session is ended and a new ENT login is required. An unregistered service: 400 page.',
        querystring: LoginQuery,
        response: {
          200: html('Already logged in (no service given)'),
          302: redirect('To the service with a ticket, to the ENT login, or (gateway) to the service without ticket'),
          400: html('Missing, malformed or unregistered service'),
          403: html('The access decision refused; the page says why and whom to ask'),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const now = app.clock();
      const session = await app.sessions.current(request);
      if (q.service === undefined) {
        if (!session) return reply.redirect(app.sessions.loginUrl('/login'), 302);
        return page(reply, 200, 'Connecté', 'Vous êtes connecté au GAR. Retournez à votre ressource.');
      }
      const service = normalizeService(q.service);
      const match = service && (await findCasService(app.db, service));
      // Never redirect to a URL no resource registered: that would be an open redirect.
      if (!service || !match) return page(reply, 400, 'Service inconnu', 'Cette adresse de service n’est enregistrée pour aucune ressource.');

      const renew = flag(q.renew);
      const gateway = flag(q.gateway) && !renew; // renew wins (CAS 3.0 §2.1.1)
      const startedAt = resume.read(q.service, q.resume, now);
      const fresh = !!session && !!startedAt && session.authnInstant.getTime() >= startedAt.getTime();
      const toLogin = () => {
        const back = new URLSearchParams({ service: q.service!, ...(renew ? { renew: 'true' } : {}), resume: resume.make(q.service!, now) });
        return reply.redirect(app.sessions.loginUrl(`/login?${back.toString()}`), 302);
      };
      if (!session) return gateway ? reply.redirect(service.href, 302) : toLogin();
      if (renew && !fresh) {
        // A login through the ENT again: this session (and its services) ends, as for a logout.
        await app.sessions.end(session.id, 'cas_renew');
        app.sessions.clearCookie(reply);
        return toLogin();
      }

      let ticket: string;
      let user: string;
      try {
        ({ ticket, user } = await app.access.open(
          {
            door: 'cas',
            entId: session.entId,
            personId: session.personId,
            uaiHint: session.uaiHint,
            resourceId: match.resourceId,
            clientIp: request.ip,
            requestId: request.id,
          },
          async (grant) => {
            const t = newTicket();
            const release: CasRelease = {
              user: casUser(app.config.idoSecret, grant.resource.id, grant.ido),
              attributes: grant.attributes,
              authenticationDate: session.authnInstant.toISOString(),
              isFromNewLogin: fresh,
            };
            await sweepTickets(app.db, now);
            await storeTicket(app.db, { ticket: t, service: service.href, resourceId: grant.resource.id, sessionId: session.id, release, now });
            return { artefact: { ticket: t, user: release.user }, responseId: ticketRef(t) };
          },
        ));
      } catch (err) {
        const reason = refusalOf(err);
        if (reason === undefined) throw err;
        if (gateway) return reply.redirect(service.href, 302);
        return renderRefusalPage(reply, { reason });
      }
      await app.sessions.addParticipant(session.id, {
        door: 'cas',
        resourceId: match.resourceId,
        party: service.href,
        nameId: user,
        sessionIndex: ticket,
        sloUrl: match.backChannelLogout ? service.href : null,
      });
      return reply.redirect(withTicket(service, ticket), 302);
    },
  );

  const validateSchema = (summary: string) => ({
    tags,
    summary,
    description:
      'Always 200: the answer is in the document (CAS 3.0). Success: `cas:user` (opaque, per resource) and `cas:attributes` ' +
      '(one element per value of each released code, plus authenticationDate and isFromNewLogin), exactly what the decision ' +
      'at /login released. Failure codes: INVALID_REQUEST (a parameter missing), INVALID_TICKET (unknown, used, expired, ' +
      'or renew asked and the ticket did not come from a new login), INVALID_SERVICE (another service). A ticket is good for ' +
      'one attempt, failed or not. `format=JSON` answers the JSON form.',
    querystring: ValidateQuery,
    response: {
      200: {
        description: 'CAS serviceResponse',
        content: { 'application/xml': { schema: Type.String() }, 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } },
      },
    },
  });

  const validate = async (q: { service?: string; ticket?: string; renew?: string }): Promise<CasAnswer> => {
    if (!q.service || !q.ticket) return { ok: false, code: 'INVALID_REQUEST', description: 'service and ticket are required' };
    if (!q.ticket.startsWith('ST-')) return { ok: false, code: 'INVALID_TICKET', description: `ticket ${q.ticket} not recognized` };
    const taken = await takeTicket(app.db, q.ticket);
    if (!taken) return { ok: false, code: 'INVALID_TICKET', description: `ticket ${q.ticket} not recognized` };
    if (taken.expiresAt.getTime() <= app.clock().getTime()) return { ok: false, code: 'INVALID_TICKET', description: `ticket ${q.ticket} expired` };
    const given = normalizeService(q.service);
    if (!given || given.href !== taken.service) {
      return { ok: false, code: 'INVALID_SERVICE', description: `ticket ${q.ticket} does not belong to service ${q.service}` };
    }
    if (flag(q.renew) && !taken.release.isFromNewLogin) {
      return { ok: false, code: 'INVALID_TICKET', description: `ticket ${q.ticket} did not come from a new login (renew)` };
    }
    return { ok: true, release: taken.release };
  };

  for (const [path, summary] of [
    ['/p3/serviceValidate', 'CAS 3.0 service ticket validation'],
    ['/serviceValidate', 'CAS 2.0 path of the same validation (older clients), with the same attributes'],
  ] as const) {
    app.get(path, { schema: validateSchema(summary) }, async (request, reply) => {
      const answer = await validate(request.query);
      if (!answer.ok) request.log.info({ cas: answer.code }, 'CAS validation failed');
      if (request.query.format?.toUpperCase() === 'JSON') return reply.type('application/json; charset=utf-8').send(JSON.stringify(casJson(answer)));
      return reply.type('application/xml; charset=utf-8').send(casXml(answer));
    });
  }

  app.get(
    '/logout',
    {
      schema: {
        tags,
        summary: 'CAS logout: ends the broker session and tells its CAS services (back channel)',
        description:
          'Each CAS service that received a ticket in this session (and asked for it) gets a POST `logoutRequest`. ' +
          'Then back to `service` (or `url`) if a resource registered it, else a logged-out page.',
        querystring: LogoutQuery,
        response: { 200: html('Logged out'), 302: redirect('Back to the registered service') },
      },
    },
    async (request, reply) => {
      const session = await app.sessions.current(request);
      if (session) {
        await app.sessions.end(session.id, 'cas_logout');
        app.sessions.clearCookie(reply);
      }
      const target = request.query.service ?? request.query.url;
      const service = target ? normalizeService(target) : null;
      if (service && (await findCasService(app.db, service))) return reply.redirect(service.href, 302);
      return page(reply, 200, 'Déconnecté', 'Vous êtes déconnecté du GAR. Fermez votre navigateur pour terminer aussi la session de votre ENT.');
    },
  );
};
