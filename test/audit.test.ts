import t from 'tap';
import { sql } from 'kysely';
import { buildTestApp, bearer, ministry, operator } from './helper.js';

t.test('every successful change is in the audit trail, with field names and no values', async (t) => {
  const { app } = await buildTestApp(t);
  const created = await app.inject({ method: 'POST', url: '/v1/ent-projects', headers: bearer(app, operator), payload: { id: 'Z0', name: 'ENT Occitanie', kind: 'ent' } });
  t.equal(created.statusCode, 201);
  const attached = await app.inject({ method: 'PUT', url: '/v1/ent-projects/Z0/establishments/0650001Y', headers: bearer(app, operator), payload: { name: 'Collège Jean Moulin' } });
  t.equal(attached.statusCode, 201);
  const refused = await app.inject({ method: 'POST', url: '/v1/ent-projects', headers: bearer(app, operator), payload: { id: 'bad id' } });
  t.equal(refused.statusCode, 400);

  const res = await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(app, operator) });
  t.equal(res.statusCode, 200);
  const items = res.json().items;
  t.equal(items.length, 2, 'failed requests change nothing and are not recorded');
  t.match(items[1], { actorSub: 'op-1', actorRole: 'operator', action: 'POST /v1/ent-projects', objectType: 'ent-projects', fields: ['id', 'kind', 'name'], status: 201 });
  t.match(items[0], { action: 'PUT /v1/ent-projects/:entId/establishments/:uai', objectType: 'ent-projects.establishments', objectId: 'Z0/0650001Y', fields: ['name'] });
  t.notMatch(JSON.stringify(items), /Jean Moulin|Occitanie/, 'values never recorded');

  const filtered = await app.inject({ method: 'GET', url: '/v1/audit?objectType=ent-projects&limit=1', headers: bearer(app, operator) });
  t.equal(filtered.json().items.length, 1);
  t.notOk(filtered.json().next);
  const forbidden = await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(app, ministry) });
  t.equal(forbidden.statusCode, 403);
});

t.test('creations are audited with the id of what they created (issue 11, item 7)', async (t) => {
  const { app } = await buildTestApp(t);
  const pub = await app.inject({ method: 'POST', url: '/v1/publishers', headers: bearer(app, operator), payload: { id: 'editions-a', name: 'A', contactEmail: 'a@example.test' } });
  t.equal(pub.statusCode, 201, pub.body);
  const publisher = { sub: 'alice', role: 'publisher', publisherId: 'editions-a' } as const;
  const res = await app.inject({
    method: 'POST',
    url: '/v1/resources',
    headers: bearer(app, publisher),
    payload: { id: 'ark:/12345/algebre', name: 'Algèbre', typePresentation: 'MAN', sp: { entityId: 'https://a.test/sp', acsUrl: 'https://a.test/acs' } },
  });
  t.equal(res.statusCode, 201, res.body);
  const items = (await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(app, operator) })).json().items;
  t.match(items[0], { action: 'POST /v1/resources', objectType: 'resources', objectId: 'ark:/12345/algebre', status: 201 });
  t.match(items[1], { action: 'POST /v1/publishers', objectId: 'editions-a', status: 201 });
});

t.test('a change whose audit row cannot be written does not happen (issue 11, item 6)', async (t) => {
  const { app, database } = await buildTestApp(t);
  await sql`create function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'audit store down'; end $$`.execute(database.db);
  await sql`create trigger refuse_audit before insert on audit_log for each row execute function refuse_audit()`.execute(database.db);
  const res = await app.inject({ method: 'POST', url: '/v1/ent-projects', headers: bearer(app, operator), payload: { id: 'Z0', name: 'ENT', kind: 'ent' } });
  t.equal(res.statusCode, 503, res.body);
  t.match(res.json().detail, /audit trail/);
  const list = await app.inject({ method: 'GET', url: '/v1/ent-projects', headers: bearer(app, operator) });
  t.same(list.json().items, [], 'nothing was created');
});
