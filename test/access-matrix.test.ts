import { deflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { sql, type Kysely } from 'kysely';
import { parse } from 'yaml';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Database } from '../src/db/database.js';
import { ROLES, type Caller, type Role } from '../src/plugins/auth.js';
import { uaiCheckLetter } from '../src/lib/uai.js';
import { ACCESS_MATRIX, type Grant } from './access-matrix.js';
import { bearer, buildTestApp, ministry, operator } from './helper.js';
import { approve, world } from './sso-world.js';
import { tarGz } from './export-archives.js';
import { testCertificate } from './keys.js';
import {
  RES_P1,
  RES_P2,
  UAI_A,
  UAI_B,
  UAI_OTHER_ENT as UAI_X,
  insertAssignment,
  insertAssignmentManager,
  insertEstablishment,
  insertPerson,
  insertResource,
  insertSubscription,
} from './factories.js';

/** /metrics is opened by its own token, not a JWT: every JWT caller and none gets the same 401. */
const METRICS_TOKEN = 'matrix-metrics-token-0123456789';

/*
 * The role × scope matrix. Two of each tenant: ENT projects Z0 (UAI_A, UAI_B, UAI_C) and Z1 (UAI_X),
 * publishers P1 and P2 with their resources, subscriptions, assignments, people and data requests.
 * The scoped callers are publisher P1, ENT Z0 and the establishment UAI_A; "out of scope" targets the
 * real objects of P2, Z1 and UAI_X.
 */

const UAI_C = `0650003${uaiCheckLetter('0650003')}`;
const MATRIX_AUTHORIZE = 'client_id=gar-matrix-p1&response_type=code&scope=openid%20scope.gar&redirect_uri=https%3A%2F%2Fp1.test%2Fcb';
const RES_P1_EXTRA = 'ark:/12345/histoire-4e';

const CALLERS: Record<Role, Caller> = {
  operator,
  ministry,
  publisher: { sub: 'pub-p1', role: 'publisher', publisherId: 'P1' },
  ent: { sub: 'ent-z0', role: 'ent', entId: 'Z0' },
  establishment: { sub: 'etab-a', role: 'establishment', uais: [UAI_A] },
};

interface World {
  pendingP1: string;
  pendingP2: string;
  reviewedP1: string;
  reviewedP2: string;
  assignments: { delA1: number; delA2: number; delX1: number; delX2: number };
  certificateId: string;
}

async function pendingRequest(db: Kysely<Database>, resourceId: string, codes: string[]): Promise<string> {
  const { id } = await db
    .insertInto('data_requests')
    .values({ resource_id: resourceId, status: 'pending', submitted_by: 'pub', submitted_at: '2026-11-01T00:00:00Z' })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const code of codes) await db.insertInto('data_request_items').values({ request_id: id, code, purpose: 'p' }).execute();
  return id;
}

const ENT_IDP_CERT = testCertificate('matrix ENT IdP').certPem;

async function buildWorld(app: FastifyInstance, db: Kysely<Database>): Promise<World> {
  await world(db);
  for (const entId of ['Z0', 'Z1']) {
    await db
      .insertInto('ent_idps')
      .values({ ent_id: entId, entity_id: `https://idp-${entId}.test/idp`, sso_url: `https://idp-${entId}.test/sso`, sso_binding: 'HTTP-Redirect', signing_certificates: [ENT_IDP_CERT], metadata_xml: null })
      .execute();
  }
  await insertEstablishment(db, UAI_C, 'Z0');
  // One finished export job on each side, for the job routes.
  for (const [id, entId] of [[JOB_Z0, 'Z0'], [JOB_Z1, 'Z1']] as const) {
    await db.insertInto('feed_jobs').values({ id, ent_id: entId, state: 'succeeded', created_by: `ent-${entId}`, archive_name: null, archive_path: null, finished_at: new Date() }).execute();
  }
  await insertResource(db, { id: RES_P1_EXTRA, publisherId: 'P1', name: 'Histoire 4e' });
  await insertPerson(db, { personId: 'E2', uai: UAI_A, profiles: ['National_elv'] });
  await insertPerson(db, { entId: 'Z1', personId: 'F1', uai: UAI_X, profiles: ['National_elv'] });
  await insertPerson(db, { entId: 'Z1', personId: 'F2', uai: UAI_X, profiles: ['National_elv'] });
  // The establishment callers are responsables d'affectation named by Z0's RespAff feed.
  await insertAssignmentManager(db, { personId: CALLERS.establishment.sub, uais: [UAI_A] });
  await insertAssignmentManager(db, { personId: 'etab-ab', uais: [UAI_A, UAI_B] });
  await approve(db, RES_P2, ['UAI', 'PRO']);
  for (const [resourceId, client] of [[RES_P1, 'gar-matrix-p1'], [RES_P2, 'gar-matrix-p2']] as const) {
    await db
      .insertInto('oidc_clients')
      .values({ client_id: client, resource_id: resourceId, redirect_uris: ['https://p1.test/cb'], auth_method: 'client_secret_basic', secret_salt: 's', created_at: new Date(), updated_at: new Date() })
      .execute();
  }
  const subA = (await db.selectFrom('subscriptions').select('pk').where('id', '=', 'ABO-A').executeTakeFirstOrThrow()).pk;
  const subX = await insertSubscription(db, { id: 'ABO-X', publisherId: 'P2', resourceId: RES_P2, uai: UAI_X });
  await insertAssignment(db, { subscriptionPk: subX, uai: UAI_X, type: 'profile', profile: 'National_elv' });
  await insertSubscription(db, { id: 'ABO-DEL', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A });
  await insertSubscription(db, { id: 'ABO-WSDEL', publisherId: 'P1', resourceId: RES_P1, uai: UAI_A });
  const f2 = (await db.selectFrom('people').select('id').where('ent_id', '=', 'Z1').where('person_id', '=', 'F2').executeTakeFirstOrThrow()).id;
  const lat = (await db.selectFrom('groups').select('id').where('uai', '=', UAI_A).where('code', '=', 'LAT3').executeTakeFirstOrThrow()).id;
  const assignments = {
    delA1: await insertAssignment(db, { subscriptionPk: subA, uai: UAI_A, type: 'profile', profile: 'National_ens' }),
    delA2: await insertAssignment(db, { subscriptionPk: subA, uai: UAI_A, type: 'group', groupId: lat }),
    delX1: await insertAssignment(db, { subscriptionPk: subX, uai: UAI_X, type: 'profile', profile: 'National_ens' }),
    delX2: await insertAssignment(db, { subscriptionPk: subX, uai: UAI_X, type: 'person', personId: f2 }),
  };
  const reviewed = async (resourceId: string) =>
    (await db.selectFrom('data_requests').select('id').where('resource_id', '=', resourceId).where('status', '=', 'reviewed').executeTakeFirstOrThrow()).id;
  const w: World = {
    pendingP1: await pendingRequest(db, RES_P1_EXTRA, ['NOM', 'PRE']),
    pendingP2: await pendingRequest(db, RES_P2, ['UAI', 'PRO', 'NOM']),
    reviewedP1: await reviewed(RES_P1),
    reviewedP2: await reviewed(RES_P2),
    assignments,
    certificateId: (
      await db
        .insertInto('client_certificates')
        .values({ label: 'to revoke', fingerprint256: 'AB:'.repeat(31) + 'AB', publisher_id: 'P1', valid_from: '2026-01-01T00:00:00Z', valid_until: '2027-01-01T00:00:00Z' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id,
  };
  // Access history on both sides, through the API: counted by the statistics of each scope.
  const ssoAs = async (caller: Record<string, unknown>, uai: string, personId: string, resourceId: string, status: number) => {
    const res = await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, caller), payload: { uai, personId, resourceId } });
    if (res.statusCode !== status) throw new Error(`world SSO ${uai}/${personId}/${resourceId}: ${res.statusCode} ${res.body}`);
  };
  const entZ1 = { sub: 'ent-z1', role: 'ent', entId: 'Z1' };
  await ssoAs(CALLERS.ent, UAI_A, 'E1', RES_P1, 200);
  await ssoAs(CALLERS.ent, UAI_B, 'E1', RES_P1, 200);
  await ssoAs(CALLERS.ent, UAI_A, 'E1', RES_P2, 403);
  await ssoAs(entZ1, UAI_X, 'F1', RES_P2, 200);
  await ssoAs(entZ1, UAI_X, 'F2', RES_P1, 403);
  // Another project naming UAI_A: refused and logged, but not an access of UAI_A's people.
  await ssoAs(entZ1, UAI_A, 'E1', RES_P1, 403);
  return w;
}

