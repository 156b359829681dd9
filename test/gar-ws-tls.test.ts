import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { X509Certificate } from 'node:crypto';
import t, { type Test } from 'tap';
import type { AddressInfo } from 'node:net';
import { bearer, buildTestApp, operator } from './helper.js';
import { baseWorld, insertAssignment, insertPerson, insertSubscription, RES_P1, UAI_A } from './factories.js';
import { buildCertificateListener } from '../src/modules/gar-ws/listener.js';

/*
 * The client-certificate listener over real TLS: a CA, the broker's server certificate, and client
 * certificates that are known (mapped to publisher P1 or ENT project Z0), unknown, expired, or whose
 * mapping has expired or been revoked. Called with Node's https client and with curl --cert.
 */

const dir = mkdtempSync(join(tmpdir(), 'garws-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => join(dir, name);
const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });

ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30', '-subj', '/O=Test CA/CN=gar-broker test CA');
function issue(name: string, subject: string, extra: string[] = []) {
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject);
  ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '30', ...extra);
}
writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
issue('server', '/CN=localhost', ['-extfile', f('server.ext')]);
issue('publisher', '/O=Editions P1/CN=ws.p1.example');
issue('ent', '/O=ENT Z0/CN=mediacentre.z0.example');
issue('unknown', '/O=Nobody/CN=unknown.example');
issue('stale', '/O=Editions P1/CN=stale.p1.example');
issue('revoked', '/O=Editions P1/CN=revoked.p1.example');
// An expired certificate: `openssl ca` takes explicit dates.
writeFileSync(f('index.txt'), '');
writeFileSync(f('serial'), '1000\n');
writeFileSync(
  f('ca.cnf'),
  `[ca]\ndefault_ca=d\n[d]\ndatabase=${f('index.txt')}\nnew_certs_dir=${dir}\nserial=${f('serial')}\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\norganizationName=optional\n`,
);
ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('expired.key'), '-out', f('expired.csr'), '-subj', '/O=Editions P1/CN=expired.p1.example');
ssl('ca', '-batch', '-config', f('ca.cnf'), '-cert', f('ca.pem'), '-keyfile', f('ca.key'), '-in', f('expired.csr'), '-out', f('expired.pem'), '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-notext');

const read = (name: string) => readFileSync(f(name), 'utf8');
const fingerprint = (name: string) => new X509Certificate(read(`${name}.pem`)).fingerprint256;

async function setup(t: Test, options: { trustProxyHops?: number; tls?: boolean } = {}) {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const { app, database } = await buildTestApp(t, {
    config: { logLevel: 'info', trustProxyHops: options.trustProxyHops ?? 0 },
    deps: { logStream },
    now: new Date(),
  });
  const db = database.db;
  await baseWorld(db);
  const e1 = await insertPerson(db, { personId: 'E1', uai: UAI_A, profiles: ['National_elv'] });
  const pk = await insertSubscription(db, { id: 'S1', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A });
  await insertAssignment(db, { subscriptionPk: pk, uai: UAI_A, type: 'person', personId: e1 });
  // The operator maps certificates through the API.
  const map = async (body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/client-certificates', headers: bearer(app, operator), payload: body });
    t.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  await map({ label: 'P1 production', certificate: read('publisher.pem'), publisherId: 'P1' });
  await map({ label: 'Z0 mediacentre', subject: 'O=ENT Z0, CN=mediacentre.z0.example', issuer: 'O=Test CA, CN=gar-broker test CA', entId: 'Z0', validUntil: '2099-01-01T00:00:00Z' });
  await map({ label: 'P1 expired cert', certificate: read('expired.pem'), publisherId: 'P1', validUntil: '2099-01-01T00:00:00Z' });
  await map({ label: 'P1 stale mapping', fingerprint256: fingerprint('stale'), publisherId: 'P1', validFrom: '2020-01-01T00:00:00Z', validUntil: '2021-01-01T00:00:00Z' });
  const revoked = await map({ label: 'P1 revoked', certificate: read('revoked.pem'), publisherId: 'P1' });
  const del = await app.inject({ method: 'DELETE', url: `/v1/client-certificates/${revoked}`, headers: bearer(app, operator) });
  t.equal(del.statusCode, 204);
  const tls = options.tls === false ? undefined : { cert: read('server.pem'), key: read('server.key'), ca: read('ca.pem') };
  const ws = await buildCertificateListener(app, tls);
  await ws.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => ws.close());
  return { app, port: (ws.server.address() as AddressInfo).port, lines };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(port: number, path: string, options: { client?: string; method?: string; body?: string; headers?: Record<string, string>; plain?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { ...options.headers, ...(options.body ? { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(options.body)) } : {}) } };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    };
    const req = options.plain
      ? httpRequest(common, onResponse)
      : httpsRequest({ ...common, ca: read('ca.pem'), ...(options.client ? { cert: read(`${options.client}.pem`), key: read(`${options.client}.key`) } : {}) }, onResponse);
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

