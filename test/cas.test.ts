import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { saveCasServices } from '../src/doors/cas/cas.registration.js';
import { ticketRef } from '../src/doors/cas/cas.tickets.js';
import { buildTestApp } from './helper.js';
import { approve, world } from './sso-world.js';
import { RES_P1, RES_P2, UAI_A, insertAssignment, insertPerson, insertResource, insertSubscription } from './factories.js';
import { installShim } from './doors-shim.js';

const run = promisify(execFile);
const SERVICE = 'https://app.p1.test/cas/';
const SERVICE_P2 = 'https://atlas.p2.test/login';
const RES_UNAPPROVED = 'ark:/12345/sans-demande';

async function casWorld(db: Kysely<Database>, p1Service = SERVICE) {
  await world(db);
  await insertPerson(db, { personId: 'E2', uai: UAI_A, profiles: ['National_elv'] });
  await insertResource(db, { id: RES_UNAPPROVED, publisherId: 'P1' });
  await saveCasServices(db, RES_P1, [{ url: p1Service, isPrefix: true, origin: new URL(p1Service).origin }], true);
  await saveCasServices(db, RES_P2, [{ url: SERVICE_P2, isPrefix: false, origin: new URL(SERVICE_P2).origin }], true);
  await saveCasServices(db, RES_UNAPPROVED, [{ url: 'https://autre.p1.test/', isPrefix: true, origin: 'https://autre.p1.test' }], true);
  await approve(db, RES_P2, ['UAI']);
  const sub = await insertSubscription(db, { id: 'ABO-P2', publisherId: 'P2', resourceId: RES_P2, uai: UAI_A });
  await insertAssignment(db, { subscriptionPk: sub, uai: UAI_A, type: 'profile', profile: 'National_elv' });
}

const ticketOf = (location: string) => new URL(location).searchParams.get('ticket')!;
const validate = (app: FastifyInstance, service: string, ticket: string, extra = '') =>
  app.inject({ url: `/p3/serviceValidate?service=${encodeURIComponent(service)}&ticket=${encodeURIComponent(ticket)}${extra}` });
