import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { dropRightsRecord, keepRightsRecord, personHash } from './rights-records.js';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { PersonExport, PersonParams, RestrictionInput, RestrictionQuery, RestrictionState } from './data-subjects.schemas.js';
import { insertAudit } from '../audit/audit.repository.js';
import { exportPerson, findPersonRef, setRestriction } from './data-subjects.repository.js';
import { projectLinkOf } from '../person-links/person-links.repository.js';

const tags = ['data-subjects'];

/** Operator: data-subject rights (decree art. 9; GDPR art. 15, 18, 21). Every action is audited. */
export const dataSubjectsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/people/:entId/:personId/export',
    {
      schema: {
        tags,
        summary: 'Everything held about one person, as JSON (right of access)',
        params: PersonParams,
        response: { 200: PersonExport, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { entId, personId } = request.params;
      const data = await exportPerson(app.db, entId, personId, app.clock());
      if (!data) throw errors.notFound('person', `${entId}/${personId}`);
      // Reading a whole person's data is itself an act on personal data: it goes in the audit trail.
      await insertAudit(app.db, {
        at: app.clock(),
        actor_sub: request.caller.sub,
        actor_role: request.caller.role,
        action: `GET ${request.routeOptions.url}`,
        object_type: 'people.export',
        object_id: `${entId}/${personId}`,
        status: 200,
        request_id: request.id,
      });
      reply.header('cache-control', 'no-store');
      return { ...data, projectLink: await projectLinkOf(app.db, entId, personHash(app.config.idoSecret, entId, personId)) };
    },
  );

  app.post(
    '/people/:entId/:personId/restriction',
    {
      schema: {
        tags,
        summary: 'Restrict processing (or record an objection): SSO is refused while it holds; the person stays in the directory',
        params: PersonParams,
        body: RestrictionInput,
        response: { 200: RestrictionState, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { entId, personId } = request.params;
      const ref = await findPersonRef(app.db, entId, personId);
      if (ref === undefined) throw errors.notFound('person', `${entId}/${personId}`);
      const kind = request.body.kind ?? 'restriction';
      const now = app.clock();
      const hash = personHash(app.config.idoSecret, entId, personId);
      // The kept record and the person's flag change together: one never holds without the other.
      const result = await app.db.transaction().execute(async (trx) => {
        await keepRightsRecord(trx, { entId, personHash: hash, kind, at: now, by: request.caller.sub });
        return setRestriction(trx, ref, kind, now);
      });
      // A restricted or objecting person's browser sessions end now, and the publishers they reached are told.
      await app.sessions.endForPerson(entId, personId, kind);
      return result;
    },
  );

  app.delete(
    '/people/:entId/:personId/restriction',
    {
      schema: {
        tags,
        summary: 'Lift a restriction (or an objection, with ?kind=objection)',
        params: PersonParams,
        querystring: RestrictionQuery,
        response: { 200: RestrictionState, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { entId, personId } = request.params;
      const ref = await findPersonRef(app.db, entId, personId);
      if (ref === undefined) throw errors.notFound('person', `${entId}/${personId}`);
      const kind = request.query.kind ?? 'restriction';
      return app.db.transaction().execute(async (trx) => {
        await dropRightsRecord(trx, entId, personHash(app.config.idoSecret, entId, personId), kind);
        return setRestriction(trx, ref, kind, null);
      });
    },
  );
};
