import t from 'tap';
import { bearer, buildTestApp } from './helper.js';
import { RES_P1, UAI_A, UAI_B, baseWorld } from './factories.js';

const P1 = { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' };

t.test('a primary school takes no DOCUMENTALISTE audience and no librarian licences', async (t) => {
  const { app, database } = await buildTestApp(t);
  await baseWorld(database.db);
  await database.db.updateTable('establishments').set({ degree: 1 }).where('uai', '=', UAI_B).execute();
  const body = (id: string, uai: string, extra: object) => ({
    id, resourceId: RES_P1, uai, startsAt: '2026-09-01T00:00:00Z', endsAt: '2027-09-01T00:00:00Z', assignmentType: 'INDIV', ...extra,
  });
  const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/subscriptions', headers: bearer(app, P1), payload });
  const withDoc = { audiences: ['ELEVE', 'DOCUMENTALISTE'], licences: { pupils: 30, teachers: 0, librarians: 2, otherStaff: 0 } };
  const refused = await post(body('ABO-1D', UAI_B, withDoc));
  t.equal(refused.statusCode, 400, refused.body);
  t.same((refused.json().errors as Array<{ path: string }>).map((e) => e.path), ['body/audiences/1', 'body/licences/librarians']);
  t.equal((await post(body('ABO-2D', UAI_A, withDoc))).statusCode, 201, 'the same at a secondary school');
  const ok = await post(body('ABO-1D', UAI_B, { audiences: ['ELEVE', 'ENSEIGNANT'], licences: { pupils: 30, teachers: 2, librarians: 0, otherStaff: 0 } }));
  t.equal(ok.statusCode, 201, ok.body);
});

t.test('the dictionary says per degree which codes exist; a data request shows what a primary school cannot provide', async (t) => {
  const { app, database } = await buildTestApp(t);
  await baseWorld(database.db);
  const dict = await app.inject({ method: 'GET', url: '/v1/attributes', headers: bearer(app, P1) });
  const by = new Map((dict.json().items as Array<{ code: string; degrees: number[]; formats: Array<{ version: number; format: string; example: string }> }>).map((a) => [a.code, a]));
  t.same(by.get('P_MEL')!.degrees, [2], 'no teacher e-mail in 1D');
  t.same(by.get('E_MS')!.degrees, [2], 'no subjects in 1D');
  t.same(by.get('MEF')!.degrees, [2]);
  t.same(by.get('NOM')!.degrees, [1, 2]);
  t.ok(by.get('E_MS4')!.degrees.includes(1), 'MEFSTAT4 levels in 1D');
  for (const a of by.values()) t.ok(a.formats.length > 0 && a.formats[0]!.example !== '', `${a.code} documents its format`);

  const res = await app.inject({
    method: 'POST',
    url: `/v1/resources/${encodeURIComponent(RES_P1)}/data-requests`,
    headers: bearer(app, P1),
    payload: { attributes: [{ code: 'NOM', purpose: 'display' }, { code: 'P_MEL', purpose: 'contact' }, { code: 'E_MS', purpose: 'filter' }] },
  });
  t.equal(res.statusCode, 201, res.body);
  t.same(res.json().notFromPrimarySchools, ['E_MS', 'P_MEL']);
});
