import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors, type FieldError } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { isValidUai } from '../../lib/uai.js';
import { assertScope, type Caller } from '../../plugins/auth.js';
import { degreeOf, directoryCounts, findEstablishments, findPersonAt, projectUais } from './directory.repository.js';
import { checkedBodies, feedValidatorCompiler, type FeedCheckContext, type FeedRoute } from './feed-checks.js';
import {
  ChangesBody,
  DirectorySummarySchema,
  FeedResultSchema,
  PersonParams,
  PersonRecordSchema,
  SnapshotBody,
  UaiParams,
  XmlFeedResultSchema,
  type DirectorySummary,
  type PersonRecord,
} from './directory.schemas.js';
import { applyChanges, applyGarEntFile, applySnapshot } from './directory.service.js';
import { appliedSnapshots, runOffLoop, startFeedPool } from './feed-pool.js';
import { readBodyBlocks } from './feed-body.js';
import type { ApplyTarget } from './feed-apply.js';
import type { DatabaseHandle } from '../../db/connect.js';
import type { GarFeed } from './gar-ent.mapping.js';
import { isKnownVersion } from './gar-ent-1d.mapping.js';
import { schemaErrors } from './directory.validation.js';

const tags = ['directory'];

/** A full directory of a large establishment is several MiB of JSON or XML; other routes keep 1 MiB. */
export const FEED_BODY_LIMIT = 20 * 1024 * 1024;

/**
 * The establishment, if the caller may see it. For an ENT, any UAI not attached to its own project
 * (another project's or an unknown one) is the same 403, so that the answer does not tell which.
 */
async function establishmentFor(db: Parameters<typeof findEstablishments>[0], caller: Caller, uai: string) {
  if (!isValidUai(uai)) {
    throw errors.validation('invalid UAI', [{ path: 'params/uai', message: 'must be 7 digits and the matching check letter' }]);
  }
  const [est] = await findEstablishments(db, [uai]);
  assertScope(caller, { entId: est?.ent_id });
  if (!est) throw errors.notFound('establishment', uai);
  return est;
}

/**
 * The scope of the path's UAI, decided in onRequest: before the body is read, parsed or validated,
 * so a caller outside its scope costs one indexed lookup whatever it sends.
 */
const scopeBeforeBody = (
  { db, postgres }: Pick<DatabaseHandle, 'db' | 'postgres'>,
  route: FeedRoute,
  clock: () => Date,
): onRequestAsyncHookHandler =>
  async function (request) {
    const { uai } = request.params as { uai: string };
    const est = await establishmentFor(db, request.caller, uai);
    // What the thread that parses the body needs to check it whole (cheap lookups, before the body).
    const snapshot = route === 'snapshot';
    const today = clock().getTime();
    feedContexts.set(request, {
      route,
      uai,
      projectUais: snapshot ? await projectUais(db, est.ent_id) : [],
      degree: snapshot ? await degreeOf(db, uai) : undefined,
      today,
    });
    // On PostgreSQL a snapshot found valid on its thread is applied there too (feed-apply.ts).
    if (snapshot && postgres) applyTargets.set(request, { ...postgres, entId: est.ent_id, actor: request.caller.sub, now: today });
  };

const feedContexts = new WeakMap<FastifyRequest, FeedCheckContext>();
const applyTargets = new WeakMap<FastifyRequest, ApplyTarget>();

/** Body errors found by the schema are collected, not thrown, to be answered with the rule errors. */
function bodySchemaErrors(request: FastifyRequest): { found: FieldError[]; ruleErrors?: FieldError[] } {
  const v = request.validationError as (Error & { validation?: unknown[]; validationContext?: string }) | undefined;
  if (v && v.validationContext !== 'body') throw v;
  const body = request.body;
  const checked = typeof body === 'object' && body !== null ? checkedBodies.get(body) : undefined;
  if (!v && !checked) return { found: [] };
  const found = checked ? checked.schemaErrors : schemaErrors((v!.validation ?? []) as Parameters<typeof schemaErrors>[0]);
  // The feed rules read an object's sections: a body that is no object (null, a list, a number) has
  // nothing for them to add, and would only trip them.
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.validation('invalid directory feed', found);
  return { found, ...(checked?.ruleErrors ? { ruleErrors: checked.ruleErrors } : {}) };
}