type Scope = 'in' | 'out';
interface Probe {
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  /** Scope checks of a successful answer: nothing of another tenant returned or counted. */
  check?: (res: LightMyRequestResponse) => Promise<void> | void;
  /** A browser route: its refusals are HTML pages, not problems. */
  html?: boolean;
}
type Builder = (role: Role, scope: Scope) => Probe | undefined;
interface Planned {
  who: string;
  role: Role | null;
  scope: Scope;
  probe: Probe;
  expect: number;
}

const enc = encodeURIComponent;

const JOB_Z0 = '00000000-0000-4000-8000-0000000000a0';
const JOB_Z1 = '00000000-0000-4000-8000-0000000000a1';
/** A nightly export naming UAI_C (Z0's sandbox school): applied for Z0, refused inside another project's job. */
const EXPORT_ARCHIVE = await tarGz({ 'Z0_GAR-ENT_Complet_20261125_Etab_0000.xml': xmlEtab(UAI_C) });

function xmlEtab(uai: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<GAR-ENT-Etab xmlns="http://data.education.fr/ns/gar" Version="1.7">
  <GAREtab><GARStructureUAI>${uai}</GARStructureUAI><GARStructureNomCourant>Collège ${uai}</GARStructureNomCourant></GAREtab>
</GAR-ENT-Etab>`;
}

/** A GAR <abonnement> for the /ws subscription service; without uaiEtab for an update. */
const garAbonnement = (id: string, resourceId: string, uai?: string) =>
  `<abonnement xmlns="http://www.atosworldline.com/wsabonnement/v1.0/"><idAbonnement>${id}</idAbonnement>` +
  `<idDistributeurCom>123456789_0000000000000001</idDistributeurCom><idRessource>${resourceId}</idRessource><typeIdRessource>ark</typeIdRessource>` +
  `<libelleRessource>R</libelleRessource><debutValidite>2026-09-01</debutValidite><finValidite>2027-09-01</finValidite>` +
  (uai ? `<uaiEtab>${uai}</uaiEtab>` : '') +
  `<categorieAffectation>transferable</categorieAffectation><typeAffectation>INDIV</typeAffectation><nbLicenceGlobale>ILLIMITE</nbLicenceGlobale>` +
  `<publicCible>ELEVE</publicCible><publicCible>ENSEIGNANT</publicCible></abonnement>`;
const xmlHeaders = { 'content-type': 'application/xml', accept: 'application/json' };

const subscriptionBody = (id: string, resourceId: string, uai: string) => ({
  id,
  resourceId,
  uai,
  startsAt: '2026-09-01T00:00:00Z',
  endsAt: '2027-09-01T00:00:00Z',
  assignmentType: 'INDIV',
  audiences: ['ELEVE', 'ENSEIGNANT'],
  licences: { global: 'unlimited' },
});

// An unsigned AuthnRequest from RES_P1’s SP (test/sso-world.ts), and a LogoutResponse matching no logout.
const authnRequest = Buffer.from(
  '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_probe" Version="2.0" IssueInstant="2026-11-25T09:00:00Z">' +
    '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://sp.test/metadata</saml:Issuer></samlp:AuthnRequest>',
);
const logoutResponse = Buffer.from(
  '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_probe" Version="2.0" IssueInstant="2026-11-25T09:00:00Z">' +
    '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://sp.example/x</saml:Issuer></samlp:LogoutResponse>',
);

function builders(db: Kysely<Database>, w: World, t: Test): Record<string, Builder> {
  const items = (res: LightMyRequestResponse) => res.json().items as Array<Record<string, unknown>>;
  /** Every listed item passes `pred`; `must` are present (so an empty answer cannot pass). */
  const only = (res: LightMyRequestResponse, what: string, pred: (i: Record<string, unknown>) => boolean, must: (i: Record<string, unknown>) => boolean = () => true) => {
    const list = items(res);
    t.same(list.filter((i) => !pred(i)), [], `${what}: nothing outside the caller's scope`);
    t.ok(list.some(must), `${what}: the caller's own objects are listed`);
  };
  const countLog = async (where: (q: ReturnType<typeof logQuery>) => ReturnType<typeof logQuery>) =>
    Number((await where(logQuery()).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const logQuery = () => db.selectFrom('access_log');
  const statsTotal = (res: LightMyRequestResponse) => items(res).reduce((s, i) => s + (i.granted as number) + (i.refused as number), 0);

  const tenant = (scope: Scope) =>
    scope === 'in'
      ? { entId: 'Z0', uai: UAI_A, publisherId: 'P1', resourceId: RES_P1, personId: 'E1', subscriptionId: 'ABO-A', person2: 'E2', pending: w.pendingP1, reviewed: w.reviewedP1 }
      : { entId: 'Z1', uai: UAI_X, publisherId: 'P2', resourceId: RES_P2, personId: 'F1', subscriptionId: 'ABO-X', person2: 'F2', pending: w.pendingP2, reviewed: w.reviewedP2 };
  const both = (f: (o: ReturnType<typeof tenant>, role: Role, scope: Scope) => Probe): Builder => (role, scope) => f(tenant(scope), role, scope);
  const inOnly = (f: (role: Role) => Probe): Builder => (role, scope) => (scope === 'in' ? f(role) : undefined);

  return {
    'GET /health': inOnly(() => ({ url: '/health' })),
    'GET /ready': inOnly(() => ({ url: '/ready' })),
    'GET /openapi.yaml': inOnly(() => ({ url: '/openapi.yaml' })),
    'GET /saml/metadata': inOnly(() => ({ url: '/saml/metadata' })),
    'GET /domaineGar': inOnly(() => ({ url: `/domaineGar?idENT=WjA&idEtab=${Buffer.from(UAI_A).toString('base64')}&idRessource=${enc(RES_P1)}` })),
    'GET /saml/sp/metadata': inOnly(() => ({ url: '/saml/sp/metadata' })),
    'POST /saml/sp/acs': inOnly(() => ({
      url: '/saml/sp/acs',
      payload: 'SAMLResponse=PHg%2B&RelayState=unknown',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      html: true,
    })),
    'GET /saml/sp/slo': inOnly(() => ({ url: '/saml/sp/slo', html: true })),
    'POST /saml/sp/slo': inOnly(() => ({
      url: '/saml/sp/slo',
      payload: 'RelayState=nothing',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      html: true,
    })),
    'GET /discovery': inOnly(() => ({ url: '/discovery?return=%2F' })),
    'GET /idp/metadata': inOnly(() => ({ url: '/idp/metadata' })),
    'GET /idp/profile/SAML2/Redirect/SSO': inOnly(() => ({ url: `/idp/profile/SAML2/Redirect/SSO?SAMLRequest=${encodeURIComponent(deflateRawSync(authnRequest).toString('base64'))}` })),
    'POST /idp/profile/SAML2/POST/SSO': inOnly(() => ({
      url: '/idp/profile/SAML2/POST/SSO',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ SAMLRequest: authnRequest.toString('base64') }).toString(),
    })),
    'GET /idp/profile/SAML2/Redirect/SLO': inOnly(() => ({ url: '/idp/profile/SAML2/Redirect/SLO?logout=00000000-0000-0000-0000-000000000000&step=0' })),
    'POST /idp/profile/SAML2/Redirect/SLO': inOnly(() => ({
      url: '/idp/profile/SAML2/Redirect/SLO',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ SAMLResponse: logoutResponse.toString('base64'), RelayState: 'nothing' }).toString(),
    })),
    'POST /idp/profile/SAML2/POST/SLO': inOnly(() => ({
      url: '/idp/profile/SAML2/POST/SLO',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ SAMLResponse: logoutResponse.toString('base64') }).toString(),
    })),
    'GET /login': inOnly(() => ({ url: '/login' })),
    'GET /p3/serviceValidate': inOnly(() => ({ url: '/p3/serviceValidate' })),
    'GET /serviceValidate': inOnly(() => ({ url: '/serviceValidate' })),
    'GET /logout': inOnly(() => ({ url: '/logout' })),
    'GET /oidc/.well-known/openid-configuration': inOnly(() => ({ url: '/oidc/.well-known/openid-configuration' })),
    'GET /oidc/jwks': inOnly(() => ({ url: '/oidc/jwks' })),
    'GET /oidc/oidcAuthorize': inOnly(() => ({ url: `/oidc/oidcAuthorize?${MATRIX_AUTHORIZE}` })),
    'GET /oidc/oidcAuthorize/{uid}': inOnly(() => ({ url: '/oidc/oidcAuthorize/unknown-uid' })),
    'GET /oidc/interaction/{uid}': inOnly(() => ({ url: '/oidc/interaction/unknown-uid' })),
    'POST /oidc/oidcAccessToken': inOnly(() => ({
      url: '/oidc/oidcAccessToken',
      payload: 'grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fp1.test%2Fcb',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('gar-matrix-p1:wrong').toString('base64')}` },
    })),
    'GET /oidc/oidcProfile': inOnly(() => ({ url: '/oidc/oidcProfile', headers: { authorization: 'Bearer not-a-token' } })),
    'POST /oidc/oidcProfile': inOnly(() => ({ url: '/oidc/oidcProfile', headers: { authorization: 'Bearer not-a-token' } })),
    'POST /v1/resources/{resourceId}/oidc/secret': both((_o, _role, scope) => ({ url: `/v1/resources/${enc(scope === 'in' ? RES_P1 : RES_P2)}/oidc/secret` })),
    'GET /metrics': inOnly(() => ({ url: '/metrics' })),
    'GET /v1/attributes': inOnly(() => ({ url: '/v1/attributes' })),
    'GET /v1/stats/accesses': inOnly((role) => {
      const groupBy = role === 'publisher' ? 'resource' : role === 'operator' || role === 'ministry' ? 'day' : 'uai';
      return {
        url: `/v1/stats/accesses?groupBy=${groupBy}`,
        check: async (res) => {
          const keys = items(res).map((i) => i.key as string);
          const total = statsTotal(res);
          if (role === 'publisher') {
            t.same(keys.filter((k) => ![RES_P1, RES_P1_EXTRA].includes(k)), [], 'publisher stats: only its resources');
            t.equal(total, await countLog((q) => q.where('publisher_id', '=', 'P1')), 'publisher stats: exactly its accesses counted');
          } else if (role === 'ent') {
            t.same(keys.filter((k) => ![UAI_A, UAI_B, UAI_C].includes(k)), [], 'ENT stats: only its UAIs');
            t.equal(total, await countLog((q) => q.where('ent_id', '=', 'Z0')), 'ENT stats: exactly its accesses counted');
          } else if (role === 'establishment') {
            t.same(keys.filter((k) => k !== UAI_A), [], 'establishment stats: only its UAI');
            t.equal(total, await countLog((q) => q.where('uai', '=', UAI_A).where('ent_id', '=', 'Z0')), 'establishment stats: exactly the decisions of its own project at its UAI');
          } else {
            t.equal(total, await countLog((q) => q), `${role} stats: everything`);
          }
          t.ok(total > 0, 'something was counted');
        },
      };
    }),

    'POST /v1/ent-projects': inOnly((role) => ({ url: '/v1/ent-projects', payload: { id: `N-${role}`, name: `New ${role}`, kind: 'ent' } })),
    'GET /v1/ent-projects': inOnly(() => ({ url: '/v1/ent-projects' })),
    'GET /v1/ent-projects/{entId}': both((o) => ({ url: `/v1/ent-projects/${o.entId}` })),
    'PUT /v1/ent-projects/{entId}/establishments/{uai}': both((o, role) => ({
      url: `/v1/ent-projects/${o.entId}/establishments/${o.uai}`,
      payload: { name: `Renamed by ${role}` },
    })),
    'PUT /v1/ent-projects/{entId}/idp': both((o) => ({
      url: `/v1/ent-projects/${o.entId}/idp`,
      payload: { entityId: `https://idp-${o.entId}.test/idp`, ssoUrl: `https://idp-${o.entId}.test/sso`, signingCertificates: [ENT_IDP_CERT] },
    })),
    'GET /v1/ent-projects/{entId}/idp': both((o) => ({ url: `/v1/ent-projects/${o.entId}/idp`, check: (res) => void t.equal(res.json().entId, o.entId) })),
    // The policy the world already has: the establishment probes that follow still pass it.
    'PUT /v1/ent-projects/{entId}/assignment-policy': both((o) => ({ url: `/v1/ent-projects/${o.entId}/assignment-policy`, payload: { assignmentPolicy: ['respaff'] } })),
    'POST /v1/publishers': inOnly((role) => ({ url: '/v1/publishers', payload: { id: `NP-${role}`, name: `New ${role}`, contactEmail: 'c@example.test' } })),
    'GET /v1/publishers': inOnly(() => ({ url: '/v1/publishers' })),
    'GET /v1/publishers/{publisherId}': both((o) => ({ url: `/v1/publishers/${o.publisherId}`, check: (res) => void t.equal(res.json().id, o.publisherId) })),
    'GET /v1/access-logs': inOnly(() => ({ url: '/v1/access-logs' })),
    'GET /v1/retention/status': inOnly(() => ({ url: '/v1/retention/status' })),
    'GET /v1/audit': inOnly(() => ({ url: '/v1/audit' })),
    'GET /v1/people/{entId}/{personId}/export': both((o) => ({ url: `/v1/people/${o.entId}/${o.personId}/export` })),
    'POST /v1/people/{entId}/{personId}/restriction': both((o) => ({ url: `/v1/people/${o.entId}/${o.person2}/restriction`, payload: {} })),
    'DELETE /v1/people/{entId}/{personId}/restriction': both((o) => ({ url: `/v1/people/${o.entId}/${o.person2}/restriction?kind=restriction` })),
    'PUT /v1/people/{entId}/{personId}/link': both((o) => ({
      url: `/v1/people/${o.entId}/${o.person2}/link`,
      payload: { sameAs: o.entId === 'Z0' ? { entId: 'Z1', personId: 'F2' } : { entId: 'Z0', personId: 'E2' } },
      check: (res) => void t.equal(res.json().personId, o.person2),
    })),

    'GET /v1/resources': both((o, role, scope) => ({
      url: scope === 'in' ? '/v1/resources' : `/v1/resources?publisherId=${o.publisherId}`,
      check: (res) =>
        role === 'publisher'
          ? only(res, 'publisher resources', (i) => i.publisherId === 'P1', (i) => i.id === RES_P1)
          : scope === 'out'
            ? only(res, 'filtered resources', (i) => i.publisherId === 'P2', (i) => i.id === RES_P2)
            : only(res, 'all resources', () => true, (i) => i.id === RES_P2),
    })),
    'POST /v1/resources': inOnly((role) => ({
      url: '/v1/resources',
      payload: { id: `ark:/12345/new-${role}`, name: `New ${role}`, typePresentation: 'MAN', sp: { entityId: `https://new-${role}.test/sp`, acsUrl: `https://new-${role}.test/acs` } },
      check: (res) => void t.equal(res.json().publisherId, 'P1', 'created under the token publisher'),
    })),
    'GET /v1/resources/{resourceId}': both((o) => ({ url: `/v1/resources/${enc(o.resourceId)}` })),
    'PUT /v1/resources/{resourceId}': both((_o, role, scope) => ({
      url: `/v1/resources/${enc(scope === 'in' ? RES_P1_EXTRA : RES_P2)}`,
      payload: { name: `Changed by ${role}`, typePresentation: 'MAN', sp: { entityId: `https://changed-${role}-${scope}.test/sp`, acsUrl: `https://changed-${role}-${scope}.test/acs` } },
    })),
    'PUT /v1/resources/{resourceId}/saml-options': both((o) => ({
      url: `/v1/resources/${enc(o.resourceId)}/saml-options`,
      payload: { signing: 'response', attributeNameFormat: 'uri' },
      check: (res) => void t.match(res.json().samlOptions, { signing: 'response', attributeNameFormat: 'uri' }),
    })),
    'PUT /v1/resources/{resourceId}/ido-scope': both((o) => ({
      url: `/v1/resources/${enc(o.resourceId)}/ido-scope`,
      payload: { idoScope: 'pairwise' },
      check: (res) => void t.equal(res.json().idoScope, 'pairwise'),
    })),

    'PUT /v1/resources/{resourceId}/attribute-formats': both((o) => ({
      url: `/v1/resources/${enc(o.resourceId)}/attribute-formats`,
      payload: {},
      check: (res) => void t.equal(res.json().resourceId, o.resourceId),
    })),
    'GET /v1/resources/{resourceId}/data-requests': both((o) => ({
      url: `/v1/resources/${enc(o.resourceId)}/data-requests`,
      check: (res) => only(res, 'data requests', (i) => i.resourceId === o.resourceId),
    })),
    'POST /v1/resources/{resourceId}/data-requests': both((o) => ({
      url: `/v1/resources/${enc(o.resourceId)}/data-requests`,
      // The codes already approved for RES_P1: nothing is withdrawn from the SSO of the world.
      payload: { attributes: ['UAI', 'PRO', 'NOM', 'PRE', 'DIV', 'GRO', 'P_MEL', 'CIV'].map((code) => ({ code, purpose: 'needed' })) },
    })),
    'GET /v1/resources/{resourceId}/data-policy': both((o) => ({ url: `/v1/resources/${enc(o.resourceId)}/data-policy` })),
    'GET /v1/data-requests/{requestId}': both((o) => ({ url: `/v1/data-requests/${o.reviewed}` })),
    'GET /v1/data-requests': inOnly(() => ({ url: '/v1/data-requests?status=pending' })),
    'POST /v1/data-requests/{requestId}/review': both((o, _role, scope) => ({
      url: `/v1/data-requests/${o.pending}/review`,
      payload: { decisions: (scope === 'in' ? ['NOM', 'PRE'] : ['UAI', 'PRO', 'NOM']).map((code) => ({ code, approved: true, comment: 'ok' })) },
    })),
    'GET /v1/register': inOnly((role) => ({
      url: '/v1/register',
      check: (res) =>
        role === 'publisher'
          ? only(res, 'publisher register', (i) => i.publisherId === 'P1', (i) => i.resourceId === RES_P1)
          : only(res, 'register', () => true, (i) => i.resourceId === RES_P2),
    })),

    'POST /v1/subscriptions': both((_o, role, scope) => ({
      url: '/v1/subscriptions',
      payload: subscriptionBody(`ABO-NEW-${role}-${scope}`, scope === 'in' ? RES_P1 : RES_P2, UAI_A),
    })),
    'GET /v1/subscriptions': both((_o, _role, scope) => ({
      url: scope === 'in' ? '/v1/subscriptions' : `/v1/subscriptions?resourceId=${enc(RES_P2)}&uai=${UAI_X}`,
      check: (res) =>
        scope === 'in'
          ? only(res, 'subscriptions', (i) => i.publisherId === 'P1', (i) => i.id === 'ABO-A')
          : void t.same(items(res), [], 'a filter on another publisher lists nothing of it'),
    })),
    'GET /v1/subscriptions/{id}': both((o) => ({ url: `/v1/subscriptions/${o.subscriptionId}` })),
    'PUT /v1/subscriptions/{id}': both((o) => ({
      url: `/v1/subscriptions/${o.subscriptionId}`,
      payload: { ...subscriptionBody(o.subscriptionId, o.resourceId, o.uai), comment: 'changed' },
    })),
    'DELETE /v1/subscriptions/{id}': both((_o, _role, scope) => ({ url: `/v1/subscriptions/${scope === 'in' ? 'ABO-DEL' : 'ABO-X'}` })),

    'GET /v1/establishments/{uai}/subscriptions': both((o) => ({
      url: `/v1/establishments/${o.uai}/subscriptions`,
      check: (res) => only(res, 'UAI subscriptions', (i) => i.uai === o.uai),
    })),
    'POST /v1/establishments/{uai}/assignments': both((o, role, scope) => ({
      url: `/v1/establishments/${o.uai}/assignments`,
      payload: { subscriptionId: o.subscriptionId, target: { type: 'person', id: scope === 'out' ? 'F1' : role === 'operator' ? 'E2' : 'T1' } },
    })),
    'GET /v1/establishments/{uai}/assignments': both((o) => ({
      url: `/v1/establishments/${o.uai}/assignments`,
      check: (res) => only(res, 'assignments', (i) => i.uai === o.uai),
    })),
    'DELETE /v1/establishments/{uai}/assignments/{assignmentId}': both((o, role, scope) => {
      const a = w.assignments;
      const id = scope === 'in' ? (role === 'operator' ? a.delA1 : a.delA2) : role === 'operator' ? a.delX1 : a.delX2;
      return { url: `/v1/establishments/${o.uai}/assignments/${id}` };
    }),

    'GET /v1/establishments/{uai}/people/{personId}/resources': both((o) => ({
      url: `/v1/establishments/${o.uai}/people/${o.personId}/resources`,
      check: (res) => void t.same(items(res).map((i) => i.idRessource), [RES_P1], 'the resources assigned at this UAI'),
    })),
    'POST /v1/sso': both((o) => ({ url: '/v1/sso', payload: { uai: o.uai, personId: o.personId, resourceId: o.resourceId } })),
    'PUT /v1/establishments/{uai}/directory': both((_o, _role, scope) => ({
      url: `/v1/establishments/${scope === 'in' ? UAI_C : UAI_X}/directory`,
      payload: { establishment: { name: 'Replaced' }, people: [] },
    })),
    'POST /v1/establishments/{uai}/directory/changes': both((_o, _role, scope) => ({
      url: `/v1/establishments/${scope === 'in' ? UAI_C : UAI_X}/directory/changes`,
      payload: { establishment: { name: 'Changed' }, removals: { people: ['F1', 'E1'] } },
    })),
    'POST /v1/feed/gar-ent': both((_o, _role, scope) => ({
      url: '/v1/feed/gar-ent',
      payload: xmlEtab(scope === 'in' ? UAI_C : UAI_X),
      headers: { 'content-type': 'application/xml' },
    })),
    'POST /v1/feed/gar-ent/exports': both((o) => ({
      url: `/v1/feed/gar-ent/exports?ent=${o.entId}`,
      payload: EXPORT_ARCHIVE,
      headers: { 'content-type': 'application/gzip' },
    })),
    'GET /v1/feed/jobs/{id}': both((o, _role, scope) => ({
      url: `/v1/feed/jobs/${scope === 'in' ? JOB_Z0 : JOB_Z1}`,
      check: (res) => void t.match(res.json(), { entId: o.entId }),
    })),
    'GET /v1/feed/jobs': inOnly((role) => ({
      url: '/v1/feed/jobs',
      check: (res) => only(res, 'feed jobs', (i) => role === 'operator' || i.entId === 'Z0', (i) => i.entId === 'Z0'),
    })),
    'GET /v1/establishments/{uai}/directory': both((o) => ({
      url: `/v1/establishments/${o.uai}/directory`,
      check: (res) => void t.match(res.json(), { uai: o.uai, entId: o.entId }),
    })),
    'GET /v1/establishments/{uai}/people/{personId}': both((o) => ({
      url: `/v1/establishments/${o.uai}/people/${o.personId}`,
      check: (res) => void t.match(res.json(), { uai: o.uai, id: o.personId }),
    })),

    'PUT /ws/abonnement/{idAbonnement}': both((_o, role, scope) => ({
      url: `/ws/abonnement/WS-NEW-${role}-${scope}`,
      payload: garAbonnement(`WS-NEW-${role}-${scope}`, scope === 'in' ? RES_P1 : RES_P2, UAI_A),
      headers: xmlHeaders,
    })),
    'POST /ws/abonnement/{idAbonnement}': both((o) => ({
      url: `/ws/abonnement/${o.subscriptionId}`,
      payload: garAbonnement(o.subscriptionId, o.resourceId),
      headers: xmlHeaders,
    })),
    'DELETE /ws/abonnement/{idAbonnement}': both((_o, _role, scope) => ({ url: `/ws/abonnement/${scope === 'in' ? 'ABO-WSDEL' : 'ABO-X'}` })),
    ...Object.fromEntries(
      (['GET', 'POST'] as const).map((method) => [
        `${method} /ws/abonnement/abonnements`,
        both((_o, _role, scope) => ({
          url: '/ws/abonnement/abonnements?debut=0&fin=5000',
          headers: xmlHeaders,
          payload:
            scope === 'in'
              ? '<filtres xmlns="http://www.atosworldline.com/wsabonnement/v1.0/"/>'
              : `<filtres xmlns="http://www.atosworldline.com/wsabonnement/v1.0/"><filtre><filtreNom>idAbonnement</filtreNom><filtreValeur>ABO-X</filtreValeur></filtre></filtres>`,
          check: (res) => {
            const ids = (res.json().abonnements as Array<{ idAbonnement: string }>).map((a) => a.idAbonnement);
            if (scope === 'in') t.ok(ids.includes('ABO-A') && !ids.includes('ABO-X'), 'GAR search: the caller’s own subscriptions only');
            else t.same(ids, [], 'a filter on another publisher’s subscription lists nothing');
          },
        })),
      ]),
    ),
    'GET /ws/abonnement/etablissements/etablissements.xml': inOnly(() => ({ url: '/ws/abonnement/etablissements/etablissements.xml' })),
    'GET /ws/decompteaffectations': both((o, _role, scope) => ({
      url: `/ws/decompteaffectations?idAbonnement=${o.subscriptionId}`,
      check: (res) => void t.equal(res.body.trim().split('\n').length, scope === 'in' ? 2 : 1, 'counts of the caller’s own subscriptions only'),
    })),
    'GET /ws/ressources/{idENT}/{uai}/{personId}': both((o) => ({ url: `/ws/ressources/${o.entId}/${o.uai}/${o.personId}` })),
    'GET /ws/ressourcesDiffusables': inOnly(() => ({ url: '/ws/ressourcesDiffusables' })),

    'PUT /v1/resources/{resourceId}/catalogue': both((o) => ({
      url: `/v1/resources/${enc(o.resourceId)}/catalogue`,
      payload: { typePresentation: 'MAN', niveauEducatif: [{ uri: 'http://data.education.fr/voc/scolomfr/concept/scolomfr-voc-022-num-027', nom: '3e' }] },
    })),
    'GET /v1/resources/{resourceId}/catalogue': both((o) => ({ url: `/v1/resources/${enc(o.resourceId)}/catalogue` })),
    'PUT /v1/establishments/{uai}/official': both((o) => ({ url: `/v1/establishments/${o.uai}/official`, payload: { nature_uai: '340', type_uai: 'CLG' } })),
    'PUT /v1/publishers/{publisherId}/siren-isni': both((o, _role, scope) => ({
      url: `/v1/publishers/${o.publisherId}/siren-isni`,
      payload: { sirenIsni: scope === 'in' ? '123456789_0000000000000001' : '123456789_0000000000000002' },
    })),
    'POST /v1/client-certificates': inOnly((role) => ({
      url: '/v1/client-certificates',
      payload: { label: `by ${role}`, subject: `CN=${role}`, issuer: 'CN=CA', publisherId: 'P1', validUntil: '2030-01-01T00:00:00Z' },
    })),
    'GET /v1/client-certificates': inOnly(() => ({ url: '/v1/client-certificates' })),
    'DELETE /v1/client-certificates/{id}': inOnly(() => ({ url: `/v1/client-certificates/${w.certificateId}` })),
  };
}

