/*
 * TEMPORARY (until the lead's src/access and src/session land): the contract's app.access and
 * app.sessions, just enough for the CAS/OIDC door tests. Deleted at merge.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { decisionFacts } from '../src/modules/sso/sso.repository.js';
import { isGranted, refusalReason, refusalText, releasedAttributes } from '../src/modules/sso/sso.service.js';
import { errors } from '../src/errors.js';
import type { BrowserSession, Participant } from '../src/doors/contract.js';

export function installShim(app: FastifyInstance) {
  const sessions = new Map<string, BrowserSession & { ended?: boolean; participants: Participant[] }>();
  const a = app as any;
  if (a.access) return;
  a.access = {
    async open(req: any, issue: any) {
      const uai = req.uai ?? req.uaiHint;
      const facts = await decisionFacts(app.database, { entId: req.entId, uai, personId: req.personId, resourceId: req.resourceId, now: app.clock() });
      const reason = refusalReason(facts, req.entId);
      const base = { at: app.clock(), ent_id: req.entId, uai, person_ref: facts.person?.ref ?? null, profile: null, resource_id: req.resourceId, publisher_id: facts.resource?.publisherId ?? null, client_ip: req.clientIp, request_id: req.requestId };
      if (reason !== null || !isGranted(facts)) {
        const why = reason ?? 'unknown_person';
        await app.accessLog.write({ ...base, outcome: 'refused', reason: why });
        const e = errors.accessRefused(refusalText(why), why);
        (e as any).reason = why;
        throw e;
      }
      const { ido, attributes } = releasedAttributes(facts, { idoSecret: app.config.idoSecret, uai, entId: req.entId, personId: req.personId });
      const issued = await issue({ entId: req.entId, uai, personId: req.personId, ido, attributes, resource: facts.resource, profiles: facts.person.profiles });
      await app.accessLog.write({ ...base, outcome: 'granted', reason: null, attributes: issued.attributes ?? attributes.map((x) => x.name), response_id: issued.responseId ?? null });
      return issued.artefact;
    },
  };
  a.sessions = {
    async current(request: any) {
      const m = /gar_session=([^;]+)/.exec(request.headers.cookie ?? '');
      const s = m && sessions.get(m[1]!);
      return s && !s.ended ? s : null;
    },
    async end(id: string) {
      for (const s of sessions.values()) if (s.id === id) s.ended = true;
    },
    clearCookie(reply: any) {
      reply.header('set-cookie', 'gar_session=; Max-Age=0; Path=/');
    },
    async addParticipant(id: string, p: Participant) {
      for (const s of sessions.values()) if (s.id === id) s.participants.push(p);
    },
    async participants(id: string) {
      for (const s of sessions.values()) if (s.id === id) return s.participants;
      return [];
    },
    loginUrl: (ret: string) => `/discovery?return=${encodeURIComponent(ret)}`,
  };
  return {
    open(init: { entId: string; personId: string; uaiHint?: string; authnInstant?: Date }) {
      const token = randomBytes(16).toString('base64url');
      const session = { id: randomBytes(8).toString('hex'), entId: init.entId, personId: init.personId, uaiHint: init.uaiHint ?? null, authnInstant: init.authnInstant ?? app.clock(), participants: [] };
      sessions.set(token, session);
      return { cookie: `gar_session=${token}`, session };
    },
  };
}