const failure = (xml: string) => /<cas:authenticationFailure code="([A-Z_]+)"/.exec(xml)?.[1];
const values = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<cas:${name}>([^<]*)</cas:${name}>`, 'g'))].map((m) => m[1]);
const attributeNames = (xml: string) => {
  const inner = /<cas:attributes>(.*)<\/cas:attributes>/.exec(xml)![1]!;
  return [...new Set([...inner.matchAll(/<cas:([A-Za-z_]+)>/g)].map((m) => m[1]))];
};

async function setup(t: Parameters<typeof buildTestApp>[0], config = {}) {
  const ctx = await buildTestApp(t, { config });
  await casWorld(ctx.app.db);
  const sessions = installShim(ctx.app)!;
  return { ...ctx, sessions };
}

t.test('grant: a ticket for the service, validated once into the released attributes', async (t) => {
  const { app, sessions } = await setup(t);
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const login = await app.inject({ url: `/login?service=${encodeURIComponent(SERVICE + 'page?x=1')}`, headers: { cookie } });
  t.equal(login.statusCode, 302);
  const location = login.headers.location as string;
  t.match(location, /^https:\/\/app\.p1\.test\/cas\/page\?x=1&ticket=ST-/, 'back to the service, its query kept');
  const ticket = ticketOf(location);
  t.ok(ticket.length >= 3 + 22, 'ST- and at least 128 random bits');

  const ok = await validate(app, SERVICE + 'page?x=1', ticket);
  t.equal(ok.statusCode, 200);
  t.match(ok.headers['content-type'], /xml/);
  const xml = ok.body;
  t.equal(failure(xml), undefined, xml);
  const user = values(xml, 'user')[0]!;
  const ido = values(xml, 'IDO')[0]!;
  t.match(user, /^[0-9a-f]{64}$/, 'cas:user is opaque');
  t.not(user, ido, 'cas:user is not the IDO');
  t.same(attributeNames(xml), ['authenticationDate', 'longTermAuthenticationRequestTokenUsed', 'isFromNewLogin', 'IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO'],
    'approved ∩ applicable exactly: no P_MEL (staff only), no CIV (refused)');
  t.same(values(xml, 'DIV'), ['3A']);
  t.same(values(xml, 'NOM'), ['Martin &amp; &lt;Fils&gt;'], 'escaped');
  t.same(values(xml, 'UAI'), [UAI_A]);

  const again = await validate(app, SERVICE + 'page?x=1', ticket);
  t.equal(failure(again.body), 'INVALID_TICKET', 'a replayed ticket');

  const rows = await app.db.selectFrom('access_log').selectAll().execute();
  t.equal(rows.length, 1, 'one decision, logged at /login');
  t.equal(rows[0]!.outcome, 'granted');
  t.equal(rows[0]!.response_id, ticketRef(ticket), 'the log names the ticket by a hash, not the ticket');
  t.same(rows[0]!.attributes, ['IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO']);
  if ('door' in rows[0]!) t.equal((rows[0] as { door?: string }).door, 'cas');

  const other = await app.inject({ url: `/login?service=${encodeURIComponent(SERVICE_P2)}`, headers: { cookie } });
  const p2 = await validate(app, SERVICE_P2, ticketOf(other.headers.location as string));
  t.not(values(p2.body, 'user')[0], user, 'cas:user differs per resource');
});

t.test('validation failures: expired, foreign, wrong service, missing parameters; JSON and the CAS 2 path', async (t) => {
  const { app, clock, sessions } = await setup(t);
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const issue = async (service = SERVICE) => ticketOf((await app.inject({ url: `/login?service=${encodeURIComponent(service)}`, headers: { cookie } })).headers.location as string);

  const expired = await issue();
  clock.advance(11_000);
  t.equal(failure((await validate(app, SERVICE, expired)).body), 'INVALID_TICKET', 'expired after 10 s');

  const wrong = await issue();
  t.equal(failure((await validate(app, 'https://app.p1.test/cas/other', wrong)).body), 'INVALID_SERVICE', 'another service');
  t.equal(failure((await validate(app, SERVICE, wrong)).body), 'INVALID_TICKET', 'a failed attempt used the ticket up');

  const p2 = await issue(SERVICE_P2);
  t.equal(failure((await validate(app, SERVICE, p2)).body), 'INVALID_SERVICE', 'another resource’s ticket');
  t.equal(failure((await validate(app, SERVICE, 'ST-' + 'A'.repeat(43))).body), 'INVALID_TICKET', 'unknown ticket');
  t.equal(failure((await validate(app, SERVICE, 'PT-123')).body), 'INVALID_TICKET', 'not a service ticket');
  t.equal(failure((await app.inject({ url: `/p3/serviceValidate?service=${encodeURIComponent(SERVICE)}` })).body), 'INVALID_REQUEST');
  t.equal(failure((await app.inject({ url: '/p3/serviceValidate' })).body), 'INVALID_REQUEST');

  const j = await app.inject({ url: `/p3/serviceValidate?format=json&service=${encodeURIComponent(SERVICE)}&ticket=${await issue()}` });
  const success = j.json().serviceResponse.authenticationSuccess;
  t.match(success.user, /^[0-9a-f]{64}$/);
  t.same(success.attributes.DIV, ['3A'], 'JSON: arrays');
  t.same(Object.keys(success.attributes), ['authenticationDate', 'longTermAuthenticationRequestTokenUsed', 'isFromNewLogin', 'IDO', 'UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO']);
  const jf = await app.inject({ url: `/p3/serviceValidate?format=JSON&service=${encodeURIComponent(SERVICE)}&ticket=ST-x` });
  t.equal(jf.json().serviceResponse.authenticationFailure.code, 'INVALID_TICKET');

  const cas2 = await app.inject({ url: `/serviceValidate?service=${encodeURIComponent(SERVICE)}&ticket=${await issue()}` });
  t.same(values(cas2.body, 'DIV'), ['3A'], '/serviceValidate answers the same document');
});

t.test('no session, gateway, unregistered service, refusals', async (t) => {
  const { app, sessions } = await setup(t);
  const s = encodeURIComponent(SERVICE);
  const none = await app.inject({ url: `/login?service=${s}` });
  t.equal(none.statusCode, 302);
  const back = new URL(none.headers.location as string, 'https://broker.test');
  t.equal(back.pathname, '/discovery', 'to the ENT choice page');
  t.match(back.searchParams.get('return'), /^\/login\?service=https%3A%2F%2Fapp\.p1\.test%2Fcas%2F&resume=/, 'and back to /login');

  const gw = await app.inject({ url: `/login?service=${s}&gateway=true` });
  t.equal(gw.headers.location, SERVICE, 'gateway: back to the service without ticket');

  for (const service of ['https://evil.test/', 'https://app.p1.test.evil.test/cas/', 'https://app.p1.test/ca', 'javascript:alert(1)']) {
    const res = await app.inject({ url: `/login?service=${encodeURIComponent(service)}` });
    t.equal(res.statusCode, 400, `unregistered: ${service}`);
    t.match(res.headers['content-type'], /text\/html/);
  }

  const e2 = await sessions.open({ entId: 'Z0', personId: 'E2', uaiHint: UAI_A });
  const cases: Array<[string, string, string]> = [
    [e2.cookie, SERVICE, 'not_assigned'],
    [(await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A })).cookie, 'https://autre.p1.test/x', 'no_subscription'],
    [(await sessions.open({ entId: 'Z1', personId: 'E1', uaiHint: UAI_A })).cookie, SERVICE, 'unknown_person'],
    [(await sessions.open({ entId: 'Z0', personId: 'NOBODY', uaiHint: UAI_A })).cookie, SERVICE, 'unknown_person'],
  ];
  for (const [cookie, service, reason] of cases) {
    const res = await app.inject({ url: `/login?service=${encodeURIComponent(service)}`, headers: { cookie } });
    t.equal(res.statusCode, 403, reason);
    t.match(res.headers['content-type'], /text\/html/);
    t.match(res.body, reason, `the page names ${reason}`);
    t.notOk(res.headers.location, 'no ticket, no redirect');
  }
  const gwRefused = await app.inject({ url: `/login?service=${s}&gateway=true`, headers: { cookie: e2.cookie } });
  t.equal(gwRefused.headers.location, SERVICE, 'gateway and refused: back without ticket, no page');
  const refused = await app.db.selectFrom('access_log').select('reason').where('outcome', '=', 'refused').orderBy('id').execute();
  t.same(refused.map((r) => r.reason), [...cases.map((c) => c[2]), 'not_assigned'], 'every refusal logged');
  t.equal(await app.db.selectFrom('cas_tickets').select('service').execute().then((r) => r.length), 0, 'no ticket stored for a refusal');
});

t.test('renew: a new login through the ENT; isFromNewLogin; renew at validation', async (t) => {
  const { app, clock, sessions } = await setup(t);
  const { cookie, session } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const s = encodeURIComponent(SERVICE);
  const plain = ticketOf((await app.inject({ url: `/login?service=${s}`, headers: { cookie } })).headers.location as string);
  const v = await validate(app, SERVICE, plain, '&renew=true');
  t.equal(failure(v.body), 'INVALID_TICKET', 'renew at validation: this ticket came from the existing session');

  const renew = await app.inject({ url: `/login?service=${s}&renew=true`, headers: { cookie } });
  t.equal(renew.statusCode, 302);
  const ret = new URL(renew.headers.location as string, 'https://broker.test').searchParams.get('return')!;
  t.match(ret, /renew=true/);
  t.equal(await app.sessions.current({ headers: { cookie } } as never), null, 'the old session ended');

  clock.advance(2000);
  const fresh = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A, authnInstant: clock.now });
  const after = await app.inject({ url: ret, headers: { cookie: fresh.cookie } });
  t.equal(after.statusCode, 302);
  const ticket = ticketOf(after.headers.location as string);
  const ok = await validate(app, SERVICE, ticket, '&renew=true');
  t.same(values(ok.body, 'isFromNewLogin'), ['true'], ok.body);

  const forged = await app.inject({ url: ret.replace(/resume=[^&]+/, 'resume=1.AAAA'), headers: { cookie: fresh.cookie } });
  t.match(new URL(forged.headers.location as string, 'https://broker.test').pathname, '/discovery', 'a forged resume state is not a new login');
  t.ok(session, 'session object');
});

t.test('logout: the session ends and each CAS service gets a back-channel LogoutRequest', async (t) => {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(`${req.method} ${req.url} ${body}`);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const local = `http://127.0.0.1:${port}/app/`;
  const ctx = await buildTestApp(t);
  await casWorld(ctx.app.db, local);
  const sessions = installShim(ctx.app)!;
  const { app } = ctx;
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const ticket = ticketOf((await app.inject({ url: `/login?service=${encodeURIComponent(local)}`, headers: { cookie } })).headers.location as string);
  await validate(app, local, ticket);
  const out = await app.inject({ url: `/logout?service=${encodeURIComponent(local)}`, headers: { cookie } });
  t.equal(out.statusCode, 302);
  t.equal(out.headers.location, local, 'back to the registered service');
  t.equal(received.length, 1, 'one LogoutRequest');
  const form = new URLSearchParams(received[0]!.split(' ').slice(2).join(' '));
  t.match(received[0], /^POST \/app\//);
  const lr = form.get('logoutRequest')!;
  t.match(lr, /<samlp:LogoutRequest /);
  t.match(lr, `<samlp:SessionIndex>${ticket}</samlp:SessionIndex>`, 'the ticket as SessionIndex');
  t.equal(await app.sessions.current({ headers: { cookie } } as never), null, 'session ended');
  const page = await app.inject({ url: '/logout?service=https://evil.test/' });
  t.equal(page.statusCode, 200, 'an unregistered service: a page, no redirect');
});

