import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import * as oidc from 'openid-client';
import { Sessions, siteApp } from '../lib/site.js';
import { errorPage, resourcePage, sessionPage, type PublisherSite } from './common.js';

/*
 * A publisher's OpenID Connect client as GAR documents it: code flow with PKCE (S256), scope
 * `openid scope.gar`, the extra `idRessource` parameter, client_secret_basic, then the userinfo
 * (oidcProfile). The page shows the ID token's claims and the userinfo.
 */

interface Pending {
  verifier: string;
  state: string;
}
interface OidcSession {
  claims: Record<string, unknown>;
  userinfo: Record<string, unknown>;
}

export interface OidcPublisherOptions extends PublisherSite {
  base: string;
  resourceId: string;
}

export function oidcPublisher(o: OidcPublisherOptions) {
  const pending = new Sessions<Pending>('demo_oidc_pub_pending');
  const sessions = new Sessions<OidcSession>('demo_oidc_pub_session');
  const redirectUri = `${o.base}/callback`;
  let client: { id: string; secret: string } | undefined;
  let config: oidc.Configuration | undefined;

  async function configuration() {
    if (!client) throw new Error('no OpenID client registered yet (the demo world gives it)');
    config ??= await oidc.discovery(new URL(`${o.brokerUrl}/oidc`), client.id, undefined, oidc.ClientSecretBasic(client.secret), {
      // The kit runs on http://127.0.0.1; a broker on https needs nothing of this.
      execute: o.brokerUrl.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
    });
    return config;
  }

  const app: FastifyInstance = siteApp();
  app.get('/', async (request, reply) => {
    const s = sessions.get(request);
    if (s) return resourcePage(reply, o, withoutProtocolClaims(s.claims), `<h2>oidcProfile (userinfo)</h2><pre id="userinfo">${escJson(s.userinfo)}</pre>`);
    try {
      const c = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = randomBytes(16).toString('base64url');
      pending.open(reply, { verifier, state });
      const url = oidc.buildAuthorizationUrl(c, {
        redirect_uri: redirectUri,
        scope: 'openid scope.gar',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        idRessource: o.resourceId,
      });
      return reply.redirect(url.href);
    } catch (err) {
      return errorPage(reply, o, 'Fournisseur OpenID injoignable', err);
    }
  });

  app.get('/callback', async (request, reply) => {
    const p = pending.get(request);
    try {
      if (!p) throw new Error('no login in progress in this browser');
      const c = await configuration();
      const current = new URL(request.url, o.base);
      const tokens = await oidc.authorizationCodeGrant(c, current, { pkceCodeVerifier: p.verifier, expectedState: p.state });
      const claims = tokens.claims() as Record<string, unknown>;
      const userinfo = (await oidc.fetchUserInfo(c, tokens.access_token, String(claims.sub))) as Record<string, unknown>;
      pending.close(request, reply);
      sessions.open(reply, { claims, userinfo });
      return reply.redirect('/', 303);
    } catch (err) {
      return errorPage(reply, o, 'Connexion OpenID refusée', err);
    }
  });

  app.get('/session', async (request, reply) => sessionPage(reply, o, Boolean(sessions.get(request))));
  return {
    app,
    redirectUri,
    setClient(c: { id: string; secret: string }) {
      client = c;
      config = undefined;
    },
  };
}

/** The ID token's claims a publisher reads (sub and the released codes), not iss/aud/exp/nonce… */
function withoutProtocolClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const protocol = new Set(['iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'c_hash', 'azp', 'sid', 'acr', 'amr']);
  return Object.fromEntries(Object.entries(claims).filter(([k]) => !protocol.has(k)));
}

const escJson = (v: unknown) => JSON.stringify(v, null, 2).replace(/&/g, '&amp;').replace(/</g, '&lt;');
