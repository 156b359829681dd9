import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildTestApp, operator, tokenFor } from './helper.js';
import { startKit } from '../demo/kit.js';
import { freePort } from '../demo/lib/site.js';
import { DEMO } from '../demo/world.js';
import { entryLink } from '../demo/ent/ent-app.js';

/*
 * The whole journey in a real browser (Debian's Chromium, no downloaded browser): the broker on a
 * port, the test ENT and the three test publishers on theirs (demo/, talking to the broker by HTTP
 * only), the demo world built through the API. A pupil and a teacher click from the ENT's media
 * centre to each publisher; the attributes each publisher shows are checked against the approved
 * data requests and the access log; logout at the ENT ends the publisher sessions that declared
 * a logout endpoint. Screenshots go to docs/ for the README.
 */

/** Debian's chromium; CHROMIUM_PATH for another system binary (never a downloaded one). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = new URL('../docs/', import.meta.url).pathname;

t.test('ENT → broker → publishers in headless Chromium: SAML, CAS, OIDC, a refusal, logout at the ENT', async (t) => {
  if (!existsSync(CHROMIUM)) {
    // Never a silent pass: the journey is the proof that the doors work together.
    t.fail(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH; the journey test needs a real browser and does not pass without one`);
    return;
  }
  const started = Date.now();
  const port = await freePort();
  const brokerUrl = `http://127.0.0.1:${port}`;
  // The real clock: the ENT, the publishers and the browser live in it.
  const { app } = await buildTestApp(t, { config: { brokerBaseUrl: brokerUrl }, deps: { clock: () => new Date() } });
  await app.listen({ port, host: '127.0.0.1' });
  const kit = await startKit({ brokerUrl, sign: (claims) => tokenFor(app, claims) });
  t.teardown(() => kit.close());
  const { urls } = kit;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  mkdirSync(SHOTS, { recursive: true });
  const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

  const api = async (caller: Record<string, unknown>, path: string) => {
    const res = await fetch(`${brokerUrl}${path}`, { headers: { authorization: `Bearer ${tokenFor(app, caller)}` } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  /** The codes the ministry approved for a resource, read back through the API (what may be released, IDO aside). */
  const approved = async (key: keyof typeof DEMO.resources, publisherId: string): Promise<string[]> => {
    const { items } = await api({ sub: 'check', role: 'publisher', publisherId }, `/v1/resources/${encodeURIComponent(DEMO.resources[key])}/data-requests`);
    const reviewed = items.find((r: { status: string }) => r.status === 'reviewed');
    return reviewed.attributes.filter((a: { approved: boolean }) => a.approved).map((a: { code: string }) => a.code);
  };
  const attributesOn = (page: Page) =>
    page.$$eval('#attributes td[data-attr]', (cells) => Object.fromEntries(cells.map((c) => [c.getAttribute('data-attr')!, c.textContent ?? ''])));
  const sessionAt = async (context: BrowserContext, site: string) => {
    const page = await context.newPage();
    await page.goto(`${site}/session`);
    const state = await page.locator('#session').innerText();
    await page.close();
    return state;
  };
  async function login(context: BrowserContext, label: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${urls.ent}/`);
    await page.getByRole('button', { name: label }).click();
    await page.waitForURL(`${urls.ent}/media`);
    return page;
  }
  async function open(page: Page, resourceId: string, arrival: string): Promise<void> {
    await page.goto(`${urls.ent}/media`);
    await page.locator(`a[data-resource="${resourceId}"]`).click();
    await arrive(page, arrival);
  }
  /** Waits for the browser to reach `arrival`; else fails with the page it stopped on (the broker's pages say why). */
  async function arrive(page: Page, arrival: string, timeout = 20_000): Promise<void> {
    try {
      await page.waitForURL((u) => u.href.startsWith(arrival), { timeout });
      await page.waitForLoadState('load');
    } catch (err) {
      const text = await page.locator('body').innerText().catch(() => '');
      throw new Error(`stopped at ${page.url().slice(0, 120)} instead of ${arrival}: ${text.slice(0, 600)}`, { cause: err });
    }
  }

  // --- The pupil: the ENT's login, the media centre, the SAML publisher. ---
  const pupil = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1000, height: 700 } });
  // What the browser carried to the broker's doors, to check the publishers' requests as sent.
  const toBroker: URL[] = [];
  pupil.on('request', (r) => void (r.url().startsWith(brokerUrl) && toBroker.push(new URL(r.url()))));
  const sentTo = (path: string) => toBroker.filter((u) => u.pathname === path);
  const pupilEnt = await pupil.newPage();
  await pupilEnt.goto(`${urls.ent}/`);
  await shot(pupilEnt, 'demo-1-ent-login');
  await pupilEnt.close();
  const page = await login(pupil, DEMO.pupil.label);
  const listed = await page.$$eval('#resources a[data-resource]', (as) => as.map((a) => a.getAttribute('data-resource')));
  t.same(listed.sort(), [DEMO.resources.oidc, DEMO.resources.saml].sort(), 'the media centre lists the pupil’s resources, from GAR’s resource service');
  const href = await page.locator(`#resources a[data-resource="${DEMO.resources.saml}"]`).getAttribute('href');
  t.match(href, `${brokerUrl}/domaineGar?idENT=`, 'each item opens the broker’s entry link (urlAccesRessource)');
  await shot(page, 'demo-2-media-centre');

  await open(page, DEMO.resources.saml, urls.saml);
  const samlAttrs = await attributesOn(page);
  const samlApproved = await approved('saml', 'demo-editions-saml');
  t.same(Object.keys(samlAttrs).sort(), [...samlApproved, 'IDO'].sort(), 'SAML: exactly the approved codes and IDO');
  t.notOk('PRE' in samlAttrs, 'a refused code is not released');
  t.equal(samlAttrs.UAI, DEMO.uai);
  t.equal(samlAttrs.DIV, '3A##3e A', 'a class as publishers parse it: code##label (format version 2, the current one at approval)');
  t.match(samlAttrs.IDO, /^[0-9a-f]{32,}$/, 'an opaque IDO');
  await shot(page, 'demo-3-saml-publisher');
  const authn = sentTo('/idp/profile/SAML2/Redirect/SSO');
  t.equal(authn.length, 1, 'one SP-initiated AuthnRequest');
  t.equal(authn[0]!.searchParams.get('RelayState'), `${urls.saml}/`, 'RelayState = the resource URL');
  t.ok(authn[0]!.searchParams.get('Signature'), 'the AuthnRequest is signed');
  t.equal(sentTo('/saml/sp/acs').length, 1, 'one ENT login for the session');

  // --- The pupil again: the OpenID Connect publisher (the broker session serves it, no ENT round trip). ---
  await open(page, DEMO.resources.oidc, urls.oidc);
  const oidcAttrs = await attributesOn(page);
  const oidcApproved = await approved('oidc', 'demo-editions-oidc');
  t.same(Object.keys(oidcAttrs).sort(), [...oidcApproved, 'IDO', 'sub'].sort(), 'OIDC: sub, IDO and the approved codes');
  t.equal(oidcAttrs.PRE, 'Léa');
  t.notOk('NOM' in oidcAttrs, 'NOM was refused');
  t.equal(oidcAttrs.IDO, samlAttrs.IDO, 'one IDO per person and project, whatever the door');
  await shot(page, 'demo-4-oidc-publisher');
  const authorize = sentTo('/oidc/oidcAuthorize')[0]!.searchParams;
  t.match(Object.fromEntries(authorize), { code_challenge_method: 'S256', scope: 'openid scope.gar', idRessource: DEMO.resources.oidc }, 'code flow with PKCE, GAR’s scope and idRessource');
  t.equal(sentTo('/saml/sp/acs').length, 1, 'no second ENT login: the broker session served the OIDC resource');

  // --- The pupil and a resource not given to her: the broker's refusal page. ---
  await page.goto(`${urls.ent}/media`);
  const [refusal] = await Promise.all([
    // The broker session decides at once: the entry link itself answers with the page.
    page.waitForResponse((r) => r.url().startsWith(`${brokerUrl}/domaineGar`) && r.status() !== 302, { timeout: 20_000 }),
    page.locator(`#others a[data-resource="${DEMO.resources.unassigned}"]`).click(),
  ]);
  await page.waitForLoadState('load');
  t.equal(refusal.status(), 403, 'refused with a 403 page');
  t.match(await page.locator('h1').innerText(), /Ressource non attribuée/);
  await shot(page, 'demo-5-refusal');

  // --- The teacher: the CAS publisher. ---
  const teacher = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1000, height: 700 } });
  const tpage = await login(teacher, DEMO.teacher.label);
  const teacherList = await tpage.$$eval('#resources a[data-resource]', (as) => as.map((a) => a.getAttribute('data-resource')));
  // Division assignments reach the division's teachers too (GAR's rule); the CAS resource is his alone.
  t.same(teacherList.sort(), [DEMO.resources.cas, DEMO.resources.oidc, DEMO.resources.saml].sort(), 'the teacher’s list');
  await open(tpage, DEMO.resources.cas, urls.cas);
  const casAttrs = await attributesOn(tpage);
  const casApproved = await approved('cas', 'demo-editions-cas');
  t.same(Object.keys(casAttrs).sort(), [...casApproved, 'IDO'].sort(), 'CAS: exactly the approved codes and IDO');
  t.equal(casAttrs.PRO, 'National_ens');
  await shot(tpage, 'demo-6-cas-publisher');

  // --- Logout at the ENT: SAML front channel (in a frame) and CAS back channel; OIDC declared no logout. ---
  t.equal(await sessionAt(pupil, urls.saml), 'ouverte');
  t.equal(await sessionAt(pupil, urls.oidc), 'ouverte');
  await page.goto(`${urls.ent}/media`);
  const consoleDuringLogout: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && consoleDuringLogout.push(m.text())));
  await page.locator('#logout').click();
  await arrive(page, `${urls.ent}/logged-out`);
  // The SP answers its LogoutRequest inside the broker's frame; a CSP that blocked the answer would show here.
  t.same(consoleDuringLogout, [], 'no browser error during the logout chain');
  t.equal(await page.locator('#broker-status').innerText(), 'Success', 'the broker answered the ENT’s LogoutRequest');
  await shot(page, 'demo-7-logged-out');
  t.equal(await sessionAt(pupil, urls.saml), 'fermée', 'the SAML publisher’s session ended (its SingleLogoutService was called)');
  t.equal(await sessionAt(pupil, urls.oidc), 'ouverte', 'the OIDC publisher declared no logout: its session stays');

  t.equal(await sessionAt(teacher, urls.cas), 'ouverte');
  await tpage.goto(`${urls.ent}/media`);
  await tpage.locator('#logout').click();
  await arrive(tpage, `${urls.ent}/logged-out`);
  t.equal(await sessionAt(teacher, urls.cas), 'fermée', 'the CAS publisher’s session ended (back-channel logout)');

  // After logout, an entry link needs the ENT again (the broker session is gone).
  await page.goto(`${urls.ent}/media`);
  t.equal(new URL(page.url()).pathname, '/', 'the ENT asks who you are');

  // --- The access log, as the operator reads it. ---
  const log = (await api(operator, '/v1/access-logs?limit=100')).items as Array<{ door: string; outcome: string; resourceId: string; reason: string | null; attributes: string[]; profile: string | null }>;
  const summary = log.map((r) => `${r.door} ${r.outcome} ${r.resourceId}${r.reason ? ` ${r.reason}` : ''}`).sort();
  t.same(
    summary,
    [
      `cas granted ${DEMO.resources.cas}`,
      `entry_link granted ${DEMO.resources.cas}`,
      `entry_link granted ${DEMO.resources.oidc}`,
      `entry_link granted ${DEMO.resources.saml}`,
      `entry_link refused ${DEMO.resources.unassigned} not_assigned`,
      `oidc granted ${DEMO.resources.oidc}`,
      `saml_idp granted ${DEMO.resources.saml}`,
    ].sort(),
    'one row per decision, on the door that took it',
  );
  const row = (door: string, id: string) => log.find((r) => r.door === door && r.resourceId === id)!;
  t.same(row('saml_idp', DEMO.resources.saml).attributes.sort(), Object.keys(samlAttrs).sort(), 'the log names what the SAML publisher received');
  t.same(row('cas', DEMO.resources.cas).attributes.sort(), Object.keys(casAttrs).sort(), 'the log names what the CAS publisher received');
  t.same(row('oidc', DEMO.resources.oidc).attributes.sort(), Object.keys(oidcAttrs).filter((k) => k !== 'sub').sort(), 'the log names the released OIDC claims');
  t.comment(`journey: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // --- The ENT IdP's other quirks (RSA-SHA256, Audience = the ACS URL): a second test ENT, no browser needed. ---
  const kit2 = await startKit({ brokerUrl, sign: (claims) => tokenFor(app, claims), switches: { sha1: false, audienceIsAcs: true }, resourceService: 'v1' });
  t.teardown(() => kit2.close());
  const jar = new Map<string, string>();
  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as object), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      jar.set(pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1));
    }
    return res;
  };
  const form = (body: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
  await go(`${kit2.urls.ent}/login`, form({ person: DEMO.pupil.id }));
  const media = await (await go(`${kit2.urls.ent}/media`)).text();
  t.match(media, `data-resource="${DEMO.resources.saml}"`, 'the media centre also reads the /v1 list');
  const entry = await go(entryLink(brokerUrl, DEMO.entId, DEMO.uai, DEMO.resources.saml));
  t.equal(entry.status, 302);
  const posted = await (await go(entry.headers.get('location')!)).text();
  const field = (n: string) => new RegExp(`name="${n}" value="([^"]*)"`).exec(posted)![1]!.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const xml = Buffer.from(field('SAMLResponse'), 'base64').toString();
  t.match(xml, `<saml:Audience>${brokerUrl}/saml/sp/acs</saml:Audience>`, 'Audience = the ACS URL');
  t.match(xml, 'Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"', 'signed with RSA-SHA256');
  t.equal(xml.match(/<ds:Signature /g)?.length ?? xml.match(/<ds:Signature>/g)?.length, 1, 'one signature…');
  t.match(xml, /<saml:Assertion [^>]*>\s*<saml:Issuer>[^<]+<\/saml:Issuer>\s*<ds:Signature/, '…in the Assertion only');
  const acs = await go(`${brokerUrl}/saml/sp/acs`, form({ SAMLResponse: field('SAMLResponse'), RelayState: field('RelayState') }));
  t.equal(acs.status, 303, 'the broker accepts it');
  t.equal(acs.headers.get('location'), `${kit2.urls.saml}/`, 'and sends the browser on to the resource');
});
