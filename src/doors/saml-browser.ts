import type { FastifyReply, FastifyRequest } from 'fastify';
import { SamlMessageError, verifyPostSignature, verifyRedirectSignature, type SignedMessage } from '../saml/inbound.js';
import { DoorError, pageFor, type Inbound } from './saml-idp/sso.js';

/** The query string exactly as sent: the HTTP-Redirect binding signs these octets, not a re-encoding. */
export const rawQuery = (request: FastifyRequest) => {
  const url = request.raw.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
};

/** SAML protocol errors in a browser become readable pages (never JSON); the rest goes to the error handler. */
export async function guarded(reply: FastifyReply, fn: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DoorError || err instanceof SamlMessageError) return pageFor(reply, err);
    throw err;
  }
}

/** A signed message by either binding (query signature or enveloped); a refused signature is a 403 page. */
export function verifyInboundSignature(inbound: Inbound, message: SignedMessage, certs: string[]): void {
  try {
    if (inbound.binding === 'redirect') verifyRedirectSignature(inbound.rawQuery ?? '', 'SAMLRequest', certs);
    else verifyPostSignature(message, certs);
  } catch (err) {
    if (err instanceof SamlMessageError) throw new DoorError(403, 'Signature refusée', err.message);
    throw err;
  }
}
