import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { autoPostPage } from '../../modules/sso/post-page.js';
import { readLogoutRequest, readLogoutResponse } from '../../saml/inbound.js';
import { IDP_PATHS } from '../../saml/metadata.js';
import { buildLogoutRequest, buildLogoutResponse, NAMEID_FORMAT, redirectUrl, STATUS } from '../../saml/response.js';
import type { Participant } from '../../session/sessions.js';
import { verifyInboundSignature } from '../saml-browser.js';
import { renderFrameDone, renderLoggedOut, renderLogoutStep } from './page.js';
import { dropPending, keepPending, readPending, resourcesOfSp, updatePending } from './saml-idp.repository.js';
import { DoorError, isTransient, type Inbound } from './sso.js';

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
/** Each SP has this long to load its logout page in the frame before the next one is told. */
export const SLO_STEP_TIMEOUT_MS = 5000;
const CHAIN_SECONDS = 5 * 60;

interface Target {
  entityId: string;
  sloUrl: string;
  nameId: string;
  sessionIndex: string | null;
}

/** A logout in progress (JSON in saml_idp_pending): who is told, and whom to answer at the end. */
interface LogoutChain {
  targets: Target[];
  /** LogoutRequest IDs sent, and the statuses that came back, by entityID. */
  sent: Record<string, string>;
  answered: Record<string, string>;
  initiator?: { entityId: string; requestId: string; destination: string; binding: 'redirect' | 'post'; relayState: string | null };
  /** ENT-initiated: a broker-relative path to go to when every SP has been told. */
  returnTo?: string;
}

/** The other SAML SPs of a session that declared a Redirect SLO endpoint, one per SP (its latest NameID). */
function targetsOf(participants: Participant[], except?: string): Target[] {
  const bySp = new Map<string, Target>();
  for (const p of participants) {
    if (p.door !== 'saml_idp' || !p.sloUrl || !p.nameId || p.party === except) continue;
    bySp.set(p.party, { entityId: p.party, sloUrl: p.sloUrl, nameId: p.nameId, sessionIndex: p.sessionIndex ?? null });
  }
  return [...bySp.values()];
}

const stepUrl = (id: string, step: number) => `${IDP_PATHS.sloRedirect}?logout=${id}&step=${step}`;

/** Starts telling `targets`, one after another; answers at once when there is no one to tell. */
async function run(app: FastifyInstance, reply: FastifyReply, chain: LogoutChain): Promise<FastifyReply> {
  if (chain.targets.length === 0) return finish(app, reply, chain);
  const id = await keepPending(app.db, 'logout', chain, app.clock(), CHAIN_SECONDS);
  return step(app, reply, id, chain, 0);
}

async function step(app: FastifyInstance, reply: FastifyReply, id: string, chain: LogoutChain, n: number): Promise<FastifyReply> {
  if (n >= chain.targets.length) {
    await dropPending(app.db, id);
    return finish(app, reply, chain);
  }
  const t = chain.targets[n]!;
  const { xml, id: requestId } = buildLogoutRequest({
    idpEntityId: app.idp.entityId,
    destination: t.sloUrl,
    nameId: t.nameId,
    nameIdFormat: isTransient(t.nameId) ? NAMEID_FORMAT.transient : NAMEID_FORMAT.persistent,
    spEntityId: t.entityId,
    sessionIndex: t.sessionIndex,
    now: app.clock(),
    lifetimeSeconds: 60,
  });
  chain.sent[t.entityId] = requestId;
  await updatePending(app.db, id, chain);
  return renderLogoutStep(reply, { frameUrl: redirectUrl(t.sloUrl, 'SAMLRequest', xml, id, app.idp.keys), nextUrl: stepUrl(id, n + 1), timeoutMs: SLO_STEP_TIMEOUT_MS });
}

