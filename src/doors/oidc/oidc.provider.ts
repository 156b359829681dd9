import { createHash, createHmac, createPrivateKey, hkdfSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { ATTRIBUTES } from '../../modules/attributes/attribute-dictionary.js';
import { xmlText } from '../../saml/xml.js';
import { PgAdapter } from './oidc.adapter.js';

export const OIDC_PREFIX = '/oidc';
/** GAR's endpoint names (publishers' clients have them configured), under the /oidc issuer. */
export const OIDC_ROUTES = {
  authorization: '/oidcAuthorize',
  token: '/oidcAccessToken',
  userinfo: '/oidcProfile',
  jwks: '/jwks',
} as const;
export const RELEASE_KIND = 'GarRelease';
/** Long enough for a code (60 s) and the access token it gives (10 min) to be used. */
export const RELEASE_SECONDS = 3600;

/** What one authorization released: fixed when the decision granted, read by the ID token and userinfo. */
export interface OidcRelease {
  sub: string;
  resourceId: string;
  clientId: string;
  claims: Record<string, string | string[]>;
}

const MULTI = new Set(ATTRIBUTES.filter((a) => a.multiValued).map((a) => a.code));

/** Released codes as claims: arrays for multi-valued codes, strings otherwise. */
export function claimsOf(attributes: Array<{ name: string; values: string[] }>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const a of attributes) out[a.name] = MULTI.has(a.name) ? a.values : a.values[0]!;
  return out;
}

const derive = (secretHex: string, label: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secretHex, 'hex'), Buffer.alloc(0), label, 32));

/** `sub`: opaque and per client (an HMAC of the client and the person's IDO), so clients cannot join users. */
export function subjectFor(idoSecretHex: string, clientId: string, ido: string): string {
  return createHmac('sha256', derive(idoSecretHex, 'gar-broker oidc sub')).update(`${Buffer.byteLength(clientId)}:${clientId};${ido}`).digest('hex');
}

/** Signing keys as JWKs (RFC 7638 thumbprint as kid): the current one first, as the provider signs with the first. */
function signingKeys(config: Config) {
  const pems = [config.oidcSigningKey ?? config.samlSigningKey, config.oidcNextSigningKey, config.oidcPreviousSigningKey].filter(
    (p): p is string => !!p,
  );
  return pems.map((pem) => {
    const jwk = createPrivateKey(pem).export({ format: 'jwk' }) as Record<string, string>;
    const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
    return { ...jwk, kid, alg: 'RS256', use: 'sig' };
  });
}

/**
 * Builds the provider, loading oidc-provider then: it is the largest module the broker has (a third
 * of a start's module loading), and a broker whose publishers use SAML or CAS never needs it.
 */
export async function createOidcProvider(config: Config, db: Kysely<Database>): Promise<Provider> {
  const { default: Provider, errors: oidcErrors, interactionPolicy } = await import('oidc-provider');
  const issuer = `${config.brokerBaseUrl}${OIDC_PREFIX}`;
  const releases = new PgAdapter(db, RELEASE_KIND, config.idoSecret);

  // Every authorization goes through the interaction, where the broker session is read and the access
  // decision taken: the provider's own session never stands in for a decision.
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('gar_access_decision', 'each authorization takes the access decision', (ctx: KoaContextWithOIDC) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );

  const provider = new Provider(issuer, {
    adapter: (name: string) => new PgAdapter(db, name, config.idoSecret),
    // The account id is the `sub` (the provider puts it in tokens); the released codes hang on the
    // grant of one authorization, so each code and token answers what its own decision released.
    async findAccount(_ctx, sub, token) {
      const grantId = token && 'grantId' in token ? token.grantId : undefined;
      const release = grantId ? ((await releases.find(grantId)) as unknown as OidcRelease | undefined) : undefined;
      if (release && release.sub !== sub) return undefined;
      // Nothing but sub and the released codes, whatever scopes or claims the client asked for.
      return { accountId: sub, claims: async () => ({ ...(release?.claims ?? {}), sub }) };
    },
    jwks: { keys: signingKeys(config) },
    cookies: { keys: [derive(config.idoSecret, 'gar-broker oidc cookies').toString('base64url')] },
    scopes: ['openid', 'scope.gar'],
    claims: { openid: ['sub'], 'scope.gar': ATTRIBUTES.map((a) => a.code) },
    // GAR puts the released codes in the ID token too, not only at userinfo.
    conformIdTokenClaims: false,
    extraParams: {
      idRessource(ctx: KoaContextWithOIDC, value: string | undefined, client: { metadata(): Record<string, unknown> } | undefined) {
        if (value === undefined || !client) return;
        if (value !== client.metadata().gar_resource) {
          throw new oidcErrors.InvalidRequest('idRessource is not a resource this client is registered for');
        }
      },
    },
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt', 'none'],
    extraClientMetadata: { properties: ['gar_resource'] },
    responseTypes: ['code'],
    subjectTypes: ['public'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    routes: OIDC_ROUTES,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      claimsParameter: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      registration: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
    },
    interactions: { url: (_ctx, interaction) => `${OIDC_PREFIX}/interaction/${interaction.uid}`, policy },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Interaction: 3600,
      Grant: RELEASE_SECONDS,
      Session: RELEASE_SECONDS,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body =
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Erreur de connexion</title></head><body>' +
        '<h1>La connexion à la ressource a échoué</h1><p>Retournez à votre ENT et ouvrez la ressource de nouveau.</p>' +
        `<p lang="en"><code>${xmlText(String(out.error))}</code> ${xmlText(String(out.error_description ?? ''))}</p></body></html>`;
    },
  });
  // Requests reach the provider with Host and X-Forwarded-Proto set from BROKER_BASE_URL (see the routes).
  provider.proxy = true;
  return provider;
}
