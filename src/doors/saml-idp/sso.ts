import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { refusalText } from '../../modules/sso/sso.service.js';
import { autoPostPage } from '../../modules/sso/post-page.js';
import {
  readAuthnRequest,
  SamlMessageError,
  verifyPostSignature,
  verifyRedirectSignature,
  type AuthnRequest,
} from '../../saml/inbound.js';
import { SUPPORTED_NAMEID_FORMATS } from '../../saml/metadata.js';
import { samlId } from '../../saml/xml.js';
import { buildStatusResponse, NAMEID_FORMAT, STATUS } from '../../saml/response.js';
import { AccessRefused } from '../../access/access.js';
import type { BrowserSession, Participant } from '../../session/sessions.js';
import { renderErrorPage } from './page.js';
import { keepPending, resourcesOfSp, type SpResource } from './saml-idp.repository.js';

const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
/** Long enough to choose one's ENT and log in there; short enough that a kept request is not a token. */
export const PENDING_AUTHN_SECONDS = 10 * 60;
const PASSWORD_PROTECTED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

/** What is kept of an AuthnRequest while the person logs in at their ENT (JSON in saml_idp_pending). */
export interface KeptAuthnRequest {
  requestId: string;
  spEntityId: string;
  resourceId: string;
  acsUrl: string;
  nameIdFormat: string | null;
  isPassive: boolean;
  relayState: string | null;
}

/** A request that cannot be answered at the SP's ACS: a readable page. */
export class DoorError extends Error {
  constructor(readonly status: number, readonly title: string, message: string) {
    super(message);
  }
}

export const pageFor = (reply: FastifyReply, err: DoorError | SamlMessageError) =>
  err instanceof DoorError
    ? renderErrorPage(reply, { status: err.status, title: err.title, detail: err.message })
    : renderErrorPage(reply, { status: 400, title: 'Demande de connexion invalide', detail: err.message });

/**
 * Which of the SP's resources is meant: the RelayState names it (its ARK, or one of its URLs: the
 * declared urlAccesRessource, or the resourceUrl the entry link redirected to, which is what GAR's
 * publishers send back); else the only one.
 */
