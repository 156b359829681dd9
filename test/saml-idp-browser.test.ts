import t from 'tap';
import { existsSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { chromium, type Route } from 'playwright-core';
import { bearer, buildTestApp, operator } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, insertEntProject } from './factories.js';
import { b64, newTestIdp, sign, unsignedResponse, type TestIdp } from './idps/ent-idp.js';
import { NAMEID, lasso, registerSp, spMetadata } from './sp-stacks.js';

/*
 * The publisher-initiated journey of a person who has no broker session yet, in Debian's Chromium:
 * a Lasso SP's AuthnRequest → the discovery page (search, choose the ENT) → the ENT's IdP (a login
 * button) → the broker's ACS → the kept AuthnRequest answered → Lasso consumes the Response. The
 * browser really follows redirects, posts forms, runs the broker's auto-post script under its CSP
 * and keeps cookies; every host is served through Playwright's request interception (the broker by
 * app.inject), so the https origins and Secure cookies are the production ones.
 */

const CHROMIUM = '/usr/bin/chromium';
const LASSO = { entityId: 'https://lasso.test/metadata', base: 'https://lasso.test' };
const RESOURCE_URL = 'https://lasso.test/maths';
const SP_ENTITY = 'https://broker.test/saml/sp/metadata';
const ACS = 'https://broker.test/saml/sp/acs';

/** Serves one intercepted browser request from the broker, the ENT IdP or the publisher. */
function router(app: FastifyInstance, idp: TestIdp, received: Array<Record<string, string>>, redirects: number[]) {
  return async (route: Route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.host === 'broker.test') {
      const headers = await request.allHeaders();
      const res = await app.inject({
        method: request.method() as 'GET' | 'POST',
        url: url.pathname + url.search,
        headers: { ...(headers.cookie ? { cookie: headers.cookie } : {}), ...(headers['content-type'] ? { 'content-type': headers['content-type'] } : {}), 'accept-language': 'fr' },
        ...(request.postData() !== null ? { payload: request.postData()! } : {}),
      });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && k !== 'content-length') out[k] = Array.isArray(v) ? v.join('\n') : String(v);
      if (res.statusCode >= 300 && res.statusCode < 400 && out.location) {
        // Chromium does not hand the target of a fulfilled redirect back to the interception: the
        // redirect (a GET, as every 302/303 here) is followed by a refresh page keeping its cookies.
        const target = new URL(out.location, url).href.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
        redirects.push(res.statusCode);
        const cookie: Record<string, string> = out['set-cookie'] ? { 'set-cookie': out['set-cookie'] } : {};
        return route.fulfill({ status: 200, headers: { ...cookie, 'content-type': 'text/html' }, body: `<meta http-equiv="refresh" content="0;url=${target}">` });
      }
      return route.fulfill({ status: res.statusCode, headers: out, body: res.rawPayload });
    }
    if (url.origin + url.pathname === idp.ssoUrl) {
      // The ENT's IdP: reads the broker's AuthnRequest and offers a login button posting its Response.
      const authnRequest = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString();
      const requestId = /ID="([^"]+)"/.exec(authnRequest)![1]!;
      const response = b64(sign(unsignedResponse({ requestId, acsUrl: ACS, spEntityId: SP_ENTITY, now: new Date(), idEnt: 'Z0', personId: 'E1', issuer: idp.entityId }), idp, { assertion: true }));
      const body =
        `<!doctype html><html lang="fr"><title>ENT Z0</title><h1>Connexion à l’ENT</h1><form method="post" action="${ACS}">` +
        `<input type="hidden" name="SAMLResponse" value="${response}"><input type="hidden" name="RelayState" value="${url.searchParams.get('RelayState') ?? ''}">` +
        `<button id="login">Se connecter</button></form></html>`;
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body });
    }
    if (url.origin === LASSO.base && request.method() === 'POST') {
      received.push(Object.fromEntries(new URLSearchParams(request.postData() ?? '')));
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Maths</title><h1>Bienvenue</h1>' });
    }
    return route.fulfill({ status: 404, body: 'not served in this test' });
  };
}

