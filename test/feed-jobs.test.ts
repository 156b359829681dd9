import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { buildTestApp, bearer, operator, testConfig } from './helper.js';
import { UAI_A, UAI_B, UAI_OTHER, dumpDirectory, entZ0, entZ1, onboard, sampleSnapshot } from './directory-fixtures.js';
import { tarGz, z0Export, zip } from './export-archives.js';
import { threadApplies } from '../src/modules/directory/feed-pool.js';

const exportDir = () => mkdtempSync(join(tmpdir(), 'gar-exports-'));

const send = (app: FastifyInstance, body: Buffer, type = 'application/gzip', caller: Parameters<typeof bearer>[1] = entZ0, query = '') =>
  app.inject({ method: 'POST', url: `/v1/feed/gar-ent/exports${query}`, headers: { ...bearer(app, caller), 'content-type': type }, payload: body });

/** Polls the job until it ends (jobs run in the background of the app). */
async function finished(app: FastifyInstance, id: string, caller: Parameters<typeof bearer>[1] = entZ0) {
  for (let i = 0; i < 600; i++) {
    const r = await app.inject({ method: 'GET', url: `/v1/feed/jobs/${id}`, headers: bearer(app, caller) });
    if (r.statusCode !== 200) throw new Error(r.body);
    const job = r.json();
    if (!['queued', 'running'].includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('job did not finish');
}

t.test('a .tar.gz export with one broken establishment applies the others and reports the broken one; another project’s school is refused', async (t) => {
  const { app, database } = await buildTestApp(t, { config: { feedExportDir: exportDir() } });
  await onboard(app);
  const onThread = threadApplies.count;
  const res = await send(app, await tarGz(z0Export({ brokenB: true, withOther: true })), 'application/gzip', entZ0, '?name=Z0_export.tar.gz');
  t.equal(res.statusCode, 202, res.body);
  const id = res.json().id;
  t.equal(res.headers.location, `/v1/feed/jobs/${id}`);
  t.match(res.json(), { state: 'queued', entId: 'Z0', archiveName: 'Z0_export.tar.gz' });

  const job = await finished(app, id);
  t.equal(job.state, 'partial');
  const by = Object.fromEntries(job.establishments.map((e: { uai: string }) => [e.uai, e]));
  t.match(by[UAI_A], { state: 'applied', people: 4, result: { people: { created: 4 } } });
  t.match(by[UAI_B], { state: 'failed', reason: 'invalid records' });
  t.match(by[UAI_OTHER], { state: 'refused', reason: /not attached to your ENT project/ });
  // On PostgreSQL the establishment is gathered and applied on a feed thread; embedded, on the event loop.
  t.equal(threadApplies.count - onThread, database.kind === 'postgres' ? 1 : 0, 'where the establishment was applied');
  t.match(job.progress, { phase: 'done', files: { done: 8, total: 8 }, establishments: { done: 3, total: 3 } });
  t.ok(job.progress.records.total > 0 && job.progress.records.read === job.progress.records.total);
  t.match(job.problems, [{ file: 'Z0_GAR-ENT_Complet_20261125_Eleve_0001.xml', uai: UAI_B, path: '/GAREleve/0/GARPersonDateNaissance' }]);
  t.ok(job.problems.some((p: { uai?: string }) => p.uai === UAI_OTHER), 'the refusal is a problem too');
  t.equal(job.problemCount, job.problems.length);
  t.notOk(JSON.stringify(job).includes('2011-19-37'), 'the bad date is not echoed');

  // A stored what the JSON snapshot of the same content stores; B untouched; the other project untouched.
  const viaJson = await buildTestApp(t);
  await onboard(viaJson.app);
  t.equal((await viaJson.app.inject({ method: 'PUT', url: `/v1/establishments/${UAI_A}/directory`, headers: bearer(viaJson.app, entZ0), payload: sampleSnapshot() })).statusCode, 200);
  t.same(await dumpDirectory(database.db, UAI_A), await dumpDirectory(viaJson.database.db, UAI_A), 'same rows as the JSON snapshot');
  t.same((await dumpDirectory(database.db, UAI_B)).people, [], 'nothing of the broken school applied');
  t.same((await dumpDirectory(database.db, UAI_OTHER)).people, []);
  const other = await app.inject({ method: 'GET', url: `/v1/establishments/${UAI_OTHER}/directory`, headers: bearer(app, operator) });
  t.equal(other.json().name, `École ${UAI_OTHER}`, 'the other project’s school keeps its name');

  // Listing: the caller's jobs; another project sees neither the list entry nor the job.
  const list = await app.inject({ method: 'GET', url: '/v1/feed/jobs', headers: bearer(app, entZ0) });
  t.same(list.json().items.map((j: { id: string }) => j.id), [id]);
  t.same((await app.inject({ method: 'GET', url: '/v1/feed/jobs', headers: bearer(app, entZ1) })).json().items, []);
  t.equal((await app.inject({ method: 'GET', url: `/v1/feed/jobs/${id}`, headers: bearer(app, entZ1) })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/v1/feed/jobs/${id}`, headers: bearer(app, operator) })).statusCode, 200);
});

t.test('a .zip export is complete: whoever is absent from the next one is marked gone', async (t) => {
  const dir = exportDir();
  const { app, database } = await buildTestApp(t, { config: { feedExportDir: dir } });
  await onboard(app);
  const first = await finished(app, (await send(app, await zip(z0Export()), 'application/zip')).json().id);
  t.equal(first.state, 'succeeded', JSON.stringify(first.problems));
  t.same(first.establishments.map((e: { uai: string; state: string }) => [e.uai, e.state]), [[UAI_A, 'applied'], [UAI_B, 'applied']]);
  t.equal((await dumpDirectory(database.db, UAI_B)).people.length, 2, 'the teacher of both schools and B’s pupil');

  // The same export again changes nothing.
  const again = await finished(app, (await send(app, await zip(z0Export()), 'application/zip')).json().id);
  t.match(again.establishments[0].result, { people: { created: 0, updated: 0, gone: 0 }, memberships: { added: 0, removed: 0 } });

  // The next night, one pupil has left.
  const next = await finished(app, (await send(app, await zip(z0Export({ dropPupil: 'E1-000124' })), 'application/zip', operator, '?ent=Z0')).json().id);
  t.equal(next.state, 'succeeded', JSON.stringify(next.problems));
  t.match(next.establishments[0].result, { people: { gone: 1 } });
  const left = (await dumpDirectory(database.db, UAI_A)).people.find((p) => (p as { person_id: string }).person_id === 'E1-000124') as { gone_here: boolean };
  t.equal(left.gone_here, true);
});

t.test('a job interrupted by a stop is taken up again at the next start, or failed when its archive is gone', async (t) => {
  const dir = exportDir();
  const { app, database } = await buildTestApp(t, { config: { feedExportDir: dir } });
  await onboard(app);
  const archive = join(dir, 'left-behind.upload');
  writeFileSync(archive, await tarGz(z0Export()));
  const at = new Date('2026-11-25T08:00:00Z');
  const row = (id: string, path: string, attempts: number) => ({
    id, ent_id: 'Z0', state: 'running' as const, created_by: 'ent-z0', archive_name: null, archive_path: path, archive_bytes: 1, attempts, created_at: at, started_at: at, updated_at: at,
  });
  await database.db.insertInto('feed_jobs').values([
    row('00000000-0000-4000-8000-000000000001', archive, 1),
    row('00000000-0000-4000-8000-000000000002', join(dir, 'gone.upload'), 1),
  ]).execute();

  // The service starts again on the same database.
  const restarted = await buildApp(testConfig({ feedExportDir: dir }), { database, clock: () => new Date('2026-11-25T09:00:00Z') });
  t.teardown(() => restarted.close());
  await restarted.ready();
  const resumed = await finished(restarted, '00000000-0000-4000-8000-000000000001');
  t.match(resumed, { state: 'succeeded', attempts: 2 });
  t.equal((await dumpDirectory(database.db, UAI_A)).people.length, 4, 'applied whole');
  for (let i = 0; i < 40 && existsSync(archive); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(existsSync(archive), 'the archive is removed once the job ends');
  const lost = await finished(restarted, '00000000-0000-4000-8000-000000000002');
  t.match(lost, { state: 'failed', error: /no longer on disk/ });
});

t.test('a stop in the middle of a job leaves it queued for the next start, applied establishments whole', async (t) => {
  const dir = exportDir();
  const { app, database } = await buildTestApp(t, { config: { feedExportDir: dir } });
  await onboard(app);
  const first = await buildApp(testConfig({ feedExportDir: dir }), { database });
  await first.ready();
  const id = (await send(first, await tarGz(z0Export()))).json().id;
  await first.close(); // stops between two establishments at the latest
  const row = await database.db.selectFrom('feed_jobs').select(['state', 'archive_path']).where('id', '=', id).executeTakeFirstOrThrow();
  t.ok(['queued', 'succeeded'].includes(row.state), `left ${row.state}, never running`);
  const second = await buildApp(testConfig({ feedExportDir: dir }), { database });
  t.teardown(() => second.close());
  await second.ready();
  t.equal((await finished(second, id)).state, 'succeeded');
  t.equal((await dumpDirectory(database.db, UAI_B)).people.length, 2);
});

t.test('what is not an export is a 4xx', async (t) => {
  const { app } = await buildTestApp(t, { config: { feedExportDir: exportDir(), feedExportMaxBytes: 64 * 1024 } });
  await onboard(app);
  const archive = await tarGz(z0Export());
  const notArchive = await send(app, Buffer.from('<GAR-ENT-Etab/>'), 'application/octet-stream');
  t.equal(notArchive.statusCode, 400);
  t.match(notArchive.json().detail, /neither a .tar.gz nor a .zip/);
  const big = await send(app, Buffer.alloc(100 * 1024, 1));
  t.equal(big.statusCode, 413);
  const text = await send(app, archive, 'image/png');
  t.equal(text.statusCode, 415, text.body);
  t.equal((await send(app, archive, 'application/json')).statusCode, 400, 'sent as JSON, it is bad JSON');
  t.equal((await send(app, archive, 'application/gzip', { sub: 'p', role: 'publisher', publisherId: 'P1' })).statusCode, 403, 'wrong role');
  t.equal((await send(app, archive, 'application/gzip', entZ0, '?ent=Z1')).statusCode, 403, 'an ENT sends for its own project only');
  t.equal((await send(app, archive, 'application/gzip', operator)).statusCode, 400, 'an operator names the project');
  t.equal((await send(app, archive, 'application/gzip', operator, '?ent=Z9')).statusCode, 404);
  const corrupt = Buffer.concat([archive.subarray(0, 40), Buffer.alloc(200, 7)]);
  const res = await send(app, corrupt);
  t.equal(res.statusCode, 202, 'a gzip header is enough to start');
  t.match(await finished(app, res.json().id), { state: 'failed', error: /not a readable .tar.gz/ });
  t.equal((await app.inject({ method: 'GET', url: '/v1/feed/jobs/not-a-uuid', headers: bearer(app, entZ0) })).statusCode, 400);
});