export function pickResource(resources: SpResource[], relayState: string | undefined): SpResource {
  if (relayState) {
    const norm = (u: string) => u.trim().replace(/\/+$/, '');
    const wanted = norm(relayState);
    const urlsOf = (r: SpResource) => [r.accessUrl, r.resourceUrl].filter((u): u is string => u !== null).map(norm);
    const exact = resources.find((r) => r.id === relayState || urlsOf(r).includes(wanted));
    if (exact) return exact;
    // A deep link inside a resource: the longest registered URL it starts with, at a path boundary.
    const prefixed = resources
      .flatMap((r) => urlsOf(r).filter((u) => wanted.startsWith(u) && /^[/?#]/.test(wanted.slice(u.length))).map((u) => ({ r, length: u.length })))
      .sort((a, b) => b.length - a.length);
    if (prefixed[0]) return prefixed[0].r;
  }
  if (resources.length === 1) return resources[0]!;
  throw new DoorError(
    400,
    'Ressource ambiguë',
    `this service provider serves ${resources.length} resources and the RelayState does not name one of them by its URL (urlAccesRessource or resourceUrl) or ARK`,
  );
}

/** The requested ACS must be one the SP registered, for the HTTP-POST binding the broker answers with. */
export function acsFor(resource: SpResource, req: Pick<AuthnRequest, 'acsUrl' | 'acsIndex' | 'protocolBinding'>): string {
  if (req.protocolBinding && req.protocolBinding !== HTTP_POST) {
    throw new DoorError(400, 'Liaison non prise en charge', `ProtocolBinding ${req.protocolBinding} is not supported: the broker answers by HTTP-POST`);
  }
  const posts = resource.profile.acs.filter((a) => a.binding === HTTP_POST);
  if (req.acsUrl !== undefined) {
    if (posts.some((a) => a.location === req.acsUrl) || req.acsUrl === resource.acsUrl) return req.acsUrl;
    throw new DoorError(400, 'Adresse de retour inconnue', `AssertionConsumerServiceURL ${req.acsUrl} is not registered for this service provider`);
  }
  if (req.acsIndex !== undefined) {
    const hit = resource.profile.acs.find((a) => a.index === req.acsIndex);
    if (hit && hit.binding === HTTP_POST) return hit.location;
    throw new DoorError(400, 'Adresse de retour inconnue', `AssertionConsumerServiceIndex ${req.acsIndex} is not a registered HTTP-POST endpoint of this service provider`);
  }
  // Metadata 2.2.3: the default endpoint is the one marked isDefault, else the first.
  return (posts.find((a) => a.isDefault) ?? posts[0])?.location ?? resource.acsUrl;
}

/** The NameID format to give; null when the SP asked one the broker cannot give (InvalidNameIDPolicy). */
export function nameIdFormatFor(requested: string | null, declared: string[]): string | null {
  const supported: readonly string[] = SUPPORTED_NAMEID_FORMATS;
  if (requested && requested !== NAMEID_FORMAT.unspecified) return supported.includes(requested) ? requested : null;
  return declared.find((f) => supported.includes(f)) ?? NAMEID_FORMAT.persistent;
}

export interface Inbound {
  xml: string;
  binding: 'redirect' | 'post';
  relayState?: string;
  /** The raw query string, for the Redirect binding's signature. */
  rawQuery?: string;
}

/**
 * Reads and checks an AuthnRequest up to the point where it can be answered at the SP's ACS:
 * known SP, its resource, a registered ACS, and the signature when one is required or present.
 */
export async function admitAuthnRequest(app: FastifyInstance, inbound: Inbound): Promise<KeptAuthnRequest> {
  const req = readAuthnRequest(inbound.xml);
  const resources = await resourcesOfSp(app.db, req.issuer);
  if (resources.length === 0) throw new DoorError(403, 'Service inconnu', `no resource is registered for the service provider ${req.issuer}`);
  const resource = pickResource(resources, inbound.relayState);
  const acsUrl = acsFor(resource, req);
  const queryHasSignature = inbound.binding === 'redirect' && /(^|&)Signature=/.test(inbound.rawQuery ?? '');
  const signed = inbound.binding === 'redirect' ? queryHasSignature : req.signed;
  const required = resource.profile.authnRequestsSigned || resource.options.requireSignedAuthnRequests;
  if (required || signed) {
    // A signature that is present is always checked: a forged one is refused even where unsigned would pass.
    if (!signed) throw new DoorError(403, 'Demande non signée', 'this service provider’s AuthnRequests must be signed');
    if (!resource.signingCertificate) throw new DoorError(403, 'Signature invérifiable', 'the service provider has no registered signing certificate');
    try {
      if (inbound.binding === 'redirect') verifyRedirectSignature(inbound.rawQuery!, 'SAMLRequest', [resource.signingCertificate]);
      else verifyPostSignature(req, [resource.signingCertificate]);
    } catch (err) {
      if (err instanceof SamlMessageError) throw new DoorError(403, 'Signature refusée', err.message);
      throw err;
    }
  }
  return {
    requestId: req.id,
    spEntityId: req.issuer,
    resourceId: resource.id,
    acsUrl,
    nameIdFormat: req.nameIdFormat ?? null,
    isPassive: req.isPassive,
    relayState: inbound.relayState ?? null,
  };
}

function postToAcs(reply: FastifyReply, kept: KeptAuthnRequest, xml: string): FastifyReply {
  const page = autoPostPage(kept.acsUrl, Buffer.from(xml).toString('base64'), kept.relayState ?? undefined);
  return reply.headers(page.headers).type('text/html; charset=utf-8').send(page.html);
}

/** A signed error Response at the SP's ACS, so that the SP software can say what happened. */
export function answerStatus(app: FastifyInstance, reply: FastifyReply, kept: KeptAuthnRequest, code: string, subCode?: string, message?: string) {
  const { xml } = buildStatusResponse(
    { idpEntityId: app.idp.entityId, destination: kept.acsUrl, inResponseTo: kept.requestId, code, ...(subCode ? { subCode } : {}), ...(message ? { message } : {}), now: app.clock() },
    app.idp.keys,
  );
  return postToAcs(reply, kept, xml);
}

/** No broker session: IsPassive gets NoPassive at once; otherwise the request waits while the person logs in. */
export async function sendToLogin(app: FastifyInstance, reply: FastifyReply, kept: KeptAuthnRequest) {
  if (kept.isPassive) return answerStatus(app, reply, kept, STATUS.responder, STATUS.noPassive, 'no session at the broker and IsPassive was asked');
  const id = await keepPending(app.db, 'authn', kept, app.clock(), PENDING_AUTHN_SECONDS);
  return reply.redirect(app.sessions.loginUrl(`/idp/profile/SAML2/Redirect/SSO?resume=${id}`), 302);
}

// 160 random bits, NCName-shaped: opaque, never reused, and recognisable as transient in SLO.
const opaque = samlId;
export const isTransient = (nameId: string) => nameId.startsWith('_');

/** The answer with a session: the one access decision, then a Response in the SP's terms. */
export async function answer(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  kept: KeptAuthnRequest,
  { session, participants }: { session: BrowserSession; participants: Required<Participant>[] },
) {
  const resource = (await resourcesOfSp(app.db, kept.spEntityId)).find((r) => r.id === kept.resourceId);
  if (!resource) return answerStatus(app, reply, kept, STATUS.responder, undefined, 'the resource is no longer registered');
  const format = nameIdFormatFor(kept.nameIdFormat, resource.profile.nameIdFormats);
  if (format === null) {
    return answerStatus(app, reply, kept, STATUS.requester, STATUS.invalidNameIdPolicy, `NameID format ${kept.nameIdFormat} cannot be given; use persistent or transient`);
  }
  // One SessionIndex (and one transient NameID) per broker session and SP, reused for its next resources.
  const earlier = participants.filter((p) => p.door === 'saml_idp' && p.party === resource.entityId);
  const sessionIndex = earlier.find((p) => p.sessionIndex)?.sessionIndex ?? opaque();
  const transient = earlier.map((p) => p.nameId).find((n): n is string => !!n && isTransient(n)) ?? opaque();
  let built;
  try {
    built = await app.access.open(
      { door: 'saml_idp', entId: session.entId, personId: session.personId, uaiHint: session.uaiHint, resourceId: resource.id, clientIp: request.ip, requestId: request.id },
      (grant) => {
        const nameId = format === NAMEID_FORMAT.transient ? transient : grant.ido;
        const response = app.idp.issue({
          spEntityId: resource.entityId,
          acsUrl: kept.acsUrl,
          nameId,
          nameIdFormat: format,
          attributes: grant.attributes,
          now: app.clock(),
          inResponseTo: kept.requestId,
          sessionIndex,
          authnInstant: session.authnInstant,
          authnContextClassRef: session.authnContextClassRef ?? PASSWORD_PROTECTED,
          signing: resource.options.signing,
          attributeNameFormat: resource.options.attributeNameFormat,
          encryptionCertificate: resource.options.encrypt ? resource.encryptionCertificate : null,
          encryptionMethods: resource.profile.encryptionMethods,
        });
        return { artefact: { response, nameId }, responseId: response.responseId, keyId: app.idp.keys.keyId };
      },
    );
  } catch (err) {
    if (err instanceof AccessRefused) return answerStatus(app, reply, kept, STATUS.responder, STATUS.requestDenied, refusalText(err.reason));
    throw err;
  }
  if (!earlier.some((p) => p.nameId === built.nameId && p.resourceId === resource.id)) {
    const slo = resource.profile.singleLogout.find((s) => s.binding === 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect');
    await app.sessions.addParticipant(session.id, {
      door: 'saml_idp',
      resourceId: resource.id,
      party: resource.entityId,
      nameId: built.nameId,
      sessionIndex,
      sloUrl: slo?.location ?? null,
    });
  }
  return postToAcs(reply, kept, built.response.xml);
}
