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
