/*
 * GAR web services at a publisher's scale: 20,000 subscriptions of one publisher over 2,000
 * establishments. Times, through app.inject (no network), a search page of 5,000 (XML and JSON,
 * GET with a <filtres> body), a filtered search, 200 creations, and an ENT resource list (gzip).
 * Prints medians and p95. Not part of `npm test`.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/gar-ws.ts
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { freshDatabase, testConfig, tokenFor } from '../test/helper.js';
import { uaiCheckLetter } from '../src/lib/uai.js';

const teardowns: Array<() => unknown> = [];
const database = await freshDatabase({ teardown: (fn) => teardowns.push(fn) });
const db = database.db;
const app = await buildApp(testConfig(), { database, maintenance: false });
await app.ready();

const NS = 'http://www.atosworldline.com/wsabonnement/v1.0/';
await sql`insert into ent_projects (id, name, kind) values ('Z0', 'ENT Z0', 'ent')`.execute(db);
await sql`insert into publishers (id, name, contact_email, siren_isni) values ('P1', 'P1', 'c@p1.example', '123456789_0000000000000001')`.execute(db);
const uais = Array.from({ length: 2000 }, (_, i) => {
  const d = String(650000 + i).padStart(7, '0');
  return d + uaiCheckLetter(d);
});
await sql`insert into establishments (uai, ent_id, name) select u, 'Z0', 'E ' || u from unnest(${uais}::text[]) u`.execute(db);
await sql`insert into resources (id, publisher_id, name, type_presentation, sp_entity_id, sp_acs_url)
  select 'ark:/12345/r' || g, 'P1', 'Ressource ' || g, 'MAN', 'https://sp.example/' || g, 'https://sp.example/acs' from generate_series(1, 10) g`.execute(db);
await sql`insert into subscriptions (id, publisher_id, resource_id, uai, starts_at, ends_at, assignment_type, audiences, licences, project_code)
  select 'S-' || u || '-' || g, 'P1', 'ark:/12345/r' || g, u, '2026-09-01', '2027-09-01', 'ETABL', '{ELEVE,ENSEIGNANT}', '{"global":"unlimited"}', 'PRJ-' || g
  from unnest(${uais}::text[]) u, generate_series(1, 10) g`.execute(db);
await sql`insert into people (ent_id, person_id, last_name, first_name) values ('Z0', 'E1', 'N', 'P')`.execute(db);
await sql`insert into establishment_people (uai, person_id, profiles) select ${uais[0]}, id, '{National_elv}' from people`.execute(db);
await sql`analyze`.execute(db);

const pub = { authorization: `Bearer ${tokenFor(app, { sub: 'p', role: 'publisher', publisherId: 'P1' })}`, 'content-type': 'application/xml' };
const ent = { authorization: `Bearer ${tokenFor(app, { sub: 'e', role: 'ent', entId: 'Z0' })}` };

async function time(label: string, n: number, fn: (i: number) => Promise<{ statusCode: number; rawPayload: Buffer }>) {
  const ms: number[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fn(i);
    ms.push(performance.now() - t0);
    if (res.statusCode >= 300) throw new Error(`${label}: ${res.statusCode}`);
    size = res.rawPayload.length;
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1);
  process.stdout.write(`${label.padEnd(58)} n=${String(n).padStart(3)}  median ${at(0.5).padStart(7)} ms  p95 ${at(0.95).padStart(7)} ms  ${(size / 1024).toFixed(0)} KiB\n`);
}

const body = (inner: string) => `<filtres xmlns="${NS}">${inner}</filtres>`;
await time('search, page of 5,000 of 20,000, XML (GET + <filtres>)', 20, () =>
  app.inject({ method: 'GET', url: '/ws/abonnement/abonnements?debut=0&fin=5000', headers: pub, payload: body('<triPar>idAbonnement</triPar><tri>ASC</tri>') }),
);
await time('search, page of 5,000 of 20,000, JSON', 20, () =>
  app.inject({ method: 'POST', url: '/ws/abonnement/abonnements?debut=15001&fin=20000', headers: { ...pub, accept: 'application/json' }, payload: body('') }),
);
await time('search, filter uaiEtab (10 of 20,000)', 50, (i) =>
  app.inject({ method: 'GET', url: '/ws/abonnement/abonnements', headers: pub, payload: body(`<filtre><filtreNom>uaiEtab</filtreNom><filtreValeur>${uais[i]}</filtreValeur></filtre>`) }),
);
await time('create (PUT), all rules checked', 200, (i) =>
  app.inject({
    method: 'PUT',
    url: `/ws/abonnement/NEW-${i}`,
    headers: pub,
    payload:
      `<abonnement xmlns="${NS}"><idAbonnement>NEW-${i}</idAbonnement><idDistributeurCom>123456789_0000000000000001</idDistributeurCom>` +
      `<idRessource>ark:/12345/r1</idRessource><typeIdRessource>ark</typeIdRessource><libelleRessource>R</libelleRessource>` +
      `<debutValidite>2026-09-01T00:00:00</debutValidite><finValidite>2027-08-31T23:59:59</finValidite><uaiEtab>${uais[i + 1]}</uaiEtab>` +
      `<categorieAffectation>transferable</categorieAffectation><typeAffectation>INDIV</typeAffectation><nbLicenceEleve>30</nbLicenceEleve>` +
      `<publicCible>ELEVE</publicCible></abonnement>`,
  }),
);
await time('ENT resource list, 10 resources, JSON gzip', 200, () =>
  app.inject({ method: 'GET', url: `/ws/ressources/Z0/${uais[0]}/E1`, headers: { ...ent, accept: 'application/json' } }),
);
await time('decompteaffectations, codeProjetRessource (2,000 lines)', 5, () =>
  app.inject({ method: 'GET', url: '/ws/decompteaffectations?codeProjetRessource=PRJ-3', headers: pub }),
);

await app.close();
for (const fn of teardowns.reverse()) await fn();