const PHPCAS = (() => {
  try {
    const out = execFileSync('php', ['-r', 'require "CAS.php"; echo class_exists("DOMDocument") ? "yes" : "no";'], { stdio: 'pipe' }).toString();
    return out === 'yes' ? (false as const) : 'phpCAS needs PHP’s DOM extension: install php-xml';
  } catch {
    return 'needs php-cli and php-cas';
  }
})();

t.test('phpCAS validates a ticket through CAS 3.0', { skip: PHPCAS }, async (t) => {
  const ctx = await buildTestApp(t, { config: { brokerBaseUrl: 'http://127.0.0.1:0' } });
  await casWorld(ctx.app.db, 'http://localhost/app/');
  const sessions = installShim(ctx.app)!;
  const { app } = ctx;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const { cookie } = await sessions.open({ entId: 'Z0', personId: 'E1', uaiHint: UAI_A });
  const service = 'http://localhost/app/';
  const ticket = ticketOf((await app.inject({ url: `/login?service=${encodeURIComponent(service)}`, headers: { cookie } })).headers.location as string);
  const script = new URL('./verifiers/phpcas_validate.php', import.meta.url).pathname;
  const { stdout } = await run('php', [script, `http://127.0.0.1:${port}`, service, ticket]);
  const out = JSON.parse(stdout);
  t.equal(out.ok, true, stdout);
  t.match(out.user, /^[0-9a-f]{64}$/);
  t.same(out.attributes.DIV, '3A');
  t.same(out.attributes.PRO, 'National_elv');
  t.same(Object.keys(out.attributes).filter((k) => /^[A-Z_]+$/.test(k)).sort(), ['DIV', 'GRO', 'IDO', 'NOM', 'PRE', 'PRO', 'UAI']);
  const replay = JSON.parse((await run('php', [script, `http://127.0.0.1:${port}`, service, ticket])).stdout);
  t.equal(replay.ok, false, 'phpCAS refuses a replayed ticket');
});
