/*
 * TEMPORARY: the access core and browser session contract (coord/ACCESS-SESSION.md), declared here
 * until the lead's src/access/ and src/session/ land on main; then this file re-exports theirs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

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
  resource: { id: string; publisherId: string; accessUrl: string | null };
  profiles: string[];
}
export interface Issued<T> {
  artefact: T;
  responseId?: string | null;
  keyId?: string | null;
  attributes?: string[];
}
export interface BrowserSession {
  id: string;
  entId: string;
  personId: string;
  uaiHint: string | null;
  authnInstant: Date;
}
export interface Participant {
  door: Door;
  resourceId: string;
  entityIdOrService: string;
  nameId?: string | null;
  sessionIndex?: string | null;
  sloUrl?: string | null;
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

/** The refusal reason of an AccessRefused, or undefined for any other error. */
export function refusalOf(err: unknown): string | undefined {
  if (!(err instanceof AppError) || err.status !== 403) return undefined;
  const reason = (err as { reason?: unknown }).reason ?? err.extra.reason;
  return typeof reason === 'string' ? reason : undefined;
}
