import t from 'tap';
import { buildTestApp } from './helper.js';
import { openSession } from './browser-session.js';
import { safeReturnPath } from '../src/session/sessions.js';

t.test('a session is found by its cookie, touched, and ends by idle time, absolute time or end()', async (t) => {
  const { app, clock } = await buildTestApp(t, { config: { sessionIdleMinutes: 30, sessionAbsoluteHours: 2 } });
  const { cookie, session } = await openSession(app, { entId: 'E1', personId: 'P1', uaiHint: '0650001Y' });
  const req = (c: string) => ({ headers: { cookie: `other=1; ${c}` } }) as never;
  const found = await app.sessions.current(req(cookie));
  t.equal(found?.id, session.id);
  t.equal(found?.uaiHint, '0650001Y');
  t.equal(await app.sessions.current(req('gar_session=' + 'A'.repeat(43))), null, 'an unknown token is no session');
  t.equal(await app.sessions.current(req('gar_session=../../x')), null, 'a malformed token is not even looked up');

  clock.advance(29 * 60_000);
  t.ok(await app.sessions.current(req(cookie)), 'used within the idle time: still live (and touched)');
  clock.advance(29 * 60_000);
  t.ok(await app.sessions.current(req(cookie)), 'touched, so the idle time restarted');
  clock.advance(31 * 60_000);
  t.equal(await app.sessions.current(req(cookie)), null, 'idle too long');

  const second = await openSession(app, { entId: 'E1', personId: 'P1' });
  for (let i = 0; i < 4; i++) {
    clock.advance(25 * 60_000);
    t.ok(await app.sessions.current(req(second.cookie)));
  }
  clock.advance(25 * 60_000);
  t.equal(await app.sessions.current(req(second.cookie)), null, 'absolute lifetime reached although used');

  const third = await openSession(app, { entId: 'E1', personId: 'P1' });
  await app.sessions.addParticipant(third.session.id, { door: 'saml_idp', resourceId: 'ark:/1/a', party: 'https://sp', sloUrl: 'https://sp/slo' });
  t.same((await app.sessions.participants(third.session.id)).map((p) => p.party), ['https://sp']);
  t.ok((await app.sessions.endForPerson('E1', 'P1', 'restricted')).includes(third.session.id));
  t.equal(await app.sessions.current(req(third.cookie)), null, 'ended');
});

t.test('return paths stay on the broker', async (t) => {
  t.equal(safeReturnPath('/idp/profile/SAML2/Redirect/SSO?resume=x'), '/idp/profile/SAML2/Redirect/SSO?resume=x');
  for (const bad of ['https://evil.example/', '//evil.example', '/\\evil.example', 'relative', '/a\nb']) t.throws(() => safeReturnPath(bad), bad);
});

t.test('ending a session tells the doors that registered for it, once per session, whoever ends it', async (t) => {
  const { app } = await buildTestApp(t);
  const told: string[] = [];
  app.sessions.onEnd(async (id) => void told.push(id));
  app.sessions.onEnd(async () => {
    throw new Error('a publisher that cannot be reached');
  });
  const a = await openSession(app, { entId: 'E1', personId: 'P1' });
  const b = await openSession(app, { entId: 'E1', personId: 'P1' });
  const c = await openSession(app, { entId: 'E1', personId: 'P2' });
  await app.sessions.end(a.session.id, 'logout');
  t.same(told, [a.session.id], 'logout: its listeners are called, a failing one does not fail the logout');
  await app.sessions.end(a.session.id, 'logout');
  t.same(told, [a.session.id], 'an ended session is not ended (nor told) twice');
  await app.sessions.endForPerson('E1', 'P1', 'restriction');
  t.same(told, [a.session.id, b.session.id], 'restriction: the person’s other live session, not someone else’s');
  t.notOk(told.includes(c.session.id));
});
