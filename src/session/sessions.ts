import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/connect.js';
import type { Database } from '../db/database.js';
import { GroupCommit } from '../db/group-commit.js';
import {
  deleteStaleSessions,
  endSessions,
  insertParticipants,
  insertSession,
  listParticipants,
  touchLiveSession,
  type ParticipantRow,
  type SessionRow,
} from './session.repository.js';

export const SESSION_COOKIE = 'gar_session';
export const DEFAULT_AUTHN_CONTEXT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

/** A person logged in through their ENT's IdP: what every browser door builds on. */
export interface BrowserSession {
  id: string;
  entId: string;
  personId: string;
  /** The establishment the person came from (entry link's idEtab), preferred when a door names none. */
  uaiHint: string | null;
  authnInstant: Date;
  authnContextClassRef: string;
  idp: { entityId: string | null; nameId: string | null; nameIdFormat: string | null; sessionIndex: string | null };
  createdAt: Date;
}

export interface SessionInit {
  entId: string;
  personId: string;
  uaiHint?: string | null;
  authnInstant?: Date;
  authnContextClassRef?: string | null;
  idp?: Partial<BrowserSession['idp']>;
}

export interface Participant {
  door: string;
  resourceId: string;
  /** SP entityID, CAS service URL or OIDC client id. */
  party: string;
  nameId?: string | null;
  sessionIndex?: string | null;
  sloUrl?: string | null;
}

export interface Sessions {
  current(request: FastifyRequest): Promise<BrowserSession | null>;
  /** The same read, with the session's participants from the same statement (a door that needs both). */
  currentWithParticipants(request: FastifyRequest): Promise<{ session: BrowserSession; participants: Required<Participant>[] } | null>;
  start(reply: FastifyReply, init: SessionInit): Promise<BrowserSession>;
  /** Creates the row and returns the cookie value, for callers that set the cookie themselves (tests, tools). */
  create(init: SessionInit): Promise<{ session: BrowserSession; token: string }>;
  end(sessionId: string, reason: string): Promise<void>;
  /** Ends every live session of a person (restriction, departure): returns the ids ended. */
  endForPerson(entId: string, personId: string, reason: string): Promise<string[]>;
  /** Ends the live sessions the ENT's IdP names in a LogoutRequest (its NameID, and SessionIndexes if any). */
  endForIdpSubject(idp: { entityId: string; nameId: string; sessionIndexes: string[] }, reason: string): Promise<string[]>;
  clearCookie(reply: FastifyReply): void;
  addParticipant(sessionId: string, p: Participant): Promise<void>;
  participants(sessionId: string): Promise<Required<Participant>[]>;
  /** Where a browser door sends a person without a session: choose their ENT, log in, come back. */
  loginUrl(returnPath: string): string;
  /** Deletes sessions ended or idle for longer than the absolute lifetime. */
  purge(): Promise<number>;
  /**
   * Called with each session that ends (logout, restriction, departure), after it has ended: a door
   * whose publishers must be told (CAS back-channel logout) registers here, so ending a session is
   * one call wherever it happens. Listener failures are logged, never the caller's failure.
   */
  onEnd(listener: (sessionId: string) => Promise<unknown>): void;
}

const toParticipant = (r: ParticipantRow): Required<Participant> => ({
  door: r.door,
  resourceId: r.resource_id,
  party: r.party,
  nameId: r.name_id,
  sessionIndex: r.session_index,
  sloUrl: r.slo_url,
});

const hashOf = (token: string) => createHash('sha256').update(token).digest();

