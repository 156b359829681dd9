import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, bearer, operator, ministry } from './helper.js';
import { spMetadata } from './fixtures/sp/sp-fixtures.js';
import { releasedAttributeCodes } from '../src/modules/data-requests/data-requests.repository.js';

const PUB_A = { sub: 'alice@editions-exemple', role: 'publisher', publisherId: 'editions-exemple' } as const;
const PUB_B = { sub: 'bob@autre-editeur', role: 'publisher', publisherId: 'autre-editeur' } as const;
const ARK = 'ark:/12345/maths-3e';
const R = `/v1/resources/${encodeURIComponent(ARK)}`;

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const ctx = await buildTestApp(t);
  const { app } = ctx;
  for (const id of [PUB_A.publisherId, PUB_B.publisherId]) {
    const res = await app.inject({ method: 'POST', url: '/v1/publishers', headers: bearer(app, operator), payload: { id, name: id, contactEmail: 'c@example.test' } });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
  const res = await app.inject({
    method: 'POST',
    url: '/v1/resources',
    headers: bearer(app, PUB_A),
    payload: { id: ARK, name: 'Maths 3e', typePresentation: 'MAN', sp: { metadataXml: spMetadata() } },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
  return ctx;
}

const ask = (app: FastifyInstance, attributes: Array<{ code: string; purpose: string }>, caller: Record<string, unknown> = PUB_A) =>
  app.inject({ method: 'POST', url: `${R}/data-requests`, headers: bearer(app, caller), payload: { attributes } });
const review = (app: FastifyInstance, id: string, decisions: Array<{ code: string; approved: boolean; comment: string }>, caller: Record<string, unknown> = ministry) =>
  app.inject({ method: 'POST', url: `/v1/data-requests/${id}/review`, headers: bearer(app, caller), payload: { decisions } });
const need = (...codes: string[]) => codes.map((code) => ({ code, purpose: `needed for ${code}` }));
const policy = async (app: FastifyInstance, caller: Record<string, unknown> = PUB_A) =>
  (await app.inject({ method: 'GET', url: `${R}/data-policy`, headers: bearer(app, caller) })).json();

t.test('the birth date and other codes outside the dictionary can never be requested', async (t) => {
  const { app } = await setup(t);
  const birth = await ask(app, [{ code: 'DATE_NAISSANCE', purpose: 'age check' }]);
  t.equal(birth.statusCode, 400);
  t.match(birth.headers['content-type'], 'application/problem+json');
  t.match(birth.json().errors, [{ path: 'body/attributes/0/code', message: /not in the attribute dictionary.*birth date/ }]);

  const many = await ask(app, [...need('UAI', 'birthDate', 'IDO', 'NOM_PATRO'), { code: 'UAI', purpose: 'again' }]);
  t.equal(many.statusCode, 400);
  t.same(
    many.json().errors.map((e: { path: string }) => e.path),
    ['body/attributes/1/code', 'body/attributes/2/code', 'body/attributes/3/code', 'body/attributes/4/code'],
    'every bad code listed at once',
  );
  t.match(many.json().errors[1].message, /IDO.*always sent/);
  t.match(many.json().errors[3].message, /more than once/);

  const noPurpose = await ask(app, [{ code: 'UAI', purpose: '   ' }]);
  t.equal(noPurpose.statusCode, 400, 'a purpose is required text');
  t.match(noPurpose.json().errors, [{ path: 'body/attributes/0/purpose' }]);
  const empty = await ask(app, []);
  t.equal(empty.statusCode, 400);

  const history = await app.inject({ method: 'GET', url: `${R}/data-requests`, headers: bearer(app, PUB_A) });
  t.same(history.json(), { items: [] }, 'nothing recorded');
});

t.test('review approves some and refuses others; a new request withdraws at once and adds only after review', async (t) => {
  const { app, clock } = await setup(t);
  const db = app.db;

  const first = await ask(app, need('UAI', 'PRO', 'NOM', 'DIV', 'P_MEL'));
  t.equal(first.statusCode, 201, first.body);
  const r1 = first.json();
  t.equal(r1.status, 'pending');
  t.equal(r1.resourceId, ARK);
  t.equal(r1.submittedAt, clock.now.toISOString());
  t.equal(r1.submittedBy, PUB_A.sub);
  t.same(r1.attributes.map((a: { code: string }) => a.code), ['UAI', 'PRO', 'NOM', 'DIV', 'P_MEL']);
  t.ok(r1.attributes.every((a: { approved: unknown; comment: unknown }) => a.approved === null && a.comment === null));
  t.same(r1.suggested, ['UAI', 'PRO', 'DIV', 'GRO', 'P_MEL'], 'what the SP metadata requests, IDO aside');
  t.same(r1.withdrawn, []);
  t.same(await releasedAttributeCodes(db, ARK), [], 'a request, or its suggestions, release nothing by themselves');

  const byPublisher = await review(app, r1.id, []);
  t.equal(byPublisher.statusCode, 400, 'schema first: at least one decision');
  const publisherReviews = await review(app, r1.id, [{ code: 'UAI', approved: true, comment: 'ok' }], PUB_A);
  t.equal(publisherReviews.statusCode, 403, 'a publisher cannot review');
  t.equal((await review(app, r1.id, [{ code: 'UAI', approved: true, comment: 'ok' }], operator)).statusCode, 403, 'nor can the operator');

  const queue = await app.inject({ method: 'GET', url: '/v1/data-requests?status=pending', headers: bearer(app, ministry) });
  t.equal(queue.statusCode, 200);
  t.same(queue.json().items.map((r: { id: string }) => r.id), [r1.id]);
  t.equal(queue.json().items[0].publisherId, PUB_A.publisherId);
  t.equal((await app.inject({ method: 'GET', url: '/v1/data-requests?status=pending', headers: bearer(app, operator) })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/v1/data-requests', headers: bearer(app, PUB_A) })).statusCode, 403);

  const incomplete = await review(app, r1.id, [
    { code: 'UAI', approved: true, comment: 'needed to scope licences' },
    { code: 'GRO', approved: true, comment: 'not asked' },
    { code: 'UAI', approved: false, comment: 'twice' },
  ]);
  t.equal(incomplete.statusCode, 400);
  const messages = incomplete.json().errors.map((e: { message: string }) => e.message);
  t.match(messages, [/"GRO" is not in this request/, /"UAI" is decided more than once/, /no decision for "PRO"/, /no decision for "NOM"/, /no decision for "DIV"/, /no decision for "P_MEL"/]);
  t.equal(messages.length, 6);

  clock.advance(3_600_000);
  const reviewedAt = clock.now.toISOString();
  const decided = await review(app, r1.id, [
    { code: 'UAI', approved: true, comment: 'needed to scope licences' },
    { code: 'PRO', approved: true, comment: 'pupil or teacher views' },
    { code: 'NOM', approved: false, comment: 'the IDO suffices to keep progress' },
    { code: 'DIV', approved: true, comment: 'class work' },
    { code: 'P_MEL', approved: false, comment: 'no e-mail needed' },
  ]);
  t.equal(decided.statusCode, 200, decided.body);
  t.equal(decided.json().status, 'reviewed');
  t.equal(decided.json().reviewedBy, ministry.sub);
  t.equal(decided.json().reviewedAt, reviewedAt);
  t.same(decided.json().released, ['UAI', 'PRO', 'DIV']);
  t.match(decided.json().attributes.find((a: { code: string }) => a.code === 'NOM'), { approved: false, comment: 'the IDO suffices to keep progress' });
  t.same(await releasedAttributeCodes(db, ARK), ['UAI', 'PRO', 'DIV']);
  const again = await review(app, r1.id, [{ code: 'UAI', approved: true, comment: 'again' }]);
  t.equal(again.statusCode, 409, 'a reviewed request cannot be reviewed again');

  const p1 = await policy(app);
  t.same(p1.approved.map((a: { code: string }) => a.code), ['UAI', 'PRO', 'DIV']);
  t.match(p1.approved[0], { code: 'UAI', purpose: 'needed for UAI', comment: 'needed to scope licences', approvedAt: reviewedAt, requestId: r1.id });
  t.equal(p1.requested.id, r1.id);
  t.same(p1.releasedLast30Days, []);

  // The new request drops PRO and adds GRO: PRO stops at once, GRO waits for the review.
  clock.advance(86_400_000);
  const second = await ask(app, need('UAI', 'DIV', 'GRO'));
  t.equal(second.statusCode, 201);
  const r2 = second.json();
  t.same(r2.withdrawn, ['PRO']);
  t.same(await releasedAttributeCodes(db, ARK), ['UAI', 'DIV'], 'PRO withdrawn at once, GRO not added');
  const p2 = await policy(app, ministry);
  t.same(p2.approved.map((a: { code: string }) => a.code), ['UAI', 'DIV']);
  t.equal(p2.requested.id, r2.id);
  t.equal(p2.requested.status, 'pending');

  // A third request supersedes the pending one, which can no longer be reviewed.
  clock.advance(60_000);
  const third = await ask(app, need('UAI', 'DIV', 'GRO', 'MEF'));
  const r3 = third.json();
  t.same(r3.withdrawn, []);
  const stale = await review(app, r2.id, [
    { code: 'UAI', approved: true, comment: 'x' },
    { code: 'DIV', approved: true, comment: 'x' },
    { code: 'GRO', approved: true, comment: 'x' },
  ]);
  t.equal(stale.statusCode, 409);
  t.match(stale.json().detail, /superseded/);

  clock.advance(60_000);
  const last = await review(app, r3.id, [
    { code: 'UAI', approved: true, comment: 'ok' },
    { code: 'DIV', approved: false, comment: 'no longer justified' },
    { code: 'GRO', approved: true, comment: 'group work' },
    { code: 'MEF', approved: true, comment: 'level' },
  ]);
  t.equal(last.statusCode, 200);
  t.same(last.json().released, ['UAI', 'GRO', 'MEF'], 'exactly the approved codes of this request');
  t.same(await releasedAttributeCodes(db, ARK), ['UAI', 'GRO', 'MEF']);

  const history = await app.inject({ method: 'GET', url: `${R}/data-requests`, headers: bearer(app, operator) });
  t.same(
    history.json().items.map((r: { id: string; status: string }) => [r.id, r.status]),
    [
      [r3.id, 'reviewed'],
      [r2.id, 'superseded'],
      [r1.id, 'reviewed'],
    ],
    'newest first, every decision kept',
  );
  t.match(history.json().items[2].attributes.find((a: { code: string }) => a.code === 'P_MEL'), { approved: false, comment: 'no e-mail needed' });
  const queueAfter = await app.inject({ method: 'GET', url: '/v1/data-requests?status=pending', headers: bearer(app, ministry) });
  t.same(queueAfter.json().items, []);
  const reviewedPage = await app.inject({ method: 'GET', url: '/v1/data-requests?status=reviewed&limit=1', headers: bearer(app, ministry) });
  t.same(reviewedPage.json().items.map((r: { id: string }) => r.id), [r1.id], 'oldest first');
  const nextPage = await app.inject({
    method: 'GET',
    url: `/v1/data-requests?status=reviewed&limit=1&after=${encodeURIComponent(reviewedPage.json().next)}`,
    headers: bearer(app, ministry),
  });
  t.same(nextPage.json().items.map((r: { id: string }) => r.id), [r3.id]);
  const badCursor = await app.inject({ method: 'GET', url: '/v1/data-requests?after=nonsense', headers: bearer(app, ministry) });
  t.equal(badCursor.statusCode, 400);
});

t.test("another publisher neither requests for, nor reads the policy of, a resource it does not own", async (t) => {
  const { app } = await setup(t);
  const r = (await ask(app, need('UAI'))).json();
  t.equal((await ask(app, need('UAI'), PUB_B)).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `${R}/data-policy`, headers: bearer(app, PUB_B) })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `${R}/data-requests`, headers: bearer(app, PUB_B) })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/v1/data-requests/${r.id}`, headers: bearer(app, PUB_B) })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/v1/data-requests/${r.id}`, headers: bearer(app, PUB_A) })).statusCode, 200);
  for (const reader of [ministry, operator]) {
    const p = await app.inject({ method: 'GET', url: `${R}/data-policy`, headers: bearer(app, reader) });
    t.equal(p.statusCode, 200, reader.role);
    t.equal(p.json().requested.id, r.id);
  }
  t.equal((await ask(app, need('UAI'), ministry)).statusCode, 403, 'only publishers submit');
  const unknown = await review(app, '00000000-0000-4000-8000-000000000000', [{ code: 'UAI', approved: true, comment: 'x' }]);
  t.equal(unknown.statusCode, 404);
  const notUuid = await review(app, 'abc', [{ code: 'UAI', approved: true, comment: 'x' }]);
  t.equal(notUuid.statusCode, 400);
});