/** A digest of every table, in one statement (twice per operation probed): any change by a refused call shows. */
async function tableDigests(db: Kysely<Database>): Promise<Record<string, string>> {
  const { rows: tables } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition and c.relname not like 'kysely_%'
    order by 1`.execute(db);
  const perTable = tables.map(
    ({ name }) =>
      sql`select ${name}::text as name, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h, count(*)::int as n from ${sql.table(name)} x`,
  );
  const { rows } = await sql<{ name: string; h: string; n: number }>`${sql.join(perTable, sql` union all `)}`.execute(db);
  if (rows.length !== tables.length) throw new Error(`${rows.length} digests for ${tables.length} tables`);
  return Object.fromEntries(rows.map((r) => [r.name, `${r.n}:${r.h}`]));
}

const committed = parse(readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>> };

t.test('the access table covers exactly the documented and served operations', async (t) => {
  const { app } = await buildTestApp(t);
  const documented = Object.entries(committed.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'put', 'post', 'delete', 'patch'].includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
  const served = [...new Set(app.routeCatalog.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`))];
  const table = Object.keys(ACCESS_MATRIX);
  t.same(served.filter((op) => !table.includes(op)), [], 'every served route has a row');
  t.same(documented.filter((op) => !table.includes(op)), [], 'every documented operation has a row');
  t.same(table.filter((op) => !served.includes(op)), [], 'every row is a served route');
  t.same(table.filter((op) => !documented.includes(op)), [], 'every row is a documented operation');
  t.ok(table.length >= 40);
});

