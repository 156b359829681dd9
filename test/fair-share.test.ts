import t from 'tap';
import { FairShareGate } from '../src/plugins/fair-share.js';
import { buildTestApp, bearer } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, UAI_A } from './factories.js';

// Finding 12 of the security review (issue 11): one ENT must not starve the others.
t.test('a freed slot goes to the lighter caller, not to the flooding one', async (t) => {
  const gate = new FairShareGate({ maxInFlight: 2, perCaller: 2, queuePerCaller: 10, maxWaitMs: 5_000 });
  const order: string[] = [];
  const a1 = await gate.enter('A');
  await gate.enter('A');
  const queued = [1, 2, 3, 4].map((i) => gate.enter('A').then((free) => (order.push(`A${i}`), free)));
  const b = gate.enter('B').then((free) => (order.push('B'), free));
  t.same(gate.stats, { inFlight: 2, queued: 5, callers: 1 });
  a1();
  (await b)();
  t.same(order, ['B'], 'B, arrived last, runs first: it has nothing running');
  await Promise.race(queued);
  t.same(order, ['B', 'A1'], 'then A again, in its own order');
});

t.test('a full queue and a long wait are fast 503s; a slot is freed however the request ends', async (t) => {
  const gate = new FairShareGate({ maxInFlight: 1, perCaller: 1, queuePerCaller: 1, maxWaitMs: 50 });
  const free = await gate.enter('A');
  const waiting = gate.enter('A');
  await t.rejects(gate.enter('A'), new RegExp('waiting'), 'queue full: refused at once');
  await t.rejects(waiting, new RegExp('busy'), 'waited too long');
  free();
  free();
  t.same(gate.stats, { inFlight: 0, queued: 0, callers: 0 }, 'released once, even if called twice');
});

t.test('POST /v1/sso opts in: over the caps the answer is 503 with Retry-After, other callers still pass', async (t) => {
  const { app, database } = await buildTestApp(t, { config: { fairShareMaxInFlight: 2, fairSharePerCaller: 1, fairShareQueuePerCaller: 0 } });
  await world(database.db);
  const sso = (entId: string, sub: string) =>
    app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, { sub, role: 'ent', entId }), payload: { uai: UAI_A, personId: 'E1', resourceId: RES_P1 } });
  const [first, second, other] = await Promise.all([sso('Z0', 'a'), sso('Z0', 'b'), sso('Z1', 'c')]);
  t.equal(first.statusCode, 200, first.body);
  t.equal(second.statusCode, 503, 'the same ENT beyond its share');
  t.equal(second.headers['retry-after'], '1');
  t.match(second.headers['content-type'], 'application/problem+json');
  t.equal(other.statusCode, 403, 'another ENT is decided (refused here: UAI_A is not its school), not turned away');
  t.equal((await sso('Z0', 'a')).statusCode, 200, 'the slot was freed');
  t.equal(app.fairShare!.stats.inFlight, 0);
});