t.test('concurrent submissions and a racing review leave one pending request and a consistent released set', async (t) => {
  const { app } = await setup(t);
  const base = (await ask(app, need('UAI', 'PRO', 'DIV'))).json();
  const decided = await review(app, base.id, [
    { code: 'UAI', approved: true, comment: 'ok' },
    { code: 'PRO', approved: true, comment: 'ok' },
    { code: 'DIV', approved: true, comment: 'ok' },
  ]);
  t.equal(decided.statusCode, 200);
  const pendingOne = (await ask(app, need('UAI', 'PRO', 'DIV'))).json();

  const results = await Promise.all([
    review(app, pendingOne.id, [
      { code: 'UAI', approved: true, comment: 'ok' },
      { code: 'PRO', approved: true, comment: 'ok' },
      { code: 'DIV', approved: true, comment: 'ok' },
    ]),
    ...Array.from({ length: 8 }, () => ask(app, need('UAI'))),
  ]);
  const [raced, ...submissions] = results;
  t.ok(submissions.every((s) => s.statusCode === 201), 'every submission recorded');
  t.ok([200, 409].includes(raced!.statusCode), `the review either won or found the request superseded (${raced!.statusCode})`);

  const history = (await app.inject({ method: 'GET', url: `${R}/data-requests`, headers: bearer(app, ministry) })).json().items;
  t.equal(history.length, 10);
  t.equal(history.filter((r: { status: string }) => r.status === 'pending').length, 1, 'exactly one pending request');
  t.same(await releasedAttributeCodes(app.db, ARK), ['UAI'], 'PRO and DIV withdrawn whatever the order');
});