t.test('every route × every role, in and out of scope, and without a token, answers as the table says', async (t) => {
  const { app, database } = await buildTestApp(t, { config: { metricsToken: METRICS_TOKEN } });
  const db = database.db;
  const w = await buildWorld(app, db);
  const build = builders(db, w, t);
  t.same(Object.keys(build).filter((op) => !(op in ACCESS_MATRIX)), [], 'no probe without a table row');

  const isProblem = (res: LightMyRequestResponse) => String(res.headers['content-type'] ?? '').startsWith('application/problem+json');
  // GAR's web services refuse in GAR's shape: <Erreur> (or {"Erreur":…} when JSON is asked for).
  const isGarError = (res: LightMyRequestResponse) => /<Erreur>|"Erreur":/.test(res.body);
  const call = (method: string, probe: Probe, role: Role | null) =>
    app.inject({
      method: method as 'GET',
      url: probe.url,
      headers: { ...(role ? bearer(app, CALLERS[role]) : {}), ...probe.headers },
      ...(probe.payload !== undefined ? { payload: probe.payload as string } : {}),
    });

  let calls = 0;
  for (const [op, rule] of Object.entries(ACCESS_MATRIX)) {
    const [method, path] = op.split(' ') as [string, string];
    const builder = build[op];
    if (!builder) {
      t.fail(`${op}: no probe for this table row`);
      continue;
    }
    const planned: Planned[] = [];
    for (const scope of ['in', 'out'] as const) {
      const probeFor = (role: Role | null) => builder(role ?? 'operator', scope);
      if ('public' in rule) {
        const probe = probeFor(null);
        if (!probe) continue;
        planned.push({ who: 'no token', role: null, scope, probe, expect: rule.public });
        for (const role of ROLES) planned.push({ who: role, role, scope, probe, expect: rule.public });
        continue;
      }
      const anyProbe = probeFor(null);
      if (scope === 'in' && anyProbe) planned.push({ who: 'no token', role: null, scope, probe: anyProbe, expect: 401 });
      for (const role of ROLES) {
        const probe = builder(role, scope);
        const grant: Grant | undefined = rule.roles[role];
        if (!grant) {
          if (probe) planned.push({ who: role, role, scope, probe, expect: 403 });
          continue;
        }
        const expect = scope === 'in' ? grant.in : grant.out;
        if ((probe === undefined) !== (expect === undefined)) {
          t.fail(`${op} ${role} ${scope}: the table ${expect === undefined ? 'has no' : 'has an'} "${scope}" status but the probe ${probe ? 'exists' : 'does not'}`);
          continue;
        }
        if (probe && expect !== undefined) planned.push({ who: role, role, scope, probe, expect });
      }
    }

    // Refusals first: none of them may change anything (the SSO's refusal is logged, in the caller's scope).
    const run = async (p: Planned) => {
      const res = await call(method, p.probe, p.role);
      calls++;
      const label = `${op} as ${p.who} (${p.scope} of scope)`;
      t.equal(res.statusCode, p.expect, `${label}${res.statusCode === p.expect ? '' : `: ${res.body.slice(0, 300)}`}`);
      // Refusals in each caller's own language: GAR's Erreur on /ws, a page for browsers, the protocol's
      // own error on CAS/OIDC endpoints, problem+json everywhere else.
      if (p.expect >= 400) {
        if (op.includes(' /ws/')) t.ok(isGarError(res), `${label}: GAR's Erreur`);
        else if (p.probe.html) t.match(res.headers['content-type'], /^text\/html/, `${label}: an HTML page`);
        else if (!('protocol' in rule)) t.ok(isProblem(res), `${label}: problem+json`);
      }
      if (res.statusCode === p.expect && p.expect < 400 && p.probe.check) await p.probe.check(res);
      return res;
    };
    const before = await tableDigests(db);
    const lastLogId = Number((await db.selectFrom('access_log').select((eb) => eb.fn.max('id').as('m')).executeTakeFirstOrThrow()).m ?? 0);
    for (const p of planned.filter((x) => x.expect >= 400)) {
      const res = await run(p);
      if (op === 'POST /v1/sso' && p.role === 'ent') t.equal(res.json().reason, 'establishment_out_of_scope');
    }
    const after = await tableDigests(db);
    if (op === 'POST /v1/sso') {
      delete before.access_log;
      delete after.access_log;
      const logged = await db.selectFrom('access_log').selectAll().where('id', '>', lastLogId as never).execute();
      t.equal(logged.length, 1, 'the refused SSO decision is logged');
      t.same(
        logged.filter((r) => r.ent_id !== 'Z0' || r.outcome !== 'refused' || r.person_ref !== null),
        [],
        'logged in the caller project, naming no person of another',
      );
    }
    t.same(after, before, `${op}: refused calls changed nothing`);
    for (const p of planned.filter((x) => x.expect < 400)) await run(p);
    // The export jobs just accepted run in the background: they end before the next operation's digests.
    while (op === 'POST /v1/feed/gar-ent/exports' && (await db.selectFrom('feed_jobs').select('id').where('state', 'in', ['queued', 'running']).execute()).length) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.ok(planned.length > 0, `${op}: probed (${path})`);
  }
  t.ok(calls >= 300, `${calls} calls made`);
});

