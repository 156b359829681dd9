import { Writable } from 'node:stream';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer } from './helper.js';
import { feedParses } from '../src/modules/directory/feed-pool.js';
import { UAI_A, UAI_OTHER, entZ0, fixture, onboard, sampleSnapshot } from './directory-fixtures.js';

const MiB = 1024 * 1024;

/**
 * A parser spy: counts JSON.parse calls on texts of more than 1 MiB (the only ones a feed body can
 * be; tokens and small bodies are not counted). Restored when the test ends.
 */
function spyOnLargeParses(t: { teardown: (fn: () => void) => void }): { count: () => number } {
  const original = JSON.parse;
  let calls = 0;
  JSON.parse = function (text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) {
    if (typeof text === 'string' && text.length > MiB) calls++;
    return original(text, reviver);
  } as typeof JSON.parse;
  t.teardown(() => {
    JSON.parse = original;
  });
  // Feed bodies are parsed on a worker thread, where this spy cannot see: the pool's count joins it.
  const before = feedParses.count;
  return { count: () => calls + feedParses.count - before };
}

/** A snapshot padded to about `bytes` with people. */
function largeSnapshot(bytes: number) {
  const snapshot = sampleSnapshot();
  const people = [];
  const filler = 'x'.repeat(480);
  for (let i = 0; people.length * 1100 < bytes; i++) {
    people.push({ id: `P-${i}`, lastName: filler, firstName: filler, profiles: [{ uai: UAI_A, profile: 'National_elv' }] });
  }
  return { ...snapshot, people: [...snapshot.people, ...people] };
}

const put = (app: FastifyInstance, uai: string, payload: string, caller: Parameters<typeof bearer>[1] = entZ0) =>
  app.inject({ method: 'PUT', url: `/v1/establishments/${uai}/directory`, headers: { ...bearer(app, caller), 'content-type': 'application/json' }, payload });

t.test('an out-of-scope caller with a 20 MiB body is refused before the body is parsed', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const body = JSON.stringify(largeSnapshot(19 * MiB));
  t.ok(body.length > 18 * MiB, `a body of ${(body.length / MiB).toFixed(1)} MiB`);
  const spy = spyOnLargeParses(t);

  const foreign = await put(app, UAI_OTHER, body);
  t.equal(foreign.statusCode, 403, 'another project’s school');
  const changes = await app.inject({
    method: 'POST',
    url: `/v1/establishments/${UAI_OTHER}/directory/changes`,
    headers: { ...bearer(app, entZ0), 'content-type': 'application/json' },
    payload: body,
  });
  t.equal(changes.statusCode, 403, 'the delta route too');
  const badUai = await put(app, '0650001A', body);
  t.equal(badUai.statusCode, 400, 'an invalid UAI');
  const wrongRole = await put(app, UAI_A, body, { sub: 'pub', role: 'publisher', publisherId: 'p1' });
  t.equal(wrongRole.statusCode, 403, 'a publisher token');
  t.equal(spy.count(), 0, 'no refused body was parsed');

  // The spy does see a body that is read: the same body in scope is parsed once.
  const own = await put(app, UAI_A, body);
  t.equal(own.statusCode, 200, own.body.slice(0, 500));
  t.equal(spy.count(), 1, 'the body in scope is parsed once');
});

t.test('JSON nesting deeper than the limit is refused with a 400 before it is built', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const deep = `{"people":[],"x":${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}}`;
  const res = await put(app, UAI_A, deep);
  t.equal(res.statusCode, 400, res.body);
  t.match(res.json().detail, /nested deeper than 32 levels/);
  // Brackets inside strings are text, not nesting.
  const snapshot = sampleSnapshot();
  snapshot.people[0]!.lastName = '[['.repeat(40);
  const ok = await put(app, UAI_A, JSON.stringify(snapshot));
  t.equal(ok.statusCode, 200, ok.body);
  // Other routes have the same limit.
  const other = await app.inject({
    method: 'POST',
    url: '/v1/ent-projects',
    headers: { ...bearer(app, { sub: 'op', role: 'operator' }), 'content-type': 'application/json' },
    payload: `{"id":${'['.repeat(100)}${']'.repeat(100)}}`,
  });
  t.equal(other.statusCode, 400);
});