/** ENT: the JSON feed of one establishment. */
export const directoryFeedRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Feed bodies are scanned and parsed on a worker thread, not on the event loop that serves SSO.
  app.addHook('onReady', startFeedPool);
  app.removeContentTypeParser('application/json');
  // Read as blocks, handed to the thread whole (feed-body.ts): joining and decoding 20 MiB is work
  // for the thread, not for the event loop.
  app.addContentTypeParser('application/json', { bodyLimit: FEED_BODY_LIMIT }, async (request: FastifyRequest, payload: NodeJS.ReadableStream) => {
    const blocks = await readBodyBlocks(request, payload, request.routeOptions.bodyLimit ?? FEED_BODY_LIMIT);
    const check = feedContexts.get(request);
    const apply = applyTargets.get(request);
    return runOffLoop({ kind: 'json-bytes', blocks, ...(check ? { check } : {}), ...(apply ? { apply } : {}) });
  });

  app.put(
    '/establishments/:uai/directory',
    {
      bodyLimit: FEED_BODY_LIMIT,
      attachValidation: true,
      onRequest: scopeBeforeBody(app.database, 'snapshot', app.clock),
      validatorCompiler: feedValidatorCompiler,
      schema: {
        tags,
        summary: 'Replace the directory of one establishment (full snapshot)',
        description:
          'Applied in one transaction, whole or not at all. People absent from the snapshot are marked gone at this ' +
          'establishment (and project-wide when they have no other), lose their classes, groups and teachings here at ' +
          'once. Groups, memberships, teachings, subjects and MEFs are replaced by the lists sent; an omitted list (key ' +
          'absent) leaves that section as stored, an explicit empty list empties it. A group that disappears keeps its ' +
          'assignments detached (listed with detachedAt) until retention, and takes them back if it returns. Sending the same ' +
          'snapshot again changes nothing. ' +
          'An invalid snapshot is answered with every invalid item and its path. Profiles are compared case-insensitively ' +
          'and stored as National_elv, National_ens, ...; a profile may name another UAI of the same ENT project, but only ' +
          'the profiles at this UAI are stored here. A UAI not attached to the caller’s project is a 403.',
        params: UaiParams,
        body: SnapshotBody,
        response: { 200: FeedResultSchema, ...problems(400, 401, 403, 413, 415) },
      },
    },
    async (request) => {
      const applied = appliedSnapshots.get(request.body);
      if (applied) return applied;
      const { found, ruleErrors } = bodySchemaErrors(request);
      const { uai } = request.params;
      const est = await establishmentFor(app.db, request.caller, uai);
      return applySnapshot(
        { db: app.db, entId: est.ent_id, uai, now: app.clock(), schemaErrors: found, actor: request.caller.sub, ...(ruleErrors ? { ruleErrors } : {}) },
        request.body,
      );
    },
  );

  app.post(
    '/establishments/:uai/directory/changes',
    {
      bodyLimit: FEED_BODY_LIMIT,
      attachValidation: true,
      onRequest: scopeBeforeBody(app.database, 'changes', app.clock),
      validatorCompiler: feedValidatorCompiler,
      schema: {
        tags,
        summary: 'Apply a delta to the directory of one establishment: upserts, then removals',
        description:
          'Removals are applied before upserts. Removing a person marks them gone at this establishment. Memberships and ' +
          'teachings may refer to people and groups of the same delta or already stored (active) here. Removing what is ' +
          'not stored is a no-op; an item both upserted and removed is an error. One transaction, whole or not at all.',
        params: UaiParams,
        body: ChangesBody,
        response: { 200: FeedResultSchema, ...problems(400, 401, 403, 413, 415) },
      },
    },
    async (request) => {
      const { found } = bodySchemaErrors(request);
      const { uai } = request.params;
      const est = await establishmentFor(app.db, request.caller, uai);
      return applyChanges({ db: app.db, entId: est.ent_id, uai, now: app.clock(), schemaErrors: found, actor: request.caller.sub }, request.body);
    },
  );
};