function toSession(r: Pick<SessionRow, 'id' | 'ent_id' | 'person_id' | 'uai_hint' | 'authn_instant' | 'authn_context_class_ref' | 'idp_entity_id' | 'idp_name_id' | 'idp_name_id_format' | 'idp_session_index' | 'created_at'>): BrowserSession {
  return {
    id: r.id,
    entId: r.ent_id,
    personId: r.person_id,
    uaiHint: r.uai_hint,
    authnInstant: new Date(r.authn_instant),
    authnContextClassRef: r.authn_context_class_ref,
    idp: { entityId: r.idp_entity_id, nameId: r.idp_name_id, nameIdFormat: r.idp_name_id_format, sessionIndex: r.idp_session_index },
    createdAt: new Date(r.created_at),
  };
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Only what a cookie we issued can look like: 32 random bytes in base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function createSessions(deps: {
  database: Pick<DatabaseHandle, 'db' | 'prepared'>;
  clock: () => Date;
  config: Pick<Config, 'brokerBaseUrl' | 'sessionIdleMinutes' | 'sessionAbsoluteHours'>;
  log?: { warn: (obj: object, msg: string) => void };
}): Sessions {
  const endListeners: Array<(sessionId: string) => Promise<unknown>> = [];
  const ended = async (ids: string[]) => {
    for (const id of ids) {
      for (const listener of endListeners) {
        await listener(id).catch((err: Error) => deps.log?.warn({ err: { message: err.message } }, 'a session-end listener failed'));
      }
    }
    return ids;
  };
  const secure = deps.config.brokerBaseUrl.startsWith('https:');
  const idleMs = deps.config.sessionIdleMinutes * 60_000;
  const absoluteMs = deps.config.sessionAbsoluteHours * 3_600_000;
  // SameSite=None on https: the ENT IdP's HTTP-POST to our ACS and a publisher's redirect back to our
  // SSO endpoints are cross-site navigations that must carry the session. Browsers refuse None without
  // Secure, so plain-http development uses Lax (top-level GET navigations still carry it).
  const attributes = `Path=/; HttpOnly${secure ? '; Secure; SameSite=None' : '; SameSite=Lax'}`;

  const db = deps.database.db;
  // The first answer to each party writes its row before it leaves; answers in flight together
  // share one INSERT. A row that fails (its session deleted meanwhile) fails only its own answer.
  const participantRows = new GroupCommit((rows: Database['browser_session_participants'][]) => insertParticipants(deps.database, rows), {
    isolateFailures: true,
  });

  async function touch(request: FastifyRequest) {
    const token = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (!token || !TOKEN.test(token)) return undefined;
    const now = deps.clock();
    return touchLiveSession(deps.database, {
      tokenHash: hashOf(token),
      now,
      idleSince: new Date(now.getTime() - idleMs),
      createdSince: new Date(now.getTime() - absoluteMs),
    });
  }

  async function create(init: SessionInit) {
    const token = randomBytes(32).toString('base64url');
    const now = deps.clock();
    const row = await insertSession(db, {
      token_hash: hashOf(token),
      ent_id: init.entId,
      person_id: init.personId,
      uai_hint: init.uaiHint ?? null,
      authn_instant: init.authnInstant ?? now,
      authn_context_class_ref: init.authnContextClassRef || DEFAULT_AUTHN_CONTEXT,
      idp_entity_id: init.idp?.entityId ?? null,
      idp_name_id: init.idp?.nameId ?? null,
      idp_name_id_format: init.idp?.nameIdFormat ?? null,
      idp_session_index: init.idp?.sessionIndex ?? null,
      created_at: now,
      last_seen_at: now,
    });
    return { session: toSession(row), token };
  }

  return {
    async current(request) {
      const row = await touch(request);
      return row ? toSession(row) : null;
    },
    async currentWithParticipants(request) {
      const row = await touch(request);
      return row ? { session: toSession(row), participants: row.participants.map(toParticipant) } : null;
    },
    async start(reply, init) {
      const { session, token } = await create(init);
      reply.header('set-cookie', `${SESSION_COOKIE}=${token}; ${attributes}; Max-Age=${Math.floor(absoluteMs / 1000)}`);
      return session;
    },
    create,
    async end(sessionId, reason) {
      await ended(await endSessions(db, { ids: [sessionId], now: deps.clock(), reason }));
    },
    async endForPerson(entId, personId, reason) {
      return ended(await endSessions(db, { entId, personId, now: deps.clock(), reason }));
    },
    async endForIdpSubject(idp, reason) {
      return ended(await endSessions(db, { idp, now: deps.clock(), reason }));
    },
    onEnd(listener) {
      endListeners.push(listener);
    },
    clearCookie(reply) {
      reply.header('set-cookie', `${SESSION_COOKIE}=; ${attributes}; Max-Age=0`);
    },
    async addParticipant(sessionId, p) {
      await participantRows.write({
        session_id: sessionId,
        door: p.door,
        resource_id: p.resourceId,
        party: p.party,
        name_id: p.nameId ?? null,
        session_index: p.sessionIndex ?? null,
        slo_url: p.sloUrl ?? null,
        created_at: deps.clock(),
      });
    },
    async participants(sessionId) {
      return (await listParticipants(db, sessionId)).map(toParticipant);
    },
    loginUrl(returnPath) {
      return `/discovery?return=${encodeURIComponent(safeReturnPath(returnPath))}`;
    },
    purge() {
      return deleteStaleSessions(db, new Date(deps.clock().getTime() - absoluteMs));
    },
  };
}

/** A return target is a path on this broker, never another site (no open redirect). */
export function safeReturnPath(path: string): string {
  if (!path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\') || /[\u0000-\u001f]/.test(path)) {
    throw new Error(`not a broker-relative path: ${JSON.stringify(path.slice(0, 40))}`);
  }
  return path;
}