function finish(app: FastifyInstance, reply: FastifyReply, chain: LogoutChain): FastifyReply {
  if (chain.returnTo) return reply.redirect(chain.returnTo, 302);
  const init = chain.initiator;
  if (!init) return renderLoggedOut(reply);
  // SAML core 3.7.3.2: PartialLogout when another participant could not be confirmed logged out.
  const partial = chain.targets.some((t) => chain.answered[t.entityId] !== STATUS.success);
  const { xml } = buildLogoutResponse({
    idpEntityId: app.idp.entityId,
    destination: init.destination,
    inResponseTo: init.requestId,
    code: STATUS.success,
    ...(partial ? { subCode: STATUS.partialLogout } : {}),
    now: app.clock(),
  });
  if (init.binding === 'redirect') return reply.redirect(redirectUrl(init.destination, 'SAMLResponse', xml, init.relayState ?? undefined, app.idp.keys), 302);
  const page = autoPostPage(init.destination, Buffer.from(xml).toString('base64'), init.relayState ?? undefined);
  return reply.headers(page.headers).type('text/html; charset=utf-8').send(page.html);
}

/** A LogoutRequest from an SP: check it, end the broker session, tell the others, answer it. */
export async function handleLogoutRequest(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, inbound: Inbound) {
  const req = readLogoutRequest(inbound.xml);
  const resources = await resourcesOfSp(app.db, req.issuer);
  if (resources.length === 0) throw new DoorError(403, 'Service inconnu', `no resource is registered for the service provider ${req.issuer}`);
  const certs = [...new Set(resources.map((r) => r.signingCertificate).filter((c): c is string => c !== null))];
  if (certs.length > 0) {
    // An unsigned logout could be forced on a person by any page (a cross-site GET): refused when the SP can sign.
    verifyInboundSignature(inbound, req, certs);
  }
  const profile = resources[0]!.profile;
  const endpoint = profile.singleLogout.find((s) => s.binding === (inbound.binding === 'redirect' ? REDIRECT : POST)) ?? profile.singleLogout.find((s) => s.binding === REDIRECT || s.binding === POST);
  const session = await app.sessions.current(request);
  let targets: Target[] = [];
  if (session) {
    targets = targetsOf(await app.sessions.participants(session.id), req.issuer);
    await app.sessions.end(session.id, 'saml_slo');
  }
  app.sessions.clearCookie(reply);
  return run(app, reply, {
    targets,
    sent: {},
    answered: {},
    ...(endpoint
      ? {
          initiator: {
            entityId: req.issuer,
            requestId: req.id,
            destination: endpoint.responseLocation ?? endpoint.location,
            binding: endpoint.binding === REDIRECT ? 'redirect' : 'post',
            relayState: inbound.relayState ?? null,
          },
        }
      : {}),
  });
}

/** A participant's LogoutResponse, arriving in the logout frame: noted for the initiator's status. */
export async function handleLogoutResponse(app: FastifyInstance, reply: FastifyReply, inbound: Inbound) {
  const res = readLogoutResponse(inbound.xml);
  const id = inbound.relayState;
  const chain = id ? await readPending<LogoutChain>(app.db, 'logout', id, app.clock()) : undefined;
  // Best effort (SAML profiles 4.4.3.4): an answer that matches nothing only changes nothing.
  if (chain && chain.sent[res.issuer] !== undefined && chain.sent[res.issuer] === res.inResponseTo) {
    chain.answered[res.issuer] = res.status;
    await updatePending(app.db, id!, chain);
  }
  return renderFrameDone(reply);
}

/** The next step of a chain (the page moves on by itself). */
export async function continueLogout(app: FastifyInstance, reply: FastifyReply, id: string, n: number) {
  const chain = await readPending<LogoutChain>(app.db, 'logout', id, app.clock());
  if (!chain) return renderLoggedOut(reply);
  return step(app, reply, id, chain, n);
}

/**
 * For the ENT door, when the ENT's IdP starts logout: ends the broker session, tells every SAML SP
 * of the session the same way, then redirects to `returnTo` (a broker-relative path that answers
 * the ENT's IdP). The caller clears nothing itself.
 */
export async function propagateLogout(app: FastifyInstance, reply: FastifyReply, p: { sessionId: string; returnTo: string }): Promise<FastifyReply> {
  if (!p.returnTo.startsWith('/') || p.returnTo.startsWith('//')) throw new Error('returnTo must be a broker-relative path');
  const targets = targetsOf(await app.sessions.participants(p.sessionId));
  await app.sessions.end(p.sessionId, 'ent_slo');
  app.sessions.clearCookie(reply);
  return run(app, reply, { targets, sent: {}, answered: {}, returnTo: p.returnTo });
}