t.test('error lists are capped at 100 with the total count, JSON and XML', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  const snapshot = sampleSnapshot();
  const memberships = Array.from({ length: 150_000 }, (_, i) => ({ personId: `nobody-${i}`, groupCode: '3A' }));
  const res = await put(app, UAI_A, JSON.stringify({ ...snapshot, memberships }));
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.equal(body.errors.length, 100);
  t.equal(body.errorCount, 150_000);
  t.ok(res.body.length < 20_000, `answer of ${res.body.length} bytes`);

  const records = Array.from(
    { length: 1000 },
    (_, i) => `<GARPersonGroupe><GARStructureUAI>${UAI_A}</GARStructureUAI><GARPersonIdentifiant>x${i}</GARPersonIdentifiant><GARGroupeCode>nope</GARGroupeCode></GARPersonGroupe>`,
  ).join('');
  const xml = `<?xml version="1.0"?><GAR-ENT-Groupe xmlns="http://data.education.fr/ns/gar" Version="1.7">${records}</GAR-ENT-Groupe>`;
  const x = await app.inject({ method: 'POST', url: '/v1/feed/gar-ent', headers: { ...bearer(app, entZ0), 'content-type': 'application/xml' }, payload: xml });
  t.equal(x.statusCode, 400);
  t.equal(x.json().errors.length, 100);
  t.equal(x.json().errorCount, 2000, 'one unknown person and one unknown group per record');
});

t.test('bad birth dates are 400s naming the record, and the log holds no date', async (t) => {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const { app } = await buildTestApp(t, { config: { logLevel: 'debug' }, deps: { logStream } });
  await onboard(app);

  const xml = fixture('eleve.xml').replace('2012-05-06', '2011-19-37');
  const x = await app.inject({ method: 'POST', url: '/v1/feed/gar-ent', headers: { ...bearer(app, entZ0), 'content-type': 'application/xml' }, payload: xml });
  t.equal(x.statusCode, 400, x.body);
  t.same(x.json().errors, [{ path: '/GAREleve/1/GARPersonDateNaissance', message: 'must be a calendar date' }]);

  for (const [date, message] of [
    ['0000-01-01', /plausible birth date/],
    ['2031-02-03', /plausible birth date/],
    ['2013-02-29', /calendar date|format/],
  ] as const) {
    const snapshot = sampleSnapshot();
    snapshot.people[1]!.birthDate = date;
    const res = await put(app, UAI_A, JSON.stringify(snapshot));
    t.equal(res.statusCode, 400, `${date}: ${res.body}`);
    t.match(res.json().errors, [{ path: '/people/1/birthDate', message }]);
  }
  const log = lines.join('');
  for (const date of ['2011-19-37', '0000-01-01', '2031-02-03', '2013-02-29']) t.notOk(log.includes(date), `the log never holds ${date}`);
});

t.test('a feed body that is no object (null, a list, a number) is a 400 on both routes, never a 500', async (t) => {
  const { app } = await buildTestApp(t);
  await onboard(app);
  for (const payload of ['null', '[]', '3', '"x"', 'true']) {
    for (const [method, url] of [['PUT', `/v1/establishments/${UAI_A}/directory`], ['POST', `/v1/establishments/${UAI_A}/directory/changes`]] as const) {
      const res = await app.inject({ method, url, headers: { ...bearer(app, entZ0), 'content-type': 'application/json' }, payload });
      t.equal(res.statusCode, 400, `${method} ${payload}`);
      t.match(res.headers['content-type'], /application\/problem\+json/);
      t.match(res.json().errors, [{ message: /object/ }], 'the schema says what was expected');
    }
  }
});
