import { Writable } from 'node:stream';
import t from 'tap';
import { buildTestApp, bearer, tokenFor } from './helper.js';
import { RES_P1, UAI_A } from './factories.js';
import { world } from './sso-world.js';

t.test('the log carries request ids and route patterns, never tokens, SAML payloads or personal data', async (t) => {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const { app, database } = await buildTestApp(t, { config: { logLevel: 'debug' }, deps: { logStream } });
  await world(database.db);
  const ent = { sub: 'ent-z0', role: 'ent', entId: 'Z0' };
  const token = tokenFor(app, ent);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/sso',
    headers: { ...bearer(app, ent), 'x-request-id': 'req-abc-123' },
    payload: { uai: UAI_A, personId: 'T1', resourceId: RES_P1, relayState: 'secret-relay' },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-request-id'], 'req-abc-123', 'a harmless caller request id is kept and echoed');
  await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_A}/people/T1/resources`, headers: bearer(app, ent) });
  const log = lines.join('');
  t.match(log, /"reqId":"req-abc-123"/, 'request id in the log');
  t.match(log, /"route":"\/v1\/establishments\/:uai\/people\/:personId\/resources"/, 'route pattern, not the URL');
  for (const secret of [token, 'Durand', 'Paul', 'paul.durand@ac-test.fr', 'secret-relay', res.json().samlResponse.slice(0, 40), '/people/T1/']) {
    t.notOk(log.includes(secret), `log does not contain ${secret.slice(0, 20)}…`);
  }
});
