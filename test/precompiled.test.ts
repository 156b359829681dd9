import t from 'tap';
import { sql } from 'kysely';
import { precompiled } from '../src/db/precompiled.js';
import { freshDatabase } from './helper.js';

t.test('a precompiled query fills its arguments on each call and keeps the constants the builder inlined', async (t) => {
  const database = await freshDatabase(t);
  await database.db
    .insertInto('ent_projects')
    .values([
      { id: 'E1', name: 'One', kind: 'ent' },
      { id: 'E2', name: 'Two', kind: 'ent' },
    ])
    .execute();
  let builds = 0;
  const byId = precompiled<{ id: string; suffix: string }>('test_precompiled_by_id', (db, q) => {
    builds++;
    return db
      .selectFrom('ent_projects')
      .select(['id', sql<string>`name || ${q.suffix} || ${'!'}`.as('label')])
      .where('id', '=', q.id)
      .where('kind', '=', 'ent');
  });
  t.same(await byId.run(database, { id: 'E1', suffix: '-a' }), [{ id: 'E1', label: 'One-a!' }]);
  t.same(await byId.run(database, { id: 'E2', suffix: '-b' }), [{ id: 'E2', label: 'Two-b!' }], 'the same statement, other arguments');
  t.same(await byId.run(database, { id: 'E3', suffix: '' }), [], 'no row');
  t.equal(builds, 1, 'built and compiled once for this database');
  const c = byId.compiled(database.db, { id: 'E9', suffix: '?' });
  t.same(c.parameters, ['?', '!', 'E9', 'ent'], 'arguments in their slots, constants as compiled');
});
