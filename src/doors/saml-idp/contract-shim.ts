// TEMPORARY: the contract of /work/coord/ACCESS-SESSION.md until main's src/access and src/session land.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import type { RefusalReason } from '../../modules/sso/sso.service.js';

export type Door = 'api_sso' | 'entry_link' | 'saml_idp' | 'cas' | 'oidc';
export interface AccessRequest {
  door: Door;
  entId: string;
  personId: string;
  uai?: string;
  uaiHint?: string | null;
  resourceId: string;
  clientIp: string | null;
  requestId: string;
}
export interface Grant {
  entId: string;
  uai: string;
  personId: string;
  ido: string;
  attributes: Array<{ name: string; values: string[] }>;
  resource: { id: string; publisherId: string; spEntityId: string; acsUrl: string; encryptionCertificate: string | null; accessUrl: string | null };
  profiles: string[];
}
export interface Issued<T> {
  artefact: T;
  responseId?: string | null;
  keyId?: string | null;
  attributes?: string[];
}
export class AccessRefused extends AppError {
  constructor(readonly reason: RefusalReason, detail: string) {
    super(403, 'access-refused', 'Access refused', detail, { reason });
  }
}
export interface BrowserSession {
  id: string;
  entId: string;
  personId: string;
  uaiHint: string | null;
  authnInstant: Date;
  authnContextClassRef: string | null;
}
export interface Participant {
  door: Door;
  resourceId: string | null;
  entityIdOrService: string;
  nameId: string | null;
  sessionIndex: string | null;
  sloUrl: string | null;
}
declare module 'fastify' {
  interface FastifyInstance {
    access: { open<T>(req: AccessRequest, issue: (grant: Grant) => Promise<Issued<T>> | Issued<T>): Promise<T> };
    sessions: {
      current(request: FastifyRequest): Promise<BrowserSession | null>;
      end(sessionId: string, reason: string): Promise<void>;
      clearCookie(reply: FastifyReply): void;
      addParticipant(sessionId: string, p: Participant): Promise<void>;
      participants(sessionId: string): Promise<Participant[]>;
      loginUrl(returnPath: string): string;
    };
  }
}

// TEMPORARY stand-in of the lead's src/access and src/session, so this door can be run before the merge.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { decisionFacts } from '../../modules/sso/sso.repository.js';
import { isGranted, refusalReason, refusalText, releasedAttributes } from '../../modules/sso/sso.service.js';

export const shimSessions = new Map<string, BrowserSession & { ended?: boolean; participants: Participant[] }>();

export function installContractShim(app: FastifyInstance): void {
  if (app.hasDecorator('access')) return;
  app.decorate('access', {
    async open<T>(req: AccessRequest, issue: (grant: Grant) => Promise<Issued<T>> | Issued<T>): Promise<T> {
      const uai = req.uai ?? req.uaiHint!;
      const now = app.clock();
      const facts = await decisionFacts(app.database, { entId: req.entId, uai, personId: req.personId, resourceId: req.resourceId, now });
      const base = { at: now, ent_id: req.entId, uai, person_ref: facts.person?.ref ?? null, profile: null, resource_id: req.resourceId, publisher_id: facts.resource?.publisherId ?? null, client_ip: req.clientIp, request_id: req.requestId };
      const reason = refusalReason(facts, req.entId);
      if (reason !== null || !isGranted(facts)) {
        const why = reason ?? 'unknown_person';
        await app.accessLog.write({ ...base, outcome: 'refused', reason: why });
        throw new AccessRefused(why, refusalText(why));
      }
      const { ido, attributes } = releasedAttributes(facts, { idoSecret: app.config.idoSecret, uai, entId: req.entId, personId: req.personId });
      const issued = await issue({ entId: req.entId, uai, personId: req.personId, ido, attributes, resource: { ...facts.resource }, profiles: facts.person.profiles });
      await app.accessLog.write({ ...base, outcome: 'granted', reason: null, attributes: issued.attributes ?? attributes.map((a) => a.name), key_id: issued.keyId ?? null, response_id: issued.responseId ?? null });
      return issued.artefact;
    },
  });
  app.decorate('sessions', {
    async current(request: FastifyRequest) {
      const m = /gar_session=([^;]+)/.exec(request.headers.cookie ?? '');
      const s = m ? shimSessions.get(m[1]!) : undefined;
      return s && !s.ended ? s : null;
    },
    async end(id: string) {
      for (const s of shimSessions.values()) if (s.id === id) s.ended = true;
    },
    clearCookie(reply: FastifyReply) {
      reply.header('set-cookie', 'gar_session=; Path=/; Max-Age=0');
    },
    async addParticipant(id: string, p: Participant) {
      for (const s of shimSessions.values()) if (s.id === id) s.participants.push(p);
    },
    async participants(id: string) {
      for (const s of shimSessions.values()) if (s.id === id) return s.participants;
      return [];
    },
    loginUrl: (returnPath: string) => `/discovery?return=${encodeURIComponent(returnPath)}`,
  });
}

export function shimOpenSession(p: { entId: string; personId: string; uaiHint?: string }) {
  const token = randomBytes(16).toString('hex');
  const session = { id: randomBytes(8).toString('hex'), entId: p.entId, personId: p.personId, uaiHint: p.uaiHint ?? null, authnInstant: new Date(), authnContextClassRef: null, participants: [] };
  shimSessions.set(token, session);
  return { cookie: `gar_session=${token}`, session };
}
