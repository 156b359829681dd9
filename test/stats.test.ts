import t from 'tap';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database.js';
import { aggregateDailyStats } from '../src/modules/maintenance/stats-aggregation.js';
import { buildTestApp, bearer, ministry, operator } from './helper.js';
import { RES_P1, RES_P2, UAI_A, UAI_B, UAI_OTHER_ENT, baseWorld } from './factories.js';

async function log(db: Kysely<Database>, at: string, uai: string, ent: string, resource: string, publisher: string, outcome: 'granted' | 'refused') {
  await db.insertInto('access_log').values({ at, ent_id: ent, uai, resource_id: resource, publisher_id: publisher, profile: 'National_elv', outcome }).execute();
}

async function world(db: Kysely<Database>) {
  await baseWorld(db);
  await log(db, '2026-11-20T08:00:00Z', UAI_A, 'Z0', RES_P1, 'P1', 'granted');
  await log(db, '2026-11-20T09:00:00Z', UAI_A, 'Z0', RES_P1, 'P1', 'granted');
  await log(db, '2026-11-21T09:00:00Z', UAI_B, 'Z0', RES_P2, 'P2', 'refused');
  await log(db, '2026-11-25T08:00:00Z', UAI_OTHER_ENT, 'Z1', RES_P2, 'P2', 'granted');
}

const get = async (app: Parameters<typeof bearer>[0], caller: Record<string, unknown>, query: string) => {
  const res = await app.inject({ method: 'GET', url: `/v1/stats/accesses?${query}`, headers: bearer(app, caller) });
  return { status: res.statusCode, body: res.json() };
};

t.test('each role counts only its own scope, before and after daily folding', async (t) => {
  const { app, database } = await buildTestApp(t);
  await world(database.db);
  for (const folded of [false, true]) {
    if (folded) await aggregateDailyStats(database.db, app.clock());
    const all = await get(app, ministry, 'from=2026-11-01&to=2026-11-26&groupBy=resource');
    t.equal(all.status, 200);
    t.same(all.body.items, [
      { key: RES_P1, granted: 2, refused: 0 },
      { key: RES_P2, granted: 1, refused: 1 },
    ], `ministry sees everything (folded: ${folded})`);
    const pub = await get(app, { sub: 'p', role: 'publisher', publisherId: 'P1' }, 'from=2026-11-01&to=2026-11-26&groupBy=uai');
    t.same(pub.body.items, [{ key: UAI_A, granted: 2, refused: 0 }], 'publisher P1: its resource only');
    const ent = await get(app, { sub: 'e', role: 'ent', entId: 'Z1' }, 'from=2026-11-01&to=2026-11-26&groupBy=day');
    t.same(ent.body.items, [{ key: '2026-11-25', granted: 1, refused: 0 }], 'ENT Z1: its project only');
    const est = await get(app, { sub: 's', role: 'establishment', uai: [UAI_B] }, 'from=2026-11-01&to=2026-11-26&groupBy=day');
    t.same(est.body.items, [{ key: '2026-11-21', granted: 0, refused: 1 }], 'establishment: its UAIs only');
    const byProfile = await get(app, operator, 'from=2026-11-20&to=2026-11-21&groupBy=profile');
    t.same(byProfile.body.items, [{ key: 'National_elv', granted: 2, refused: 0 }], 'the period bounds hold');
  }
});

t.test('bad periods are 400', async (t) => {
  const { app } = await buildTestApp(t);
  t.equal((await get(app, ministry, 'from=2026-11-20&to=2026-11-01')).status, 400);
  t.equal((await get(app, ministry, 'from=yesterday')).status, 400);
  t.equal((await get(app, ministry, 'groupBy=person')).status, 400);
});
