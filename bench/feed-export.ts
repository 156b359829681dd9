/*
 * Nightly-export import benchmark (not part of `npm test`): the import rate of a realistic archive
 * and the peak RSS of the process doing it.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/garb_export node --import tsx bench/feed-export.ts
 *
 * WIPES that database, creates ESTABLISHMENTS (default 200) schools of PEOPLE (default 2,000: 93%
 * pupils in classes of 25, the rest teachers teaching classes) for ENT project Z0, writes them as a
 * GAR-ENT .tar.gz split every 10,000 elements (files mixing schools), then runs the import of
 * POST /v1/feed/gar-ent/exports (importExport, files parsed and establishments applied on the piscina
 * pool as in the server) into an empty directory, and prints people/s and peak RSS (getrusage maxrss).
 */
import { createWriteStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import tar from 'tar-stream';
import { connectPostgres } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { uaiCheckLetter } from '../src/lib/uai.js';
import { startFeedPool } from '../src/modules/directory/feed-pool.js';
import { archiveFiles } from '../src/modules/feed-jobs/archive.js';
import { importExport } from '../src/modules/feed-jobs/export-import.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL (a database this bench may wipe)');
const SCHOOLS = Number(process.env.ESTABLISHMENTS ?? 200);
const PEOPLE = Number(process.env.PEOPLE ?? 2000);
const SPLIT = 10_000;
const uai = (i: number) => `0${String(700000 + i).padStart(6, '0')}`.slice(-7);
const uais = Array.from({ length: SCHOOLS }, (_, i) => uai(i) + uaiCheckLetter(uai(i)));
const NS = 'xmlns="http://data.education.fr/ns/gar" Version="1.0"';

/** Every record of one kind, for all schools, in files of SPLIT elements. */
function* files(): Generator<{ name: string; text: string }> {
  const kinds: Array<[string, string, () => Generator<string>]> = [
    ['Etab', 'GAR-ENT-Etab', function* () {
      for (const u of uais) {
        yield (`<GAREtab><GARStructureUAI>${u}</GARStructureUAI><GARStructureNomCourant>Collège ${u}</GARStructureNomCourant></GAREtab>`);
        yield (`<GARMEF><GARStructureUAI>${u}</GARStructureUAI><GARMEFCode>10310019110</GARMEFCode><GARMEFLibelle>3EME</GARMEFLibelle></GARMEF>`);
        yield (`<GARMatiere><GARStructureUAI>${u}</GARStructureUAI><GARMatiereCode>030201</GARMatiereCode><GARMatiereLibelle>Mathématiques</GARMatiereLibelle></GARMatiere>`);
      }
    }],
    ['Eleve', 'GAR-ENT-Eleve', function* () {
      for (const [s, u] of uais.entries()) {
        for (let p = 0; p < Math.round(PEOPLE * 0.93); p++) {
          const id = `E${s}-${p}`;
          yield (`<GAREleve><GARPersonIdentifiant>${id}</GARPersonIdentifiant><GARPersonProfils><GARStructureUAI>${u}</GARStructureUAI><GARPersonProfil>National_elv</GARPersonProfil></GARPersonProfils><GARPersonNom>Nom${p}</GARPersonNom><GARPersonPrenom>Prénom${p}</GARPersonPrenom><GARPersonAutresPrenoms>Prénom${p}</GARPersonAutresPrenoms><GARPersonCivilite>${p % 2 ? 'M.' : 'Mme'}</GARPersonCivilite><GARPersonEtab>${u}</GARPersonEtab><GARPersonDateNaissance>2012-0${1 + (p % 9)}-1${p % 10}</GARPersonDateNaissance></GAREleve>`);
          yield (`<GARPersonMEF><GARStructureUAI>${u}</GARStructureUAI><GARPersonIdentifiant>${id}</GARPersonIdentifiant><GARMEFCode>10310019110</GARMEFCode></GARPersonMEF>`);
        }
      }
    }],
    ['Enseignant', 'GAR-ENT-Enseignant', function* () {
      for (const [s, u] of uais.entries()) {
        for (let p = 0; p < PEOPLE - Math.round(PEOPLE * 0.93); p++) {
          yield (`<GAREnseignant><GARPersonIdentifiant>T${s}-${p}</GARPersonIdentifiant><GARPersonProfils><GARStructureUAI>${u}</GARStructureUAI><GARPersonProfil>National_ens</GARPersonProfil></GARPersonProfils><GARPersonNom>Prof${p}</GARPersonNom><GARPersonPrenom>Ana</GARPersonPrenom><GARPersonAutresPrenoms>Ana</GARPersonAutresPrenoms><GARPersonEtab>${u}</GARPersonEtab><GARPersonMail>t${s}-${p}@ac-bench.fr</GARPersonMail></GAREnseignant>`);
        }
      }
    }],
    ['Groupe', 'GAR-ENT-Groupe', function* () {
      for (const [s, u] of uais.entries()) {
        const pupils = Math.round(PEOPLE * 0.93);
        const classes = Math.ceil(pupils / 25);
        for (let c = 0; c < classes; c++) yield (`<GARGroupe><GARGroupeCode>C${c}</GARGroupeCode><GARStructureUAI>${u}</GARStructureUAI><GARGroupeLibelle>Classe ${c}</GARGroupeLibelle><GARGroupeStatut>DIVISION</GARGroupeStatut></GARGroupe>`);
        for (let p = 0; p < pupils; p++) yield (`<GARPersonGroupe><GARStructureUAI>${u}</GARStructureUAI><GARPersonIdentifiant>E${s}-${p}</GARPersonIdentifiant><GARGroupeCode>C${Math.floor(p / 25)}</GARGroupeCode></GARPersonGroupe>`);
        const teachers = PEOPLE - pupils;
        for (let c = 0; c < classes; c++) yield (`<GAREnsClasseMatiere><GARStructureUAI>${u}</GARStructureUAI><GARPersonIdentifiant>T${s}-${c % teachers}</GARPersonIdentifiant><GARGroupeCode>C${c}</GARGroupeCode><GARMatiereCode>030201</GARMatiereCode></GAREnsClasseMatiere>`);
      }
    }],
  ];
  for (const [type, root, gen] of kinds) {
    let buf: string[] = [];
    let n = 0;
    const file = () => ({ name: `Z0_GAR-ENT_Complet_20261125_${type}_${String(n++).padStart(4, '0')}.xml`, text: `<?xml version="1.0" encoding="UTF-8"?>\n<${root} ${NS}>\n${buf.join('\n')}\n</${root}>\n` });
    for (const rec of gen()) {
      buf.push(rec);
      if (buf.length >= SPLIT) {
        yield file();
        buf = [];
      }
    }
    if (buf.length) yield file();
  }
}