/** ENT: the official GAR-ENT XML files. */
export const garEntFeedRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Only this context reads XML bodies, as plain text for the hardened parser.
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string', bodyLimit: FEED_BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  app.post(
    '/feed/gar-ent',
    {
      bodyLimit: FEED_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Import one official GAR-ENT XML file (schema 1.7) or GAR-ENT-1D file (primary schools, 1.4)',
        description:
          'Any of the five kinds (GAR-ENT-Eleve, -Enseignant, -Etab, -Groupe, -RespAff; namespace ' +
          'http://data.education.fr/ns/gar). Files are read by namespace and content whatever their Version attribute says ' +
          '(exporters write 1.0 on 1.7 files; the value is returned and logged); one file may name several establishments. A file is one part of an export, so it adds and updates only: nothing is ' +
          'marked gone or deleted for being absent (use the JSON snapshot for that). Person files set names and ' +
          'profiles per establishment; GARPersonMEF and GAREleveEnseignement add codes; GARRespAff fills the ' +
          'responsables d’affectation. Every UAI of the file must be attached to the caller’s project (else 403, ' +
          'nothing changed). References (people of memberships, groups, divisions) must be in the file or already ' +
          'stored. DOCTYPE and ENTITY declarations are refused (400); at most 20 MiB. ' +
          'A file in the namespace http://data.education.fr/ns/gar/1d (Version 1.4, or 1.0 as ENT connectors write it) is ' +
          'a primary schools’ file: GARPersonMEFSTAT4 levels (at most 4 characters) and GAREnsSpecialitesPostes are stored ' +
          'as a 2D file’s MEFs and disciplines; the schools of its GAREtab records become degree 1; elements GAR-ENT-1D does ' +
          'not have (a teacher’s GARPersonMail, subjects, MEF lists) are refused.',
        body: { content: { 'application/xml': { schema: Type.String({ description: 'a GAR-ENT file' }) } } } as never,
        response: { 200: XmlFeedResultSchema, ...problems(400, 401, 403, 413, 415) },
      },
    },
    async (request) => {
      const caller = request.caller;
      if (caller.role !== 'ent') throw errors.forbidden('this route is for ent tokens');
      if (typeof request.body !== 'string') throw errors.unsupportedMediaType('send the file as application/xml');
      const now = app.clock();
      const feed = await runOffLoop<GarFeed & { primarySchools?: string[] }>({ kind: 'gar-ent', text: request.body, today: now.getTime() });
      // Read whatever the Version says; an unusual one is worth a line when a file surprises.
      request.log.info({ garKind: feed.kind, garVersion: feed.version.slice(0, 20), knownVersion: isKnownVersion(feed) }, 'GAR-ENT file read');
      return applyGarEntFile(app.db, caller.entId, feed, now);
    },
  );
};

/** ENT (own project) and operator: reading the directory back. */
export const directoryReadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/establishments/:uai/directory',
    {
      schema: {
        tags,
        summary: 'Counts of the directory of one establishment',
        description: 'People active and gone, by profile; classes and groups; memberships, teachings, subjects, MEFs.',
        params: UaiParams,
        response: { 200: DirectorySummarySchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request): Promise<DirectorySummary> => {
      const est = await establishmentFor(app.db, request.caller, request.params.uai);
      const { profiles, totals } = await directoryCounts(app.db, est.uai);
      const by = (key: 'active' | 'gone') => Object.fromEntries(profiles.filter((p) => Number(p[key]) > 0).map((p) => [p.profile, Number(p[key])]));
      return {
        uai: est.uai,
        entId: est.ent_id,
        name: est.name,
        people: { active: Number(totals.active), gone: Number(totals.gone), activeByProfile: by('active'), goneByProfile: by('gone') },
        groups: { divisions: Number(totals.divisions), groups: Number(totals.groups) },
        memberships: Number(totals.memberships),
        teachings: Number(totals.teachings),
        subjects: Number(totals.subjects),
        mefs: Number(totals.mefs),
        assignmentManagers: Number(totals.managers),
      };
    },
  );

  app.get(
    '/establishments/:uai/people/:personId',
    {
      schema: {
        tags,
        summary: 'One person as stored for one establishment, to check a feed',
        description: 'Names, civility, profiles, classes and groups, teachings, MEFs, subjects, gone dates. Never the birth date.',
        params: PersonParams,
        response: { 200: PersonRecordSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request): Promise<PersonRecord> => {
      const est = await establishmentFor(app.db, request.caller, request.params.uai);
      const found = await findPersonAt(app.db, est.ent_id, est.uai, request.params.personId);
      if (!found) throw errors.notFound('person', request.params.personId);
      const { person: p, groups, teachings } = found;
      return {
        uai: est.uai,
        id: p.person_id,
        lastName: p.last_name,
        firstName: p.first_name,
        otherFirstNames: p.other_first_names,
        birthName: p.birth_name,
        civility: p.civility,
        structRattach: p.struct_rattach,
        emails: p.emails,
        disciplines: p.disciplines,
        profiles: p.profiles,
        mefs: p.mefs,
        subjects: p.subjects,
        groups,
        teachings: teachings.map((t) => ({ groupCode: t.code, subjects: t.subjects })),
        goneAt: p.gone_at ? p.gone_at.toISOString() : null,
        personGoneAt: p.person_gone_at ? p.person_gone_at.toISOString() : null,
        updatedAt: p.updated_at.toISOString(),
      };
    },
  );
};
