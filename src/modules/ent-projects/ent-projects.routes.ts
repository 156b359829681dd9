import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { PageQuery, page } from '../../lib/paging.js';
import { isValidUai } from '../../lib/uai.js';
import {
  AssignmentPolicyInput,
  EntIdParam,
  EntProjectInput,
  EntProjectSchema,
  EstablishmentInput,
  EstablishmentSchema,
} from './ent-projects.schemas.js';
import { findProject, insertProject, listProjects, setAssignmentPolicy, toEstablishment, upsertEstablishment } from './ent-projects.repository.js';

const tags = ['onboarding'];

/** Operator: ENT projects and the establishments each one serves. */
export const entProjectsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/ent-projects',
    {
      schema: {
        tags,
        summary: 'Create an ENT project (kind ent, or edugar for schools without an ENT)',
        body: EntProjectInput,
        response: { 201: EntProjectSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      if (await findProject(app.db, request.body.id)) throw errors.conflict(`ENT project "${request.body.id}" already exists`);
      const project = await insertProject(app.db, request.body, app.clock());
      return reply.status(201).send(project);
    },
  );

  app.get(
    '/ent-projects',
    {
      schema: { tags, summary: 'List ENT projects', querystring: PageQuery, response: { 200: ListOf(EntProjectSchema), ...problems(400, 401, 403) } },
    },
    async (request) => {
      const rows = await listProjects(app.db, request.query.limit + 1, request.query.after);
      return page(rows, request.query.limit, (p) => p.id);
    },
  );

  app.get(
    '/ent-projects/:entId',
    {
      schema: {
        tags,
        summary: 'Read one ENT project',
        params: Type.Object({ entId: EntIdParam }),
        response: { 200: EntProjectSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const project = await findProject(app.db, request.params.entId);
      if (!project) throw errors.notFound('ENT project', request.params.entId);
      return project;
    },
  );

  app.put(
    '/ent-projects/:entId/assignment-policy',
    {
      schema: {
        tags,
        summary: 'Set who may assign resources at the project’s schools',
        description:
          'Establishment tokens are honoured, at each request, only for people this policy allows at the UAI ' +
          '(`npm run token -- --manager` follows it too). The default is `["respaff"]`.',
        params: Type.Object({ entId: EntIdParam }),
        body: AssignmentPolicyInput,
        response: { 200: EntProjectSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { entId } = request.params;
      if (!(await setAssignmentPolicy(app.db, entId, request.body.assignmentPolicy))) throw errors.notFound('ENT project', entId);
      return (await findProject(app.db, entId))!;
    },
  );

  app.put(
    '/ent-projects/:entId/establishments/:uai',
    {
      schema: {
        tags,
        summary: 'Attach an establishment (UAI) to an ENT project, or rename it',
        description:
          'A UAI belongs to one project: attaching a UAI held by another project is a 409. `degree` 1 marks a primary ' +
          'school (its feed is GAR-ENT-1D; a 1D feed or a snapshot with `degree` also sets it); omitted, it is left as is (2 for a new UAI).',
        params: Type.Object({ entId: EntIdParam, uai: Type.String({ maxLength: 8 }) }),
        body: EstablishmentInput,
        response: { 200: EstablishmentSchema, 201: EstablishmentSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { entId, uai } = request.params;
      if (!isValidUai(uai)) {
        throw errors.validation('invalid UAI', [{ path: 'params/uai', message: 'must be 7 digits and the matching check letter' }]);
      }
      if (!(await findProject(app.db, entId))) throw errors.notFound('ENT project', entId);
      const result = await upsertEstablishment(app.db, entId, uai, request.body.name, app.clock(), request.body.degree);
      if (!result) throw errors.conflict(`UAI ${uai} is attached to another ENT project`);
      return reply.status(result.created ? 201 : 200).send(toEstablishment(result.row));
    },
  );
};

