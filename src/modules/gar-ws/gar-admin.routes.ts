import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { isValidUai, UAI_PATTERN } from '../../lib/uai.js';
import { assertScope } from '../../plugins/auth.js';
import { ARK_PATTERN, ResourceParams } from '../resources/resources.schemas.js';
import { CatalogueSchema, SIREN_ISNI_PATTERN, type Catalogue } from './catalogue.js';
import { OFFICIAL_FIELDS } from './gar-ws.routes.js';

const CatalogueView = Type.Object({ resourceId: Type.String(), catalogue: CatalogueSchema });

/** Publisher: the GAR catalogue fields of its own resources (another publisher's resource reads as unknown). */
export const catalogueWriteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/resources/:resourceId/catalogue',
    {
      schema: {
        tags: ['resources'],
        summary: 'Set the GAR catalogue fields of one of your resources',
        description:
          "The fields of GAR's resource lists: presentation type, thumbnail and notice (https), ScoLOMFR vocabularies " +
          '(each list takes concepts of its own vocabulary: 010, 005, 022, 015), label source, technical distributor and ' +
          'validator and commercial distributors (SIREN_ISNI), diffusion flags and family. The whole set is given again.',
        params: ResourceParams,
        body: CatalogueSchema,
        response: { 200: CatalogueView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const caller = request.caller;
      if (caller.role !== 'publisher') throw errors.forbidden('only publishers describe their resources');
      const { resourceId } = request.params;
      const owner = await app.db.selectFrom('resources').select('publisher_id').where('id', '=', resourceId).executeTakeFirst();
      if (!owner || owner.publisher_id !== caller.publisherId) throw errors.notFound('resource', resourceId);
      const c = request.body;
      if (c.membreFamille !== undefined && !new RegExp(ARK_PATTERN).test(c.membreFamille)) {
        throw errors.validation('invalid field', [{ path: 'body/membreFamille', message: 'must be the ARK of the family mother' }]);
      }
      await app.db
        .updateTable('resources')
        .set({
          catalogue: JSON.stringify(c),
          ...(c.typePresentation ? { type_presentation: c.typePresentation } : {}),
          ...(c.urlVignette ? { thumbnail_url: c.urlVignette } : {}),
          updated_at: app.clock(),
        })
        .where('id', '=', resourceId)
        .execute();
      return { resourceId, catalogue: c };
    },
  );
};

/** Operator, ministry and the owning publisher read the catalogue fields. */
export const catalogueReadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/resources/:resourceId/catalogue',
    {
      schema: {
        tags: ['resources'],
        summary: 'The GAR catalogue fields of a resource',
        params: ResourceParams,
        response: { 200: CatalogueView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { resourceId } = request.params;
      const row = await app.db.selectFrom('resources').select(['publisher_id', 'catalogue']).where('id', '=', resourceId).executeTakeFirst();
      if (!row) throw errors.notFound('resource', resourceId);
      assertScope(request.caller, { publisherId: row.publisher_id }, { what: 'resource', id: resourceId });
      return { resourceId, catalogue: row.catalogue as Catalogue };
    },
  );
};

const OfficialSchema = Type.Object(
  Object.fromEntries(OFFICIAL_FIELDS.map((k) => [k, Type.Optional(Type.String({ minLength: 1, maxLength: 255 }))])),
  { additionalProperties: false, title: 'OfficialFields', description: "the national directory's fields, GAR's names (nature_uai, type_uai, commune, ...)" },
);
const UaiParams = Type.Object({ uai: Type.String({ pattern: UAI_PATTERN }) });

/** The operator, or the ENT project of the establishment (its feed), sets its official fields. */
export const establishmentOfficialRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/establishments/:uai/official',
    {
      schema: {
        tags: ['ent projects'],
        summary: "Set an establishment's official fields (operator, or its ENT project)",
        description: 'Listed by the GAR establishments list; nature_uai 1xx or type_uai 1… marks a first-degree school (RG11). The whole set is given again.',
        params: UaiParams,
        body: OfficialSchema,
        response: { 200: Type.Object({ uai: Type.String(), official: OfficialSchema }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { uai } = request.params;
      if (!isValidUai(uai)) throw errors.validation('invalid UAI', [{ path: 'params/uai', message: 'the check letter does not match the 7 digits' }]);
      const row = await app.db.selectFrom('establishments').select('ent_id').where('uai', '=', uai).executeTakeFirst();
      if (!row) throw errors.notFound('establishment', uai);
      assertScope(request.caller, { entId: row.ent_id });
      const official = request.body as Record<string, string>;
      await app.db.updateTable('establishments').set({ official: JSON.stringify(official), updated_at: app.clock() }).where('uai', '=', uai).execute();
      return { uai, official };
    },
  );
};

/** Operator: a publisher's SIREN_ISNI, GAR's distributor id (idDistributeurCom, idEditeur). */
export const publisherDistributorRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/publishers/:publisherId/siren-isni',
    {
      schema: {
        tags: ['publishers'],
        summary: "Set a publisher's SIREN_ISNI (GAR distributor id)",
        params: Type.Object({ publisherId: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object({ sirenIsni: Type.String({ pattern: SIREN_ISNI_PATTERN, description: '9 digits, "_", 16 digits' }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ publisherId: Type.String(), sirenIsni: Type.String() }), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { publisherId } = request.params;
      const { sirenIsni } = request.body;
      const taken = await app.db.selectFrom('publishers').select('id').where('siren_isni', '=', sirenIsni).executeTakeFirst();
      if (taken && taken.id !== publisherId) throw errors.conflict(`SIREN_ISNI ${sirenIsni} belongs to another publisher`);
      const updated = await app.db.updateTable('publishers').set({ siren_isni: sirenIsni }).where('id', '=', publisherId).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) throw errors.notFound('publisher', publisherId);
      return { publisherId, sirenIsni };
    },
  );
};