t.test('an in-scope call that names another tenant’s object by reference reaches nothing of it', async (t) => {
  const { app, database } = await buildTestApp(t);
  const db = database.db;
  const w = await buildWorld(app, db);
  const etabAB = { sub: 'etab-ab', role: 'establishment', uais: [UAI_A, UAI_B] } as const;
  const z1Rows = async () => {
    const people = await db.selectFrom('people').selectAll().where('ent_id', '=', 'Z1').orderBy('id').execute();
    const links = await db.selectFrom('establishment_people').selectAll().where('uai', '=', UAI_X).orderBy('person_id').execute();
    const est = await db.selectFrom('establishments').selectAll().where('uai', '=', UAI_X).execute();
    return JSON.stringify({ people, links, est });
  };
  const cases: Array<{ what: string; caller: Caller; method: string; url: string; payload?: unknown; xml?: boolean; expect: number; changes?: true; check?: (body: Record<string, unknown>) => void }> = [
    { what: 'assign another UAI’s subscription at your UAI', caller: CALLERS.establishment, method: 'POST', url: `/v1/establishments/${UAI_A}/assignments`, payload: { subscriptionId: 'ABO-X', target: { type: 'person', id: 'E2' } }, expect: 404 },
    { what: 'assign a subscription of a sibling UAI of the same project', caller: CALLERS.establishment, method: 'POST', url: `/v1/establishments/${UAI_A}/assignments`, payload: { subscriptionId: 'ABO-B', target: { type: 'person', id: 'E2' } }, expect: 404 },
    { what: 'assign another project’s person at your UAI', caller: CALLERS.establishment, method: 'POST', url: `/v1/establishments/${UAI_A}/assignments`, payload: { subscriptionId: 'ABO-A', target: { type: 'person', id: 'F1' } }, expect: 404 },
    { what: 'revoke another UAI’s assignment through your UAI', caller: CALLERS.establishment, method: 'DELETE', url: `/v1/establishments/${UAI_A}/assignments/${w.assignments.delX2}`, expect: 404 },
    { what: 'list your assignments filtered on another UAI’s subscription', caller: CALLERS.establishment, method: 'GET', url: `/v1/establishments/${UAI_A}/assignments?subscriptionId=ABO-X`, expect: 200, check: (b) => void t.same(b.items, []) },
    { what: 'a sibling UAI not in the token', caller: CALLERS.establishment, method: 'GET', url: `/v1/establishments/${UAI_B}/subscriptions`, expect: 403 },
    { what: 'a two-UAI token reads its second UAI', caller: etabAB as unknown as Caller, method: 'GET', url: `/v1/establishments/${UAI_B}/subscriptions`, expect: 200, check: (b) => void t.same((b.items as Array<{ id: string; uai: string }>).map((i) => `${i.id}@${i.uai}`), [`ABO-B@${UAI_B}`]) },
    { what: 'a two-UAI token and a third UAI', caller: etabAB as unknown as Caller, method: 'GET', url: `/v1/establishments/${UAI_X}/assignments`, expect: 403 },
    { what: 'another project’s person at your UAI (resource list)', caller: CALLERS.ent, method: 'GET', url: `/v1/establishments/${UAI_A}/people/F1/resources`, expect: 404 },
    { what: 'another project’s person at your UAI (read-back)', caller: CALLERS.ent, method: 'GET', url: `/v1/establishments/${UAI_A}/people/F1`, expect: 404 },
    { what: 'an XML file naming your UAI and another project’s', caller: CALLERS.ent, method: 'POST', url: '/v1/feed/gar-ent', xml: true, payload: xmlEtab(UAI_C).replace('</GAR-ENT-Etab>', `<GAREtab><GARStructureUAI>${UAI_X}</GARStructureUAI><GARStructureNomCourant>Stolen</GARStructureNomCourant></GAREtab></GAR-ENT-Etab>`), expect: 403 },
    { what: 'move your subscription onto another publisher’s resource', caller: CALLERS.publisher, method: 'PUT', url: '/v1/subscriptions/ABO-A', payload: subscriptionBody('ABO-A', RES_P2, UAI_A), expect: 409 },
    { what: 'a data request read through another publisher’s pending id', caller: CALLERS.publisher, method: 'GET', url: `/v1/data-requests/${w.pendingP2}`, expect: 404 },
  ];
  for (const c of cases) {
    const before = await tableDigests(db);
    const res = await app.inject({
      method: c.method as 'GET',
      url: c.url,
      headers: { ...bearer(app, c.caller), ...(c.xml ? { 'content-type': 'application/xml' } : {}) },
      ...(c.payload !== undefined ? { payload: c.payload as string } : {}),
    });
    t.equal(res.statusCode, c.expect, `${c.what}: ${c.expect}${res.statusCode === c.expect ? '' : ` (${res.body.slice(0, 300)})`}`);
    if (res.statusCode === c.expect && c.check) c.check(res.json());
    t.same(await tableDigests(db), before, `${c.what}: nothing changed`);
  }

  // The ENT's own feed, naming another project's person ids, creates its own people and leaves the other's alone.
  const z1Before = await z1Rows();
  const changes = await app.inject({
    method: 'POST',
    url: `/v1/establishments/${UAI_C}/directory/changes`,
    headers: bearer(app, CALLERS.ent),
    payload: {
      upserts: { people: [{ id: 'F2', lastName: 'Homonyme', firstName: 'Zoé', profiles: [{ uai: UAI_C, profile: 'National_elv' }] }] },
      removals: { people: ['F1'] },
    },
  });
  t.equal(changes.statusCode, 200, changes.body);
  const snapshot = await app.inject({
    method: 'PUT',
    url: `/v1/establishments/${UAI_C}/directory`,
    headers: bearer(app, CALLERS.ent),
    payload: { people: [{ id: 'F1', lastName: 'Autre', firstName: 'Jo', profiles: [{ uai: UAI_C, profile: 'National_elv' }, { uai: UAI_X, profile: 'National_ens' }] }] },
  });
  t.equal(snapshot.statusCode, 400, 'a profile at another project’s UAI is refused');
  t.match(snapshot.json().errors, [{ path: '/people/0/profiles/1/uai' }]);
  t.equal(await z1Rows(), z1Before, 'the other project’s people, links and establishment are untouched');

  // A refused SSO naming another project's person at your UAI: logged in your project, no one else's reference.
  const lastLogId = Number((await db.selectFrom('access_log').select((eb) => eb.fn.max('id').as('m')).executeTakeFirstOrThrow()).m ?? 0);
  const sso = await app.inject({ method: 'POST', url: '/v1/sso', headers: bearer(app, CALLERS.ent), payload: { uai: UAI_A, personId: 'F1', resourceId: RES_P2 } });
  t.equal(sso.statusCode, 403);
  t.equal(sso.json().reason, 'unknown_person');
  const logged = await db.selectFrom('access_log').selectAll().where('id', '>', lastLogId as never).execute();
  t.match(logged, [{ ent_id: 'Z0', uai: UAI_A, outcome: 'refused', reason: 'unknown_person', person_ref: null }]);
  t.equal(logged.length, 1);
});
