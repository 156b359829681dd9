import t from 'tap';
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
