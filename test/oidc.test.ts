import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import t from 'tap';
import * as oidc from 'openid-client';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { saveOidcClient } from '../src/doors/oidc/oidc.clients.js';
import { buildTestApp } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, RES_P2, UAI_A, insertPerson } from './factories.js';
import { installShim } from './doors-shim.js';

const run = promisify(execFile);
const errorOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: { error?: string }) => e.error);
const AUTHLIB = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import authlib, requests'], { stdio: 'pipe' });
    return false as const;
  } catch {
    return 'needs /usr/bin/python3 with authlib and requests (Debian python3-authlib)';
  }
})();
const REDIRECT = 'http://localhost/cb';
const ID_SECRET = 'a1'.repeat(32);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function clients(db: Kysely<Database>) {
  const now = new Date();
  const confidential = (await saveOidcClient(db, RES_P1, { redirectUris: [REDIRECT] }, ID_SECRET, now))!;
  const pub = (await saveOidcClient(db, RES_P2, { redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'none' }, ID_SECRET, now))!;
  return { confidential, pub };
}

/** A browser: follows redirects within the broker, keeps its cookies, stops at the client's redirect URI. */
async function browse(start: string, cookie: string | null): Promise<{ url: string; status: number; body: string; hops: string[] }> {
  const jar = new Map<string, string>();
  if (cookie) jar.set('gar_session', cookie.split('=')[1]!);
  let url = start;
  const hops: string[] = [];
  for (let i = 0; i < 10; i++) {
    if (url.startsWith(REDIRECT)) return { url, status: 0, body: '', hops };
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair!.indexOf('=');
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    const location = res.headers.get('location');
    if (!location) return { url, status: res.status, body: await res.text(), hops };
    await res.body?.cancel();
    url = new URL(location, url).href;
    hops.push(new URL(url).pathname);
  }
  throw new Error('too many redirects');
}

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const ctx = await buildTestApp(t, { config: { brokerBaseUrl: base } });
  await world(ctx.app.db);
  await insertPerson(ctx.app.db, { personId: 'E2', uai: UAI_A, profiles: ['National_elv'] });
  const reg = await clients(ctx.app.db);
  const sessions = installShim(ctx.app)!;
  await ctx.app.listen({ port, host: '127.0.0.1' });
  return { ...ctx, base, issuer: `${base}/oidc`, reg, sessions };
}

const EXPECTED = { IDO: 'string', UAI: UAI_A, PRO: ['National_elv'], NOM: 'Martin & <Fils>', PRE: 'Léa', DIV: ['3A'], GRO: ['LAT3'] };

t.test('openid-client: code + PKCE, ID token and userinfo carry sub and the released codes only', async (t) => {
  const { app, issuer, reg, sessions } = await setup(t);
  const config = await oidc.discovery(new URL(issuer), reg.confidential.clientId, undefined, oidc.ClientSecretBasic(reg.confidential.clientSecret!), {
    execute: [oidc.allowInsecureRequests],
  });
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid scope.gar profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    idRessource: RES_P1,
  });
  t.equal(url.pathname, '/oidc/oidcAuthorize', 'GAR’s path, from discovery');
  const b = await browse(url.href, cookie);
  t.match(b.hops, ['/oidc/interaction/'], 'through the interaction (the decision), no consent page');
  t.match(b.url, /^http:\/\/localhost\/cb\?code=/, b.body);

  const tokens = await oidc.authorizationCodeGrant(config, new URL(b.url), { pkceCodeVerifier: verifier, expectedState: state });
  const claims = tokens.claims()!;
  t.match(claims.sub, /^[0-9a-f]{64}$/, 'opaque sub');
  t.not(claims.sub, claims.IDO);
  const released = Object.fromEntries(Object.entries(claims).filter(([k]) => /^[A-Z_]+$|^idENT$/.test(k)));
  t.same(Object.keys(released).sort(), Object.keys(EXPECTED).sort(), 'ID token: approved ∩ applicable, exactly');
  t.same({ ...released, IDO: 'string' }, EXPECTED);
  t.notOk('email' in claims || 'name' in claims, 'other scopes give nothing');

  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  const { sub, ...rest } = info;
  t.equal(sub, claims.sub);
  t.same({ ...rest, IDO: 'string' }, EXPECTED, 'userinfo: sub and the released codes, nothing else');

  const withRes = await oidc.fetchProtectedResource(config, tokens.access_token, new URL(`${issuer}/oidcProfile?idRessource=${encodeURIComponent(RES_P1)}`), 'GET');
  t.equal(withRes.status, 200, 'userinfo with its own idRessource');
  const other = await oidc.fetchProtectedResource(config, tokens.access_token, new URL(`${issuer}/oidcProfile?idRessource=${encodeURIComponent(RES_P2)}`), 'GET');
  t.equal(other.status, 400, 'userinfo naming another resource');

  // A code is single use.
  t.equal(await errorOf(oidc.authorizationCodeGrant(config, new URL(b.url), { pkceCodeVerifier: verifier, expectedState: state })), 'invalid_grant', 'a code is single use');
  const rows = await app.db.selectFrom('access_log').selectAll().execute();
  t.equal(rows.length, 1);
  t.same(rows[0]!.attributes, ['IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO']);
});

