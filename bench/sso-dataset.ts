/*
 * bench/sso-dataset.ts — the SSO dataset shared by bench/sso.ts and bench/soak.ts, and the broker
 * server they load: 10,000 people in 20 schools, 50 resources, assignments through classes.
 */
import { deflateRawSync } from 'node:zlib';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import pg from 'pg';
import { createSigner } from 'fast-jwt';
import { createSelfSignedCertificate } from '../src/saml/self-signed.js';
import { connectPostgres } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { uaiCheckLetter } from '../src/lib/uai.js';

export type SsoTarget = { uai: string; personId: string; resourceId: string };

export function benchDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('set DATABASE_URL (a database this bench may wipe)');
  return url;
}

const SCHOOLS = 20;
const PER_SCHOOL = 500; // 480 pupils in 20 classes of 24, 20 teachers
const RESOURCES = 50;

const uai = (i: number) => {
  const d = String(650100 + i).padStart(7, '0');
  return d + uaiCheckLetter(d);
};

async function resetDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('drop schema public cascade; create schema public;');
  await admin.end();
  const h = connectPostgres(url, 2);
  await migrateToLatest(h.db);
  await h.close();
}

async function seed(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const uais = Array.from({ length: SCHOOLS }, (_, i) => uai(i));
  await c.query(`insert into ent_projects (id, name, kind) values ('Z0', 'ENT bench', 'ent')`);
  await c.query(`insert into establishments (uai, ent_id, name) select u, 'Z0', 'Collège ' || u from unnest($1::text[]) u`, [uais]);
  await c.query(`insert into publishers (id, name, contact_email) select 'P' || i, 'Éditions ' || i, 'c' || i || '@pub.test' from generate_series(1, 5) i`);
  await c.query(
    `insert into resources (id, publisher_id, name, type_presentation, sp_entity_id, sp_acs_url)
     select 'ark:/12345/r' || i, 'P' || (1 + i % 5), 'Ressource ' || i, 'MAN', 'https://sp' || i || '.test/metadata', 'https://sp' || i || '.test/acs'
     from generate_series(1, $1::int) i`,
    [RESOURCES],
  );
  await c.query(
    `with r as (insert into data_requests (resource_id, status, submitted_by, submitted_at, reviewed_by, reviewed_at)
       select id, 'reviewed', 'bench', now(), 'bench', now() from resources returning id, resource_id)
     insert into released_attributes (resource_id, code, request_id, approved_at)
     select r.resource_id, code, r.id, now() from r, unnest(array['UAI','PRO','NOM','PRE','DIV','GRO','P_MEL']) code`,
  );
  for (let s = 0; s < SCHOOLS; s++) {
    const u = uais[s]!;
    await c.query(
      `with p as (
         insert into people (ent_id, person_id, last_name, first_name, emails)
         select 'Z0', $1 || '-' || n, 'Nom' || n, 'Prénom' || n, case when n > 480 then array['prof' || n || '@ac.test'] else '{}' end
         from generate_series(1, $2::int) n returning id, person_id)
       insert into establishment_people (uai, person_id, profiles)
       select $1, id, case when split_part(person_id, '-', 2)::int > 480 then array['National_ens'] else array['National_elv'] end from p`,
      [u, PER_SCHOOL],
    );
    await c.query(`insert into groups (uai, code, name, kind) select $1, 'C' || k, 'Classe ' || k, 'DIVISION' from generate_series(1, 20) k`, [u]);
    await c.query(
      `insert into group_members (group_id, person_id)
       select g.id, p.id from people p join groups g on g.uai = $1 and g.code = 'C' || (1 + (split_part(p.person_id, '-', 2)::int - 1) / 24)
       where p.person_id like $1 || '-%' and split_part(p.person_id, '-', 2)::int <= 480`,
      [u],
    );
    await c.query(
      `insert into teachings (person_id, group_id, subjects)
       select p.id, g.id, '{}' from people p join groups g on g.uai = $1 and g.code = 'C' || (split_part(p.person_id, '-', 2)::int - 480)
       where p.person_id like $1 || '-%' and split_part(p.person_id, '-', 2)::int > 480`,
      [u],
    );
    // Each school subscribes to 10 resources, each given to every class.
    await c.query(
      `with s as (
         insert into subscriptions (id, publisher_id, resource_id, uai, starts_at, ends_at, assignment_type, audiences, licences)
         select 'ABO-' || $1 || '-' || k, r.publisher_id, r.id, $1, now() - interval '30 days', now() + interval '300 days', 'INDIV',
                array['ELEVE','ENSEIGNANT'], '{"global":"unlimited"}'
         from generate_series(1, 10) k join resources r on r.id = 'ark:/12345/r' || (1 + (k * 5 + $2::int) % $3::int)
         returning pk, uai)
       insert into assignments (subscription_pk, uai, target_type, group_id, created_by)
       select s.pk, s.uai, 'division', g.id, 'bench' from s join groups g on g.uai = s.uai`,
      [u, s, RESOURCES],
    );
  }
  await c.query('analyze');
  await c.end();
}

