import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Role } from '../../plugins/auth.js';
import { registerAuditTrail } from '../audit/audit.hook.js';
import { isValidUai } from '../../lib/uai.js';
import { coveredCounts, deleteSubscription } from '../subscriptions/subscriptions.repository.js';
import { assignedResources, establishmentProject, findPersonDbId } from '../resource-list/resource-list.repository.js';
import { abonnementFields, abonnementFromXml, abonnementJson, checkAbonnement, WSABONNEMENT_NS, type AbonnementRow } from './abonnement.js';
import { distributorOf, garResourceItem, type Catalogue, type GarResourceItem } from './catalogue.js';
import { formatGarDate } from './gar-dates.js';
import { el, opt, parseXml, xmlDocument, type XmlNode, type XmlOut } from './gar-xml.js';
import { garError, registerGarErrors, wantsJson } from './gar-ws.errors.js';
import {
  catalogueFacts,
  connectedEstablishments,
  diffusableResources,
  establishmentsFacts,
  findLive,
  findPublisher,
  insertAbonnement,
  readAbonnement,
  resourceOwner,
  searchAbonnements,
  subscriptionsFor,
  updateAbonnement,
} from './gar-ws.repository.js';
import {
  AbonnementIdParams,
  AbonnementJson,
  both,
  DecompteQuery,
  garErrors,
  ListeRessourcesSchema,
  PageQuery,
  RessourcesDiffusablesSchema,
  RessourcesParams,
  XmlBody,
} from './gar-ws.schemas.js';
import { Type } from '@sinclair/typebox';
import { pageOf, searchFromFiltres } from './filtres.js';
import { OPTIONAL_BODY } from '../../openapi-info.js';

/** The largest XML body a GAR route reads. */
const XML_BODY_LIMIT = 256 * 1024;
export const LIST_ETABLISSEMENT_NS = 'http://www.atosworldline.com/listEtablissement/v1.0/';
export const RESSOURCES_DIFFUSABLES_NS = 'http://gar.education.fr/schemas/init/0/1/';

/** How a caller of these routes is authenticated: a JWT guard on the main listener, the certificate mapping on the other. */
export type Guard = (roles: readonly Role[]) => onRequestHookHandler;

export interface GarWsOptions {
  guard: Guard;
  /** Where the subscription host's paths start: `/abonnement` under /ws, `` at a certificate listener's root. */
  abonnementBase: string;
  /** Document the routes as bearer-token routes (the main listener). */
  bearer?: boolean;
}

const tagsAbonnement = ['GAR: subscriptions'];
const tagsRessources = ['GAR: resources'];

/** The body of a GET: Fastify does not read bodies on GET, and GAR's clients send <filtres> on GET. */
const getBodies = new WeakMap<FastifyRequest, string>();

async function readGetBody(request: FastifyRequest, _reply: FastifyReply, payload: NodeJS.ReadableStream) {
  if (request.method !== 'GET') return payload;
  if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) return payload;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > XML_BODY_LIMIT) throw garError(413, `the body is larger than ${XML_BODY_LIMIT} bytes`);
    chunks.push(b);
  }
  getBodies.set(request, Buffer.concat(chunks).toString('utf8'));
  return payload;
}

function xmlRoot(body: unknown): XmlNode | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  if (typeof body !== 'string') throw garError(415, 'send the body as XML (Content-Type: application/xml)');
  if (body.trim() === '') return undefined;
  return parseXml(body);
}

function sendXmlOrJson(request: FastifyRequest, reply: FastifyReply, status: number, json: unknown, xml: () => XmlOut): FastifyReply {
  if (wantsJson(request)) return reply.status(status).type('application/json; charset=utf-8').send(json);
  return reply.status(status).type('application/xml; charset=utf-8').send(xmlDocument(xml()));
}

