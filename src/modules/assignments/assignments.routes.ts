import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { ListOf, problems } from '../../lib/http-schemas.js';
import { page } from '../../lib/paging.js';
import { isValidUai } from '../../lib/uai.js';
import { assertScope } from '../../plugins/auth.js';
import { SubscriptionSchema } from '../subscriptions/subscriptions.schemas.js';
import { coveredCounts, establishmentExists, listUaiSubscriptions } from '../subscriptions/subscriptions.repository.js';
import { toSubscriptionView, usageOf } from '../subscriptions/subscriptions.service.js';
import { AssignmentInput, AssignmentListQuery, AssignmentParams, AssignmentSchema, PageAfterPk, UaiParams } from './assignments.schemas.js';
import { deleteAssignment, listAssignments } from './assignments.repository.js';
import { createAssignment, toAssignmentView } from './assignments.service.js';
import { mayAssignAt } from '../directory/assignment-policy.js';

const tags = ['assignments'];

const ESTABLISHMENT_POLICY =
  'An establishment token is accepted only for a person (its `sub`, their ENT id) whom the assignment policy of the ' +
  'ENT project holding the UAI allows to assign there now (by default the responsables d’affectation its RespAff ' +
  'feed names); otherwise 403 with `reason` `not_allowed_to_assign`.';

/** The rule of the assignment policy that admitted the request's caller, for the assignment's record. */
const assignedAs = new WeakMap<object, string>();

/**
 * Establishment (its responsables d'affectation, on the UAIs of their token) and operator: the
 * subscriptions of a UAI and the assignments of their licences.
 */
export const assignmentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /** Scope first (403 outside the token's UAIs), then existence (404). */
  app.addHook('preHandler', async (request) => {
    const { uai } = request.params as { uai: string };
    if (!isValidUai(uai)) throw errors.validation('invalid UAI', [{ path: 'params/uai', message: 'the check letter does not match the 7 digits' }]);
    assertScope(request.caller, { uai });
    if (!(await establishmentExists(app.db, uai))) throw errors.notFound('establishment', uai);
    // The token's uai claim is not enough: the person it names must be allowed to assign here now.
    if (request.caller.role === 'establishment') {
      const verdict = await mayAssignAt(app.db, request.caller.sub, uai);
      if (!verdict.allowed) throw errors.forbidden(verdict.detail, { reason: verdict.reason });
      assignedAs.set(request, verdict.rule);
    }
  });

  app.get(
    '/establishments/:uai/subscriptions',
    {
      schema: {
        tags,
        summary: 'The subscriptions of an establishment, with licences used and left',
        description: ESTABLISHMENT_POLICY,
        params: UaiParams,
        querystring: PageAfterPk,
        response: { 200: ListOf(SubscriptionSchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit, after } = request.query;
      const rows = await listUaiSubscriptions(app.db, request.params.uai, limit + 1, after === undefined ? undefined : Number(after));
      const now = app.clock();
      const shown = rows.slice(0, limit);
      const items = [];
      for (const row of shown) items.push(toSubscriptionView(row, now, usageOf(row, await coveredCounts(app.db, row))));
      return rows.length > limit ? { items, next: String(shown[shown.length - 1]!.pk) } : { items };
    },
  );

  app.post(
    '/establishments/:uai/assignments',
    {
      schema: {
        tags,
        summary: "Assign a subscription's licences to a person, division, group, profile or the whole establishment",
        description:
          'Only within the subscription\'s audiences: a person or profile outside them is a 400; a division or group covers only ' +
          'its members in those audiences. Licences are counted per audience as distinct present people covered; an assignment ' +
          'that would pass a count is a 409 whose body says how many are `left` and how many were `needed`. ETABL subscriptions ' +
          'need no assignment (400); expired ones take none (409). ' + ESTABLISHMENT_POLICY,
        params: UaiParams,
        body: AssignmentInput,
        response: { 201: AssignmentSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const view = await createAssignment(app.db, {
        uai: request.params.uai,
        input: request.body,
        createdBy: request.caller.sub,
        createdAs: assignedAs.get(request) ?? 'operator',
        now: app.clock(),
      });
      return reply.status(201).send(view);
    },
  );

  app.get(
    '/establishments/:uai/assignments',
    {
      schema: {
        tags,
        summary: 'The assignments of an establishment',
        params: UaiParams,
        querystring: AssignmentListQuery,
        response: { 200: ListOf(AssignmentSchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit, after, subscriptionId } = request.query;
      const rows = await listAssignments(app.db, request.params.uai, { subscriptionId }, limit + 1, after === undefined ? undefined : Number(after));
      return page(rows.map(toAssignmentView), limit, (a) => a.id);
    },
  );

  app.delete(
    '/establishments/:uai/assignments/:assignmentId',
    {
      schema: {
        tags,
        summary: 'Revoke an assignment; its licences are free again',
        params: AssignmentParams,
        response: { 204: { type: 'null', description: 'Revoked' }, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { uai, assignmentId } = request.params;
      if (!(await deleteAssignment(app.db, uai, Number(assignmentId)))) throw errors.notFound('assignment', assignmentId);
      return reply.status(204).send();
    },
  );
};
