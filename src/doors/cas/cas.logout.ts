import type { FastifyInstance } from 'fastify';
import { logoutRequestXml } from './cas.protocol.js';

/** A service that does not answer within this time is not waited for (the person is). */
const TIMEOUT_MS = 3000;

/**
 * CAS back-channel logout: POSTs `logoutRequest=<samlp:LogoutRequest>` (the ticket as SessionIndex)
 * to every CAS service of the session that asked for it. Called by whatever ends a broker session
 * (CAS /logout, SAML SLO, the ENT's logout). Never throws: a service that is down must not keep
 * the session alive; failures are logged with the service's origin only.
 */
export async function notifyCasLogout(app: FastifyInstance, sessionId: string): Promise<{ sent: number; failed: number }> {
  const participants = (await app.sessions.participants(sessionId)).filter((p) => p.door === 'cas' && p.sloUrl && p.sessionIndex);
  let failed = 0;
  await Promise.all(
    participants.map(async (p) => {
      const body = new URLSearchParams({ logoutRequest: logoutRequestXml(p.nameId ?? '', p.sessionIndex!, app.clock()) });
      try {
        const res = await fetch(p.sloUrl!, {
          method: 'POST',
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (res.status >= 400) throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        failed++;
        app.log.warn({ service: new URL(p.sloUrl!).origin, err: (err as Error).message }, 'CAS back-channel logout failed');
      }
    }),
  );
  return { sent: participants.length - failed, failed };
}
