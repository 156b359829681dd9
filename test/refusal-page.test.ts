import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import Fastify from 'fastify';
import { chromium } from 'playwright-core';
import { PAGE_REASONS, refusalHtml, renderRefusalPage, statusOf, type PageReason } from '../src/pages/refusal-page.js';
import { discoveryHtml } from '../src/pages/discovery-page.js';
import { preferredLang, sendPage } from '../src/pages/layout.js';

/*
 * The refusal page every browser door shares: its texts, statuses and language choice here; then
 * rendered in Debian's Chromium (no downloaded browser) with its real headers, checked for the
 * reason text, console errors (a CSP violation of the stylesheet would be one), axe-core and 200 % zoom.
 */

const CHROMIUM = '/usr/bin/chromium';
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

t.test('every reason has a French and an English page, a 4xx status (503 only when unavailable) and no markup injection', async (t) => {
  for (const reason of PAGE_REASONS) {
    const status = statusOf(reason);
    t.ok(reason === 'unavailable' ? status === 503 : status >= 400 && status < 500, `${reason}: ${status}`);
    const fr = refusalHtml({ reason, lang: 'fr', requestId: 'req-1', resourceName: '<b>Maths</b>', establishmentName: 'Collège A' });
    const en = refusalHtml({ reason, lang: 'en', requestId: 'req-1' });
    t.match(fr, /<html lang="fr">/);
    t.match(en, /<html lang="en">/);
    t.notMatch(fr, /<b>Maths/, 'names are escaped');
    t.match(fr, /&lt;b&gt;Maths/);
    t.match(fr, /req-1/);
    t.notMatch(fr + en, /<script/i);
  }
  t.equal(preferredLang(undefined), 'fr');
  t.equal(preferredLang('en-GB,en;q=0.9'), 'en');
  t.equal(preferredLang('en;q=0.5,fr;q=0.8'), 'fr');
  t.equal(preferredLang('de-DE'), 'fr', 'French first when neither is asked');
});

const skipBrowser = existsSync(CHROMIUM) ? false : `no ${CHROMIUM} on this machine`;

t.test('the page in headless Chromium: reason text, no console error, axe-core, 200 % zoom', { skip: skipBrowser }, async (t) => {
  const server = Fastify();
  server.get('/refused/:reason', (request, reply) =>
    renderRefusalPage(reply, { reason: (request.params as { reason: PageReason }).reason, resourceName: 'Maths 3e', establishmentName: 'Collège Jean Moulin' }),
  );
  server.get('/discovery', (_request, reply) =>
    sendPage(reply, 200, discoveryHtml({ lang: 'fr', returnPath: '/login?service=x', query: '', projects: [{ id: 'Z0', name: 'ENT Occitanie' }, { id: 'Z1', name: 'ENT Lyon' }], remembered: { id: 'Z0', name: 'ENT Occitanie' } })),
  );
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    await server.close();
  });

  for (const [path, text, lang] of [
    ['/refused/not_assigned', 'Ressource non attribuée', 'fr-FR'],
    ['/refused/not_assigned', 'Resource not assigned to you', 'en-GB'],
    ['/refused/bad_assertion', 'Connexion non valide', 'fr'],
    ['/discovery', 'Choisissez votre ENT', 'fr'],
  ] as const) {
    // 200 % zoom of a 1280 px window: 640 CSS pixels at device scale 2.
    const context = await browser.newContext({ viewport: { width: 640, height: 900 }, deviceScaleFactor: 2, locale: lang, extraHTTPHeaders: { 'accept-language': lang } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const response = await page.goto(base + path);
    t.equal(response?.status(), path === '/discovery' ? 200 : path.includes('bad_assertion') ? 400 : 403, `${path} status`);
    t.match(await page.locator('h1').innerText(), text, `${path} (${lang}) says why`);
    if (path.startsWith('/refused')) {
      t.match(await page.locator('main').innerText(), /Maths 3e/);
      t.match(await page.locator('main').innerText(), /Collège Jean Moulin/);
    }
    const style = await page.evaluate(() => getComputedStyle(document.querySelector('header')!).borderBottomStyle);
    t.equal(style, 'solid', 'the stylesheet applied (its CSP hash matches)');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.ok(overflow <= 0, 'no horizontal scrolling at 200 %');
    // Injected through the debugging protocol, which the page's CSP does not govern (the page itself runs no script).
    await page.evaluate(AXE);
    const result = (await page.evaluate(() => (window as unknown as { axe: { run: () => Promise<unknown> } }).axe.run())) as {
      violations: Array<{ id: string; help: string }>;
    };
    t.same(result.violations.map((v) => `${v.id}: ${v.help}`), [], `${path} (${lang}) passes axe-core`);
    // Chromium reports the document's own 4xx status in the console; that one is the point of the page.
    const own = `Failed to load resource: the server responded with a status of ${response?.status()} (${response?.statusText()})`;
    t.same(problems.filter((p) => p !== own), [], 'no console errors');
    if (path === '/refused/not_assigned' && lang === 'fr-FR') await page.screenshot({ path: '/tmp/ent-refusal-200.png', fullPage: true });
    if (path === '/discovery') await page.screenshot({ path: '/tmp/ent-discovery-200.png', fullPage: true });
    await context.close();
  }
});