const FILTRES = '<filtres xmlns="http://www.atosworldline.com/wsabonnement/v1.0/"><filtre><filtreNom>uaiEtab</filtreNom><filtreValeur>0650001Y</filtreValeur></filtre></filtres>';

t.test('known, unknown, expired and revoked certificates over real TLS (Node https client)', async (t) => {
  const { port, lines } = await setup(t);

  const known = await call(port, '/abonnements?debut=0&fin=10', { client: 'publisher', body: FILTRES });
  t.equal(known.status, 200, known.body.toString());
  t.match(known.body.toString(), '<idAbonnement>S1</idAbonnement>', 'GAR root path, GET with a body, the publisher named by its certificate');
  const etabs = await call(port, '/etablissements/etablissements.xml', { client: 'publisher' });
  t.equal(etabs.status, 200);

  const ent = await call(port, `/ressources/Z0/${UAI_A}/E1`, { client: 'ent', headers: { accept: 'application/json' } });
  t.equal(ent.status, 200, 'the ENT certificate, mapped by subject and issuer');
  t.equal(ent.headers['content-encoding'], 'gzip');
  t.equal(JSON.parse(gunzipSync(ent.body).toString()).listeRessources.ressource[0].idRessource, RES_P1);
  t.equal((await call(port, `/ressources/Z0/${UAI_A}/E1`, { client: 'publisher' })).status, 403, 'a publisher certificate on the ENT service');
  t.equal((await call(port, '/abonnements', { client: 'ent' })).status, 403, 'an ENT certificate on the publisher service');

  const refusals: Array<[string | undefined, number, RegExp]> = [
    ['unknown', 403, /unknown certificate/],
    ['expired', 401, /CERT_HAS_EXPIRED/],
    ['stale', 403, /expired at 2021-01-01/],
    ['revoked', 403, /revoked/],
    [undefined, 401, /no client certificate/],
  ];
  for (const [client, status, reason] of refusals) {
    const res = await call(port, '/abonnements', { client });
    t.equal(res.status, status, `${client ?? 'no certificate'}: ${status}`);
    t.match(res.body.toString(), '<Erreur>');
    t.match(res.body.toString(), reason, `${client ?? 'no certificate'}: the reason is given`);
    t.ok(lines.some((l) => l.includes('client certificate refused') && reason.test(l)), `${client ?? 'no certificate'}: the reason is logged`);
  }
  // As a path segment or a value: certificate fingerprints are hex, where `E1` is a byte like any other.
  t.notOk(lines.some((l) => /\/E1\b|"E1"/.test(l)), 'no person identifier in the log');
  const forged = await call(port, '/abonnements', { headers: { 'x-client-cert': encodeURIComponent(read('publisher.pem')) } });
  t.equal(forged.status, 401, 'on the TLS listener a certificate header counts for nothing');
  t.match(forged.body.toString(), 'header ignored on the TLS listener');
});

t.test('curl --cert: a known and an unknown certificate', async (t) => {
  const { port } = await setup(t);
  const curl = async (client: string) => {
    const { stdout } = await promisify(execFile)('curl', [
      '-sS', '--cacert', f('ca.pem'), '--cert', f(`${client}.pem`), '--key', f(`${client}.key`),
      '-X', 'GET', '-H', 'Content-Type: application/xml', '--data-binary', FILTRES,
      '-w', '\n%{http_code}', `https://127.0.0.1:${port}/abonnements?debut=1&fin=50`,
    ]);
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  };
  const known = await curl('publisher');
  t.equal(known.status, 200);
  t.match(known.body, '<idAbonnement>S1</idAbonnement>');
  const unknown = await curl('unknown');
  t.equal(unknown.status, 403);
  t.match(unknown.body, 'unknown certificate');
  const expired = await curl('expired');
  t.equal(expired.status, 401);
});

t.test('behind a TLS-terminating proxy: the certificate header only with TRUST_PROXY_HOPS > 0', async (t) => {
  const header = { 'x-client-cert': encodeURIComponent(read('publisher.pem')) };
  const trusted = await setup(t, { trustProxyHops: 1, tls: false });
  const ok = await call(trusted.port, '/abonnements', { plain: true, headers: header });
  t.equal(ok.status, 200, ok.body.toString());
  const stranger = await call(trusted.port, '/abonnements', { plain: true, headers: { 'x-client-cert': encodeURIComponent(read('unknown.pem')) } });
  t.equal(stranger.status, 403);

  const untrusted = await setup(t, { trustProxyHops: 0, tls: false });
  const refused = await call(untrusted.port, '/abonnements', { plain: true, headers: header });
  t.equal(refused.status, 401);
  t.match(refused.body.toString(), 'TRUST_PROXY_HOPS is 0');
});
