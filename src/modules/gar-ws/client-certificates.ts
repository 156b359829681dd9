import { X509Certificate } from 'node:crypto';
import type { TLSSocket, PeerCertificate } from 'node:tls';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors } from '../../errors.js';
import { ListOf, problems, Timestamp } from '../../lib/http-schemas.js';
import type { Caller, Role } from '../../plugins/auth.js';
import { garError } from './gar-ws.errors.js';

/*
 * Who is calling the client-certificate listener: the operator maps a certificate (its SHA-256
 * fingerprint, or its subject and issuer, for a CA that reissues) to one publisher or one ENT
 * project, with validity dates; revoking keeps the row (the log can still name it).
 */

/** A distinguished name in one stable text form: `CN=…, O=…` in the certificate's order. */
export function dnText(dn: string): string {
  return dn
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean)
    .join(', ');
}

const CertificateInput = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 255 }),
    certificate: Type.Optional(Type.String({ maxLength: 20_000, description: 'PEM: its fingerprint, subject, issuer and validity are read from it' })),
    fingerprint256: Type.Optional(Type.String({ pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$', description: 'SHA-256 of the DER, hex pairs separated by colons' })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'e.g. "C=FR, O=Éditions, CN=ws.editions.example"' })),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    publisherId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    entId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    validFrom: Type.Optional(Timestamp),
    validUntil: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
type CertificateInput = Static<typeof CertificateInput>;

const CertificateView = Type.Object({
  id: Type.String(),
  label: Type.String(),
  fingerprint256: Type.Union([Type.String(), Type.Null()]),
  subject: Type.Union([Type.String(), Type.Null()]),
  issuer: Type.Union([Type.String(), Type.Null()]),
  publisherId: Type.Union([Type.String(), Type.Null()]),
  entId: Type.Union([Type.String(), Type.Null()]),
  validFrom: Timestamp,
  validUntil: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
});

type Row = Awaited<ReturnType<typeof listCertificates>>[number];
const view = (r: Row) => ({
  id: r.id,
  label: r.label,
  fingerprint256: r.fingerprint256,
  subject: r.subject,
  issuer: r.issuer,
  publisherId: r.publisher_id,
  entId: r.ent_id,
  validFrom: new Date(r.valid_from).toISOString(),
  validUntil: new Date(r.valid_until).toISOString(),
  revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  createdAt: new Date(r.created_at).toISOString(),
});

async function listCertificates(db: Kysely<Database>) {
  return db.selectFrom('client_certificates').selectAll().orderBy('created_at').orderBy('id').execute();
}

function resolveInput(input: CertificateInput) {
  const fields: FieldErrorList = [];
  let { fingerprint256, subject, issuer, validFrom, validUntil } = input;
  if (input.certificate !== undefined) {
    try {
      const cert = new X509Certificate(input.certificate);
      fingerprint256 ??= cert.fingerprint256;
      subject ??= dnText(cert.subject);
      issuer ??= dnText(cert.issuer);
      validFrom ??= new Date(cert.validFrom).toISOString();
      validUntil ??= new Date(cert.validTo).toISOString();
    } catch {
      fields.push({ path: 'body/certificate', message: 'not an X.509 certificate in PEM' });
    }
  }
  if (fingerprint256 === undefined && (subject === undefined || issuer === undefined)) {
    fields.push({ path: 'body/fingerprint256', message: 'give the certificate, its fingerprint256, or its subject and issuer' });
  }
  if ((input.publisherId === undefined) === (input.entId === undefined)) {
    fields.push({ path: 'body/publisherId', message: 'give publisherId or entId: the one caller this certificate authenticates' });
  }
  if (validUntil === undefined) fields.push({ path: 'body/validUntil', message: 'required unless the certificate is given' });
  if (validFrom && validUntil && new Date(validUntil) <= new Date(validFrom)) fields.push({ path: 'body/validUntil', message: 'must come after validFrom' });
  if (fields.length > 0) throw errors.validation(`${fields.length} invalid field(s)`, fields);
  return { fingerprint256: fingerprint256?.toUpperCase(), subject, issuer, validFrom, validUntil: validUntil! };
}
type FieldErrorList = Array<{ path: string; message: string }>;

/** Operator: the certificates the client-certificate listener accepts. */
export const clientCertificatesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['client certificates'];
  app.post(
    '/client-certificates',
    {
      schema: {
        tags,
        summary: 'Accept a client certificate for a publisher or an ENT project (GAR_WS_PORT listener)',
        description: 'Give the PEM (fingerprint, subject, issuer and validity are read from it) or its fingerprint256, or its subject and issuer.',
        body: CertificateInput,
        response: { 201: CertificateView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const r = resolveInput(request.body);
      const { publisherId, entId, label } = request.body;
      if (publisherId && !(await app.db.selectFrom('publishers').select('id').where('id', '=', publisherId).executeTakeFirst())) throw errors.notFound('publisher', publisherId);
      if (entId && !(await app.db.selectFrom('ent_projects').select('id').where('id', '=', entId).executeTakeFirst())) throw errors.notFound('ENT project', entId);
      const row = await app.db
        .insertInto('client_certificates')
        .values({
          label,
          fingerprint256: r.fingerprint256 ?? null,
          subject: r.subject ?? null,
          issuer: r.issuer ?? null,
          publisher_id: publisherId ?? null,
          ent_id: entId ?? null,
          valid_from: r.validFrom ?? app.clock(),
          valid_until: r.validUntil,
          created_at: app.clock(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return reply.status(201).send(view(row));
    },
  );
  app.get(
    '/client-certificates',
    { schema: { tags, summary: 'The accepted client certificates, revoked ones included', response: { 200: ListOf(CertificateView), ...problems(401, 403) } } },
    async () => ({ items: (await listCertificates(app.db)).map(view) }),
  );
  app.delete(
    '/client-certificates/:id',
    {
      schema: {
        tags,
        summary: 'Revoke a client certificate (kept, marked revoked)',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 204: { type: 'null', description: 'Revoked' }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const res = await app.db
        .updateTable('client_certificates')
        .set({ revoked_at: app.clock() })
        .where('id', '=', request.params.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw errors.notFound('active client certificate', request.params.id);
      return reply.status(204).send();
    },
  );
};

/** What the certificate presented on this request says, from the TLS socket or a trusted proxy's header. */
export interface PresentedCertificate {
  fingerprint256: string;
  subject: string;
  issuer: string;
}

function fromPeer(peer: PeerCertificate): PresentedCertificate | undefined {
  if (!peer || !peer.raw) return undefined;
  const x = new X509Certificate(peer.raw);
  return { fingerprint256: x.fingerprint256.toUpperCase(), subject: dnText(x.subject), issuer: dnText(x.issuer) };
}

/** The header a TLS-terminating proxy puts the client certificate in (URL-encoded PEM, as nginx's $ssl_client_escaped_cert). */
export const CLIENT_CERT_HEADER = 'x-client-cert';

export function presentedCertificate(request: FastifyRequest, trustProxyHops: number): { cert?: PresentedCertificate; why?: string } {
  const socket = request.raw.socket as TLSSocket;
  const tls = typeof socket.getPeerCertificate === 'function';
  const viaTls = tls && socket.authorized ? fromPeer(socket.getPeerCertificate(false)) : undefined;
  if (viaTls) return { cert: viaTls };
  const header = request.headers[CLIENT_CERT_HEADER];
  // Where the broker terminates TLS itself there is no proxy to vouch for a header: only the handshake counts.
  if (header !== undefined && tls) return { why: `${CLIENT_CERT_HEADER} header ignored on the TLS listener; present the certificate in the handshake` };
  if (header !== undefined) {
    // Only from a trusted proxy: with no trusted hop, anyone could claim any certificate.
    if (trustProxyHops <= 0) return { why: `${CLIENT_CERT_HEADER} header ignored: TRUST_PROXY_HOPS is 0` };
    if (!isTrustedHop(request)) return { why: `${CLIENT_CERT_HEADER} header ignored: not sent by a trusted proxy hop` };
    try {
      const x = new X509Certificate(decodeURIComponent(String(header)));
      return { cert: { fingerprint256: x.fingerprint256.toUpperCase(), subject: dnText(x.subject), issuer: dnText(x.issuer) } };
    } catch {
      return { why: `${CLIENT_CERT_HEADER} header is not a URL-encoded PEM certificate` };
    }
  }
  if (typeof socket.getPeerCertificate === 'function' && !socket.authorized) {
    return { why: `no client certificate trusted by the CA bundle (${String(socket.authorizationError ?? 'none presented')})` };
  }
  return { why: 'no client certificate' };
}

/**
 * The header is believed only when the connection comes from the proxy itself: Fastify's trustProxy
 * (the same TRUST_PROXY_HOPS) then reports an ip different from the socket's peer, or the socket's
 * peer is a loopback or private address of the proxy tier.
 */
function isTrustedHop(request: FastifyRequest): boolean {
  const peer = request.raw.socket.remoteAddress ?? '';
  return /^(127\.|::1$|::ffff:127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|fd|fc)/.test(peer);
}

export type CertificateVerdict = { caller: Caller; label: string } | { refused: string };

/** The caller a presented certificate maps to now, or why it is refused. */
export async function callerForCertificate(db: Kysely<Database>, cert: PresentedCertificate, now: Date): Promise<CertificateVerdict> {
  const rows = await db
    .selectFrom('client_certificates')
    .selectAll()
    .where((eb) => eb.or([eb('fingerprint256', '=', cert.fingerprint256), eb.and([eb('subject', '=', cert.subject), eb('issuer', '=', cert.issuer)])]))
    .execute();
  if (rows.length === 0) return { refused: 'unknown certificate: no mapping for its fingerprint or subject and issuer' };
  // The exact fingerprint wins over a subject match.
  rows.sort((a, b) => Number(b.fingerprint256 === cert.fingerprint256) - Number(a.fingerprint256 === cert.fingerprint256));
  const reasons: string[] = [];
  for (const r of rows) {
    if (r.revoked_at !== null) reasons.push(`mapping "${r.label}" revoked`);
    else if (new Date(r.valid_from) > now) reasons.push(`mapping "${r.label}" not valid before ${new Date(r.valid_from).toISOString()}`);
    else if (new Date(r.valid_until) <= now) reasons.push(`mapping "${r.label}" expired at ${new Date(r.valid_until).toISOString()}`);
    else {
      const caller: Caller = r.publisher_id
        ? { sub: `cert:${r.id}`, role: 'publisher', publisherId: r.publisher_id }
        : { sub: `cert:${r.id}`, role: 'ent', entId: r.ent_id! };
      return { caller, label: r.label };
    }
  }
  return { refused: reasons.join('; ') };
}

/** The guard of the client-certificate listener: the certificate, mapped by the operator, names the caller. */
export function certificateGuard(db: Kysely<Database>, trustProxyHops: number, now: () => Date) {
  return (roles: readonly Role[]): onRequestHookHandler =>
    async (request) => {
      const presented = presentedCertificate(request, trustProxyHops);
      if (!presented.cert) {
        request.log.warn({ reason: presented.why }, 'client certificate refused');
        throw garError(401, `client certificate required: ${presented.why}`);
      }
      const verdict = await callerForCertificate(db, presented.cert, now());
      if ('refused' in verdict) {
        // The fingerprint and DNs name a server or an organisation, not a person: safe to log.
        request.log.warn({ reason: verdict.refused, fingerprint256: presented.cert.fingerprint256, subject: presented.cert.subject }, 'client certificate refused');
        throw garError(403, `client certificate refused: ${verdict.refused}`);
      }
      if (!roles.includes(verdict.caller.role)) {
        request.log.warn({ reason: 'wrong role', certificate: verdict.label }, 'client certificate refused');
        throw garError(403, `this service is for ${roles.join(' or ')} certificates; "${verdict.label}" is a ${verdict.caller.role} certificate`);
      }
      request.caller = verdict.caller;
    };
}