async function targets(url: string): Promise<SsoTarget[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query(
    `select ep.uai, p.person_id, s.resource_id from establishment_people ep join people p on p.id = ep.person_id
     join subscriptions s on s.uai = ep.uai order by random() limit 20000`,
  );
  await c.end();
  return r.rows.map((x) => ({ uai: x.uai, personId: x.person_id, resourceId: x.resource_id }));
}


/** Wipes the database, builds the dataset, and returns 20,000 random (person, resource) pairs that are granted. */
export async function buildSsoDataset(url: string): Promise<SsoTarget[]> {
  await resetDatabase(url);
  await seed(url);
  return targets(url);
}

export interface BrokerServer {
  process: ChildProcess;
  port: number;
  /** An ENT token for project Z0, the dataset's. */
  entToken: string;
  signingKeyPem: string;
  stop: () => void;
}

/** Starts dist/src/server.js (run `npm run build` first) on the dataset and waits until it is ready. */
export async function startBrokerServer(url: string, port: number, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BrokerServer> {
  const idp = createSelfSignedCertificate('bench IdP');
  const jwtSecret = 'bench-secret-0123456789-0123456789-0123456789';
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/server.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: url,
      JWT_SECRET: jwtSecret,
      SAML_SIGNING_KEY: idp.keyPem,
      SAML_SIGNING_CERT: idp.certPem,
      IDO_SECRET: 'ab'.repeat(64),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      MIGRATE_ON_START: 'false',
      DATABASE_POOL_SIZE: '16',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 150 || child.exitCode !== null) throw new Error('the broker server did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: child,
    port,
    entToken: createSigner({ key: jwtSecret, expiresIn: 86_400_000 })({ sub: 'bench', role: 'ent', entId: 'Z0' }),
    signingKeyPem: idp.keyPem,
    stop: () => void child.kill('SIGTERM'),
  };
}

/** F: RSA-2048 SHA-256 signatures per second on one core, with a parsed KeyObject (3 s). */
export function signingRate(keyPem: string): number {
  const key = createPrivateKey(keyPem);
  const data = Buffer.alloc(600, 7);
  const end = performance.now() + 3000;
  let n = 0;
  while (performance.now() < end) {
    sign('sha256', data, key);
    n++;
  }
  return n / 3;
}

/** An unsigned HTTP-Redirect AuthnRequest, as most SPs send them, from the SP of a dataset resource. */
export function authnRequestPath(id: string, resourceId: string): string {
  const i = resourceId.replace('ark:/12345/r', '');
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" AssertionConsumerServiceURL="https://sp${i}.test/acs">` +
    `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://sp${i}.test/metadata</saml:Issuer>` +
    `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" AllowCreate="true"/></samlp:AuthnRequest>`;
  return `/idp/profile/SAML2/Redirect/SSO?SAMLRequest=${encodeURIComponent(deflateRawSync(xml).toString('base64'))}&RelayState=${encodeURIComponent(`https://sp${i}.test/`)}`;
}

/** Counts statements at the driver (every query sent, whoever sends it) until stop() puts pg back. */
export function countStatements(): { count: () => number; stop: () => void } {
  let n = 0;
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    n++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return { count: () => n, stop: () => void (pg.Client.prototype.query = original) };
}