t.test('SP-initiated without a session: discovery (search, choose, remembered), ENT login, the kept request answered — in Chromium', async (t) => {
  // Chromium is a CI dependency (.ci/run installs it): its absence is a failure, not a skip.
  if (!existsSync(CHROMIUM)) return t.fail(`no ${CHROMIUM} on this machine: install Debian's chromium`);
  const { app, database } = await buildTestApp(t, { now: new Date() });
  const db = database.db;
  await world(db);
  const idp = newTestIdp('ent');
  await insertEntProject(db, 'Z9');
  for (const [entId, entity] of [['Z0', idp], ['Z9', newTestIdp('other')]] as const) {
    await db.insertInto('ent_idps').values({ ent_id: entId, entity_id: entity.entityId, sso_url: entity.ssoUrl, sso_binding: 'HTTP-Redirect', signing_certificates: [entity.certPem], metadata_xml: null, allow_sha1: true }).execute();
  }
  await db.updateTable('ent_projects').set({ name: 'ENT Occitanie' }).where('id', '=', 'Z0').execute();
  await db.updateTable('ent_projects').set({ name: 'ENT Lyon' }).where('id', '=', 'Z9').execute();
  const idpMetadata = (await app.inject({ url: '/idp/metadata' })).body;
  const metadata = spMetadata({ ...LASSO, nameIdFormats: [NAMEID.transient] });
  await registerSp(app, RES_P1, metadata, RESOURCE_URL);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ locale: 'fr-FR' });
  const received: Array<Record<string, string>> = [];
  const redirects: number[] = [];
  await context.route('**/*', router(app, idp, received, redirects));
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
  page.on('pageerror', (e) => problems.push(e.message));

  const req = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, binding: 'redirect', relayState: RESOURCE_URL });
  await page.goto(req.url!);
  await page.waitForURL(/\/discovery\?/);
  t.equal(new URL(page.url()).searchParams.get('return')?.split('=')[0], '/idp/profile/SAML2/Redirect/SSO?resume', 'no session: the person is asked for their ENT, and comes back to the kept request');
  t.match(await page.locator('h1').innerText(), /Choisissez votre ENT/);
  t.equal(await page.locator('ul.choices li').count(), 2, 'both connected ENTs are listed');
  await page.fill('#q', 'occit');
  await page.click('form[role=search] button');
  t.equal(await page.locator('ul.choices li').count(), 1, 'the search keeps the matching ENT');
  await page.click('ul.choices a:has-text("ENT Occitanie")');
  await page.waitForURL(/ent\.example/);
  await page.click('#login');
  await page.waitForURL(/lasso\.test\/acs/);

  t.equal(received.length, 1, 'the publisher received one post');
  t.same(redirects, [302, 302, 303], 'to discovery, to the ENT, back to the kept request');
  const post = received[0]!;
  t.equal(post.RelayState, RESOURCE_URL, 'RelayState echoed');
  const out = lasso({ cmd: 'consume', spMetadata: metadata, idpMetadata, samlResponse: post.SAMLResponse });
  t.ok(out.valid, out.error ?? 'Lasso accepts the Response');
  t.equal(out.inResponseTo, req.requestId, 'the original AuthnRequest is answered');
  t.equal(out.nameIdFormat, NAMEID.transient);
  t.same(out.attributes?.PRO, ['National_elv']);
  t.same(problems, [], 'no console error on the broker’s pages (the auto-post runs under its CSP)');

  const logs = (await app.inject({ url: '/v1/access-logs?door=saml_idp', headers: bearer(app, operator) })).json().items;
  t.equal(logs.length, 1, 'one decision, logged for the SAML door');
  t.match(logs[0], { outcome: 'granted', resourceId: RES_P1, attributes: Array });
  t.ok(logs[0].attributes.includes('PRO'), 'naming the released attributes');

  // Next time (no session: a new day), the page offers the ENT chosen before.
  await context.clearCookies({ name: 'gar_session' });
  const again = lasso({ cmd: 'login', spMetadata: metadata, idpMetadata, binding: 'redirect', relayState: RESOURCE_URL });
  await page.goto(again.url!);
  await page.waitForURL(/\/discovery\?/);
  t.match(await page.locator('main').innerText(), /Continuer avec ENT Occitanie/, 'the chosen ENT is remembered');
});