async function main() {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('drop schema public cascade; create schema public;');
  await admin.end();
  const database = connectPostgres(url!, 10, { statementTimeoutMs: 0 });
  await migrateToLatest(database.db);
  await database.db.insertInto('ent_projects').values({ id: 'Z0', name: 'ENT bench', kind: 'ent' } as never).execute();
  await database.db.insertInto('establishments').values(uais.map((u) => ({ uai: u, ent_id: 'Z0', name: `École ${u}` })) as never).execute();

  const path = join(mkdtempSync(join(tmpdir(), 'garb-export-')), 'Z0.tar.gz');
  const pack = tar.pack();
  const writing = pipeline(pack, createGzip(), createWriteStream(path));
  let count = 0;
  for (const f of files()) {
    await new Promise<void>((resolve, reject) => pack.entry({ name: f.name }, f.text, (err) => (err ? reject(err) : resolve())));
    count++;
  }
  pack.finalize();
  await writing;
  const rssAfterWrite = process.resourceUsage().maxRSS;
  process.stdout.write(`archive: ${count} files, ${(statSync(path).size / 1048576).toFixed(1)} MiB gzipped, ${SCHOOLS} establishments × ${PEOPLE} people\n`);

  await startFeedPool();
  const started = performance.now();
  let lastLine = 0;
  const report = await importExport({
    db: database.db,
    // As the server's job runner does: establishments applied on the feed threads (PostgreSQL).
    ...(database.postgres ? { postgres: database.postgres } : {}),
    entId: 'Z0',
    now: new Date(),
    actor: 'bench',
    files: archiveFiles(path, 'tar.gz'),
    onProgress: (r) => {
      if (performance.now() - lastLine < 10_000) return;
      lastLine = performance.now();
      const p = r.progress;
      process.stdout.write(`  ${p.phase}: files ${p.files.done}/${p.files.total}, establishments ${p.establishments.done}/${p.establishments.total ?? '?'}\n`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const applied = report.establishments.filter((e) => e.state === 'applied');
  const people = applied.reduce((n, e) => n + e.people, 0);
  process.stdout.write(
    `import: ${applied.length}/${report.establishments.length} establishments applied, ${people} people, ${report.progress.records.read} records in ${seconds.toFixed(1)} s\n` +
      `rate: ${Math.round(people / seconds)} people/s, ${Math.round(report.progress.records.read / seconds)} records/s; problems: ${report.problemCount}\n` +
      `peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (after writing the archive: ${Math.round(rssAfterWrite / 1024)} MiB)\n`,
  );
  await database.close();
  process.exit(0);
}

await main();