/** Successful answers of the ENT-side services are always gzip-encoded: a deployed ENT module gunzips whatever it gets. */
function sendGzipped(request: FastifyRequest, reply: FastifyReply, json: unknown, xml: () => XmlOut): FastifyReply {
  const asJson = wantsJson(request);
  const text = asJson ? JSON.stringify(json) : xmlDocument(xml());
  return reply
    .status(200)
    .header('content-encoding', 'gzip')
    .header('vary', 'accept')
    .type(asJson ? 'application/json; charset=utf-8' : 'application/xml; charset=utf-8')
    .send(gzipSync(text));
}

const abonnementXml = (row: AbonnementRow, withNs = false): XmlOut => ({
  name: 'abonnement',
  ...(withNs ? { xmlns: WSABONNEMENT_NS } : {}),
  children: abonnementFields(row).map(([k, v]) => el(k, v)),
});

function publisherOf(request: FastifyRequest): string {
  if (request.caller.role !== 'publisher') throw garError(403, 'this service is for publishers');
  return request.caller.publisherId;
}

/** Publishers: GAR's subscription service (abonnement host). */
function abonnementRoutes(base: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string', bodyLimit: XML_BODY_LIMIT }, (_req, body, done) => done(null, body));

    const distributorFor = async (publisherId: string): Promise<{ distributor: string; known: string | undefined }> => {
      const p = await findPublisher(app.db, publisherId);
      const known = p?.siren_isni ?? (/^[0-9]{9}_[0-9]{16}$/.test(publisherId) ? publisherId : undefined);
      return { distributor: p?.siren_isni ?? publisherId, known };
    };

    /** Parses and checks an <abonnement>, then the references; throws every problem at once. */
    const checked = async (request: FastifyRequest, mode: 'create' | 'update', pathId: string, stored?: { uai: string; resource_id: string }) => {
      const publisherId = publisherOf(request);
      const problems: string[] = [];
      const root = xmlRoot(request.body);
      if (!root) throw garError(400, 'an <abonnement> body is required');
      const input = abonnementFromXml(root, problems);
      const { known } = await distributorFor(publisherId);
      const uais = [...input.uaiEtab, ...(stored ? [stored.uai] : [])].filter(isValidUai);
      const facts = await establishmentsFacts(app.db, uais);
      const result = checkAbonnement(input, {
        mode,
        pathId,
        distributor: known,
        storedUai: stored?.uai,
        firstDegree: (u) => facts.get(u)?.firstDegree ?? false,
      });
      problems.push(...result.problems);
      if (mode === 'create') {
        for (const u of input.uaiEtab) if (isValidUai(u) && !facts.has(u)) problems.push(`uaiEtab: establishment "${u}" is not connected to the broker`);
      }
      if (input.idRessource) {
        if (stored && input.idRessource !== stored.resource_id) {
          problems.push(`idRessource cannot change on a subscription (it is "${stored.resource_id}"); delete it and create another`);
        } else if ((await resourceOwner(app.db, input.idRessource)) !== publisherId) {
          // Unknown and another publisher's resource read the same: nothing leaks about others' catalogue.
          problems.push(`idRessource: "${input.idRessource}" is not one of your resources`);
        }
      }
      if (problems.length > 0) throw garError(400, ...problems);
      return { publisherId, values: result.values! };
    };

    app.put(
      `${base}/:idAbonnement`,
      {
        schema: {
          tags: tagsAbonnement,
          summary: 'GAR: create a subscription',
          description:
            'Body: `<abonnement xmlns="http://www.atosworldline.com/wsabonnement/v1.0/">` with one `uaiEtab`. Every rule is ' +
            'checked and every problem listed in one `<Erreur>`. An id you already use is a 409 whose Message contains "existe deja".',
          params: AbonnementIdParams,
          body: XmlBody('<abonnement>') as never,
          response: { 201: both(AbonnementJson, '<abonnement>', 'Created: the subscription as stored'), ...garErrors(400, 401, 403, 409, 413, 415) },
        },
      },
      async (request, reply) => {
        const { idAbonnement } = request.params;
        const publisherId = publisherOf(request);
        if (await findLive(app.db, publisherId, idAbonnement)) throw garError(409, `L'abonnement "${idAbonnement}" existe deja; update it with POST`);
        const { values } = await checked(request, 'create', idAbonnement);
        await insertAbonnement(app.db, publisherId, { ...values, uai: values.uai! }, app.clock());
        const row = (await readAbonnement(app.db, publisherId, idAbonnement))!;
        return sendXmlOrJson(request, reply, 201, abonnementJson(row), () => abonnementXml(row, true));
      },
    );

    app.post(
      `${base}/:idAbonnement`,
      {
        schema: {
          tags: tagsAbonnement,
          summary: 'GAR: update a subscription (the whole record, without uaiEtab)',
          params: AbonnementIdParams,
          body: XmlBody('<abonnement> without <uaiEtab>') as never,
          response: { 200: both(AbonnementJson, '<abonnement>', 'The subscription as stored'), ...garErrors(400, 401, 403, 404, 413, 415) },
        },
      },
      async (request, reply) => {
        const { idAbonnement } = request.params;
        const publisherId = publisherOf(request);
        const live = await findLive(app.db, publisherId, idAbonnement);
        if (!live) throw garError(404, `L'abonnement "${idAbonnement}" n'existe pas`);
        const { values } = await checked(request, 'update', idAbonnement, live);
        await updateAbonnement(app.db, live.pk, values, app.clock());
        const row = (await readAbonnement(app.db, publisherId, idAbonnement))!;
        return sendXmlOrJson(request, reply, 200, abonnementJson(row), () => abonnementXml(row, true));
      },
    );

    app.delete(
      `${base}/:idAbonnement`,
      {
        schema: {
          tags: tagsAbonnement,
          summary: 'GAR: delete a subscription (kept for searches with aboSuppr)',
          description: 'Its assignments go with it; the subscription is kept, with its id, for searches with `<aboSuppr>true</aboSuppr>`.',
          params: AbonnementIdParams,
          response: { 204: { type: 'null', description: 'Deleted' }, ...garErrors(401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { idAbonnement } = request.params;
        const live = await findLive(app.db, publisherOf(request), idAbonnement);
        if (!live) throw garError(404, `L'abonnement "${idAbonnement}" n'existe pas`);
        const now = app.clock();
        await app.db.transaction().execute((trx) => deleteSubscription(trx, live.pk, now));
        return reply.status(204).send();
      },
    );

    const search = async (request: FastifyRequest, reply: FastifyReply) => {
      const query = request.query as { debut?: number; fin?: number };
      const publisherId = publisherOf(request);
      const problems: string[] = [];
      const body = request.method === 'GET' ? getBodies.get(request) : request.body;
      const { distributor } = await distributorFor(publisherId);
      const filter = searchFromFiltres(xmlRoot(body), distributor, problems);
      const page = pageOf(query.debut, query.fin, problems);
      if (problems.length > 0) throw garError(400, ...problems);
      const rows = filter.none || page.limit === 0 ? [] : await searchAbonnements(app.db, publisherId, { ...filter, ...page });
      return sendXmlOrJson(request, reply, 200, { abonnements: rows.map(abonnementJson) }, () => ({
        name: 'abonnements',
        xmlns: WSABONNEMENT_NS,
        children: rows.map((r) => abonnementXml(r)),
      }));
    };
    const searchSchema = (method: string) => ({
      tags: tagsAbonnement,
      summary: `GAR: search your subscriptions (${method} with a <filtres> body)`,
      description:
        'Body (optional): `<filtres>` with `filtre` (filtreNom/filtreValeur on idDistributeurCom, uaiEtab, idAbonnement, ' +
        'typeAffectation, categorieAffectation, publicCible, codeProjetRessource), `filtreParDate` (dateName among ' +
        'dateCreation, dateModification, debutValidite, finValidite; dateAvant and dateApres inclusive), `triPar`, `tri` ' +
        '(ASC, DSC or DESC) and `aboSuppr` (include deleted subscriptions). Paging: debut and fin are positions from 1, fin ' +
        'inclusive, debut=0 read as 1.' +
        (method === 'GET' ? ' GAR clients send the <filtres> body on GET; it is read (OpenAPI cannot declare a GET body).' : ''),
      querystring: PageQuery,
      response: { 200: both(Type.Object({ abonnements: Type.Array(AbonnementJson) }), '<abonnements>', 'One page of subscriptions'), ...garErrors(400, 401, 403, 413, 415) },
    });
    app.get(`${base}/abonnements`, { schema: searchSchema('GET'), preParsing: readGetBody }, search);
    app.post(`${base}/abonnements`, { schema: { ...searchSchema('POST'), body: XmlBody('<filtres>') as never, [OPTIONAL_BODY]: true } }, search);

    app.get(
      `${base}/etablissements/etablissements.xml`,
      {
        schema: {
          tags: tagsAbonnement,
          summary: 'GAR: the establishments connected to the broker, with their official fields',
          description: 'XML `<listEtablissement xmlns="http://www.atosworldline.com/listEtablissement/v1.0/">`; `idENT` is Base64.',
          response: { 200: { description: 'The list', content: { 'application/xml': { schema: Type.String() } } }, ...garErrors(401, 403) },
        },
      },
      async (_request, reply) => {
        const rows = await connectedEstablishments(app.db);
        const official = (o: Record<string, string>, k: string) => opt(k, o[k]);
        const doc: XmlOut = {
          name: 'listEtablissement',
          xmlns: LIST_ETABLISSEMENT_NS,
          children: rows.map((r) => {
            const o = (r.official ?? {}) as Record<string, string>;
            return el('etablissement', [
              el('uai', r.uai),
              el('idENT', Buffer.from(r.ent_id, 'utf8').toString('base64')),
              ...OFFICIAL_FIELDS.filter((k) => k !== 'appellation_officielle').map((k) => official(o, k)),
              el('appellation_officielle', o.appellation_officielle ?? r.name),
            ]);
          }),
        };
        return reply.type('application/xml; charset=utf-8').send(xmlDocument(doc));
      },
    );
  };
}

/** The official fields of an establishment, as the national directory and GAR's list name them. */
export const OFFICIAL_FIELDS = [
  'nature_uai',
  'nature_uai_libe',
  'type_uai',
  'type_uai_libe',
  'commune',
  'commune_libe',
  'academie',
  'academie_libe',
  'departement_insee_3',
  'departement_insee_3_libe',
  'appellation_officielle',
  'patronyme_uai',
  'code_postal_uai',
  'localite_acheminement_uai',
] as const;

/** Publishers: assignment counts per subscription (decompte-affectations host). */
const decompteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/decompteaffectations',
    {
      schema: {
        tags: tagsAbonnement,
        summary: 'GAR: people assigned under your subscriptions, per audience (CSV)',
        description:
          'Give idAbonnement or codeProjetRessource, not both. `;`-separated CSV, one line per subscription; `null` for a ' +
          'missing value (no project code, an audience the subscription does not target).',
        querystring: DecompteQuery,
        response: { 200: { description: 'CSV', content: { 'text/csv': { schema: Type.String() } } }, ...garErrors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const publisherId = publisherOf(request);
      const { idAbonnement, codeProjetRessource } = request.query;
      if ((idAbonnement === undefined) === (codeProjetRessource === undefined)) throw garError(400, 'give idAbonnement or codeProjetRessource, exactly one');
      const subs = await subscriptionsFor(app.db, publisherId, { id: idAbonnement, projectCode: codeProjetRessource });
      const lines = ['UAI;idAbonnement;codeProjetRessource;idRessource;cumulAffectationEleve;cumulAffectationEnseignant;cumulAffectationDocumentaliste;cumulAffectationAutrePersonnel'];
      const cell = (v: string | number | null) => (v === null ? 'null' : String(v).replace(/[;\r\n]/g, ' '));
      for (const s of subs) {
        const counts = await coveredCounts(app.db, { ...s, pk: Number(s.pk) });
        const of = (a: 'ELEVE' | 'ENSEIGNANT' | 'DOCUMENTALISTE' | 'AUTRE PERSONNEL') => (s.audiences.includes(a) ? counts[a] : null);
        lines.push(
          [s.uai, s.id, s.project_code, s.resource_id, of('ELEVE'), of('ENSEIGNANT'), of('DOCUMENTALISTE'), of('AUTRE PERSONNEL')].map(cell).join(';'),
        );
      }
      return reply.type('text/csv; charset=utf-8').send(lines.join('\n') + '\n');
    },
  );
};

function ressourceXml(r: GarResourceItem): XmlOut {
  const concepts = (name: string, list: Array<{ uri: string; nom: string }>) => list.map((c) => el(name, [el('uri', c.uri), el('nom', c.nom)]));
  return el('ressource', [
    el('idRessource', r.idRessource),
    el('idType', r.idType),
    el('nomRessource', r.nomRessource),
    el('idEditeur', r.idEditeur),
    el('nomEditeur', r.nomEditeur),
    opt('urlVignette', r.urlVignette),
    el('typePresentation', [el('code', r.typePresentation.code), el('nom', r.typePresentation.nom)]),
    ...concepts('typePedagogique', r.typePedagogique),
    ...concepts('typologieDocument', r.typologieDocument),
    ...concepts('niveauEducatif', r.niveauEducatif),
    ...concepts('domaineEnseignement', r.domaineEnseignement),
    el('urlAccesRessource', r.urlAccesRessource),
    el('nomSourceEtiquetteGar', r.nomSourceEtiquetteGar),
    el('urlSourceEtiquette', r.urlSourceEtiquette),
    el('distributeurTech', r.distributeurTech),
    el('validateurTech', r.validateurTech),
  ]);
}

/** The GAR resource items a person may open at a UAI now: the resource list's one definition of "assigned". */
export async function garResourceItems(app: FastifyInstance, entId: string, uai: string, personDbId: number): Promise<GarResourceItem[]> {
  const rows = await assignedResources(app.db, { personDbId, uai, now: app.clock() });
  const facts = await catalogueFacts(app.db, rows.map((r) => r.resource_id));
  return rows
    .map((r) => garResourceItem(facts.get(r.resource_id)!, { brokerBaseUrl: app.config.brokerBaseUrl, entId, uai }))
    .sort((a, b) => a.nomRessource.localeCompare(b.nomRessource, 'fr') || a.idRessource.localeCompare(b.idRessource));
}

/** ENTs: the resource service (resource-list host). */
const ressourcesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/ressources/:idENT/:uai/:personId',
    {
      schema: {
        tags: tagsRessources,
        summary: "GAR: the resources a person may open at an establishment (one of your project's)",
        description:
          '`{"listeRessources":{"ressource":[…]}}` with `Accept: application/json`, `<listeRessources>` otherwise. Successful ' +
          'answers are always gzip-encoded (Content-Encoding: gzip), errors never. `urlAccesRessource` is the broker entry link.',
        params: RessourcesParams,
        response: { 200: both(ListeRessourcesSchema, '<listeRessources>', 'The list, gzip-encoded'), ...garErrors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (request.caller.role !== 'ent') throw garError(403, 'this service is for ENT projects');
      const { idENT, uai, personId } = request.params;
      if (idENT !== request.caller.entId) throw garError(403, `idENT "${idENT}" is not your project`);
      if (!isValidUai(uai)) throw garError(400, `"${uai}" is not a valid UAI`);
      // Another project's establishment reads as unknown: nothing leaks about others.
      if ((await establishmentProject(app.db, uai)) !== idENT) throw garError(404, 'Établissement non trouvé');
      const personDbId = await findPersonDbId(app.db, idENT, personId);
      if (personDbId === undefined) throw garError(404, 'Utilisateur non trouvé');
      const items = await garResourceItems(app, idENT, uai, personDbId);
      return sendGzipped(request, reply, { listeRessources: { ressource: items } }, () => el('listeRessources', items.map(ressourceXml)));
    },
  );

  app.get(
    '/ressourcesDiffusables',
    {
      schema: {
        tags: tagsRessources,
        summary: 'GAR: every resource open for diffusion',
        description: `XML in namespace ${RESSOURCES_DIFFUSABLES_NS} by default, JSON with Accept: application/json; always gzip-encoded.`,
        response: { 200: both(RessourcesDiffusablesSchema, '<listeRessourcesDiffusables>', 'The list, gzip-encoded'), ...garErrors(401, 403) },
      },
    },
    async (request, reply) => {
      const rows = await diffusableResources(app.db);
      const items = rows.map((f) => {
        const c = f.catalogue as Catalogue;
        const publisher = distributorOf(f);
        return {
          idRessource: f.resource_id,
          nomRessource: f.resource_name,
          idEditeur: publisher,
          nomEditeur: f.publisher_name,
          distributeursCom: c.distributeursCom ?? [{ distributeurCom: publisher, nomDistributeurCom: f.publisher_name }],
          distributeurTech: c.distributeurTech ?? publisher,
          nomDistributeurTech: c.nomDistributeurTech ?? f.publisher_name,
          affichable: c.affichable ?? true,
          diffusable: c.diffusable ?? true,
          mereFamille: c.mereFamille ?? false,
          ...(c.membreFamille ? { membreFamille: c.membreFamille } : {}),
        };
      });
      const dateGeneration = formatGarDate(app.clock());
      return sendGzipped(request, reply, { listeRessourcesDiffusables: { dateGeneration, ressourceDiffusable: items } }, () => ({
        name: 'listeRessourcesDiffusables',
        xmlns: RESSOURCES_DIFFUSABLES_NS,
        children: [
          el('dateGeneration', dateGeneration),
          ...items.map((i) =>
            el('ressourceDiffusable', [
              el('idRessource', i.idRessource),
              el('nomRessource', i.nomRessource),
              el('idEditeur', i.idEditeur),
              el('nomEditeur', i.nomEditeur),
              ...i.distributeursCom.map((d) => el('distributeursCom', [el('distributeurCom', d.distributeurCom), el('nomDistributeurCom', d.nomDistributeurCom)])),
              el('distributeurTech', i.distributeurTech),
              el('nomDistributeurTech', i.nomDistributeurTech),
              el('affichable', String(i.affichable)),
              el('diffusable', String(i.diffusable)),
              el('mereFamille', String(i.mereFamille)),
              opt('membreFamille', i.membreFamille),
            ]),
          ),
        ],
      }));
    },
  );
};

/**
 * GAR's web services, in GAR's shapes: publishers' subscriptions and counts, ENTs' resource lists.
 * Mounted under /ws on the main listener (JWT) and at the root of the client-certificate listener.
 */
export function garWsRoutes(options: GarWsOptions): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Subscription changes are audited as the JSON API's are, whichever listener they come through.
    registerAuditTrail(app);
    if (options.bearer) app.addHook('onRoute', (route) => void (route.schema = { ...route.schema, security: [{ bearer: [] }] }));
    const level = (roles: readonly Role[], plugin: FastifyPluginAsyncTypebox) => async (scope: FastifyInstance) => {
      registerGarErrors(scope);
      scope.addHook('onRequest', options.guard(roles));
      await scope.register(plugin);
    };
    await app.register(level(['publisher'], abonnementRoutes(options.abonnementBase)));
    await app.register(level(['publisher'], decompteRoutes));
    await app.register(level(['ent'], ressourcesRoutes));
  };
}
