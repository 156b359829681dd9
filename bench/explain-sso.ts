/*
 * bench/explain-sso.ts — EXPLAIN ANALYZE of the SSO decision query on the bench/sso.ts dataset,
 * and its mean time over 500 calls (run bench/sso.ts first to build the data).
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_bench node --import tsx bench/explain-sso.ts
 */
import pg from 'pg';
import { connectPostgres } from '../src/db/connect.js';
import { decisionFacts } from '../src/modules/sso/sso.repository.js';

const url = process.env.DATABASE_URL!;
const c = new pg.Client({ connectionString: url });
await c.connect();
const { rows } = await c.query(
  `select ep.uai, p.person_id, s.resource_id from establishment_people ep join people p on p.id = ep.person_id
   join subscriptions s on s.uai = ep.uai order by random() limit 500`,
);
const h = connectPostgres(url, 1);
const q = (r: (typeof rows)[number]) => ({ entId: 'Z0', uai: r.uai, personId: r.person_id, resourceId: r.resource_id, now: new Date(), personHash: 'bench-no-record' });
for (const r of rows.slice(0, 50)) await decisionFacts(h, q(r));
const t0 = performance.now();
for (const r of rows) await decisionFacts(h, q(r));
console.log(`decision query (prepared): ${((performance.now() - t0) / rows.length).toFixed(2)} ms mean over ${rows.length} calls`);

let captured: { sql: string; parameters: readonly unknown[] } | undefined;
await decisionFacts({ db: h.db, prepared: async (name, compiled) => ((captured = compiled), h.prepared(name, compiled)) }, q(rows[0]!));
const explained = await c.query(`explain (analyze, buffers) ${captured!.sql}`, captured!.parameters as unknown[]);
console.log(explained.rows.map((r) => r['QUERY PLAN']).join('\n'));
await c.end();
await h.close();