t.test('public client needs PKCE; refusals, wrong redirect URI, idRessource of another client, no session', async (t) => {
  const { issuer, reg, sessions, app } = await setup(t);
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const authorize = (params: Record<string, string>) => `${issuer}/oidcAuthorize?${new URLSearchParams({ response_type: 'code', scope: 'openid scope.gar', redirect_uri: REDIRECT, ...params })}`;

  const noPkce = await browse(authorize({ client_id: reg.pub.clientId }), cookie);
  t.equal(new URL(noPkce.url).searchParams.get('error'), 'invalid_request', 'public client without PKCE');

  const wrongUri = await browse(authorize({ client_id: reg.confidential.clientId, redirect_uri: 'http://localhost/other' }), cookie);
  t.equal(wrongUri.status, 400, 'unregistered redirect URI: an error page, no redirect');
  t.match(wrongUri.body, /redirect_uri/);

  const foreign = await browse(authorize({ client_id: reg.confidential.clientId, idRessource: RES_P2 }), cookie);
  t.equal(new URL(foreign.url).searchParams.get('error'), 'invalid_request', 'idRessource of another client');

  const e2 = await sessions.open({ entId: 'Z0', personId: 'E2', uaiHint: UAI_A });
  for (const [c, reason] of [[e2.cookie, 'not_assigned'], [(await sessions.open({ entId: 'Z1', personId: 'E1', uaiHint: UAI_A })).cookie, 'unknown_person']] as const) {
    const refused = await browse(authorize({ client_id: reg.confidential.clientId, idRessource: RES_P1, state: 's1' }), c);
    const q = new URL(refused.url).searchParams;
    t.equal(q.get('error'), 'access_denied', reason);
    t.equal(q.get('error_description'), reason);
    t.equal(q.get('state'), 's1');
  }

  const none = await browse(authorize({ client_id: reg.confidential.clientId }), null);
  t.equal(none.hops.at(-1), '/discovery', 'no session: to the ENT choice page');
  t.match(decodeURIComponent(none.url), /return=\/oidc\/interaction\//, 'and back to the interaction');

  const refusedRows = await app.db.selectFrom('access_log').select('reason').where('outcome', '=', 'refused').execute();
  t.same(refusedRows.map((r) => r.reason).sort(), ['not_assigned', 'unknown_person']);
});

t.test('expired and foreign codes', async (t) => {
  const { issuer, reg, sessions, app } = await setup(t);
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const config = await oidc.discovery(new URL(issuer), reg.confidential.clientId, undefined, oidc.ClientSecretBasic(reg.confidential.clientSecret!), { execute: [oidc.allowInsecureRequests] });
  const pubConfig = await oidc.discovery(new URL(issuer), reg.pub.clientId, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const codeFor = async (cfg: oidc.Configuration, verifier: string, resource: string) =>
    (await browse(oidc.buildAuthorizationUrl(cfg, { redirect_uri: REDIRECT, scope: 'openid scope.gar', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', idRessource: resource }).href, cookie)).url;

  const v1 = oidc.randomPKCECodeVerifier();
  const cb = await codeFor(config, v1, RES_P1);
  await app.db.updateTable('oidc_payloads').set({ expires_at: new Date(Date.now() - 1000) }).where('kind', '=', 'AuthorizationCode').execute();
  t.equal(await errorOf(oidc.authorizationCodeGrant(config, new URL(cb), { pkceCodeVerifier: v1 })), 'invalid_grant', 'expired code');

  // A code given to one client, presented by another.
  const v2 = oidc.randomPKCECodeVerifier();
  const cb2 = await codeFor(config, v2, RES_P1);
  t.equal(await errorOf(oidc.authorizationCodeGrant(pubConfig, new URL(cb2), { pkceCodeVerifier: v2 })), 'invalid_grant', 'another client’s code');
  const v3 = oidc.randomPKCECodeVerifier();
  const cb3 = await codeFor(config, v3, RES_P1);
  t.equal(await errorOf(oidc.authorizationCodeGrant(config, new URL(cb3), { pkceCodeVerifier: oidc.randomPKCECodeVerifier() })), 'invalid_grant', 'wrong PKCE verifier');
});

t.test('authlib (Python) does code + PKCE and userinfo', { skip: AUTHLIB }, async (t) => {
  const { issuer, reg, sessions } = await setup(t);
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const script = new URL('./verifiers/oidc_authlib.py', import.meta.url).pathname;
  const { stdout } = await run('/usr/bin/python3', [script, issuer, reg.confidential.clientId, reg.confidential.clientSecret!, REDIRECT, RES_P1, cookie]);
  const out = JSON.parse(stdout);
  t.equal(out.id_token.sub, out.userinfo.sub, 'verified ID token and userinfo agree');
  const { sub, ...rest } = out.userinfo;
  t.match(sub, /^[0-9a-f]{64}$/);
  t.same({ ...rest, IDO: 'string' }, EXPECTED);
});
