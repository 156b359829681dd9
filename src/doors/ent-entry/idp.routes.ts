import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, type FieldError } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { EntIdParam } from '../../modules/ent-projects/ent-projects.schemas.js';
import { findProject } from '../../modules/ent-projects/ent-projects.repository.js';
import { acsProblem, checkCertificate } from '../../modules/resources/resources.service.js';
import { parseIdpMetadata } from '../../saml/idp-metadata.js';
import { SpMetadataError } from '../../saml/sp-metadata.js';
import { findIdp, projectsSharingIdp, toIdpView, upsertIdp, type IdpValues } from './ent-entry.repository.js';
import { IdpInput, IdpSchema, IdpWritten } from './idp.schemas.js';

const tags = ['onboarding'];
const Params = Type.Object({ entId: EntIdParam });

/** Checks the IdP part, listing every problem at once; expired certificates of a rollover are dropped with a warning. */
function resolveIdp(input: IdpInput, now: Date): { values: IdpValues; warnings: string[] } {
  const problemsFound: FieldError[] = [];
  const warnings: string[] = [];
  let entityId: string;
  let ssoUrl: string | undefined;
  let certs: string[];
  let metadataXml: string | null = null;
  let sloUrl: string | undefined;
  const certField = 'metadataXml' in input ? 'body/metadataXml (signing KeyDescriptor)' : 'body/signingCertificates';
  if ('metadataXml' in input) {
    try {
      const parsed = parseIdpMetadata(input.metadataXml);
      entityId = parsed.entityId;
      ssoUrl = parsed.ssoUrl;
      certs = parsed.signingCertificates;
      sloUrl = parsed.sloUrl;
      metadataXml = input.metadataXml;
    } catch (err) {
      if (err instanceof SpMetadataError) throw errors.validation(err.message, [{ path: 'body/metadataXml', message: err.message }]);
      throw err;
    }
    if (!ssoUrl) problemsFound.push({ path: 'body/metadataXml', message: 'has no HTTP-Redirect SingleSignOnService' });
  } else {
    entityId = input.entityId.trim();
    ssoUrl = input.ssoUrl;
    certs = input.signingCertificates;
    sloUrl = input.sloUrl;
  }
  if (entityId === '' || entityId.length > 1024) problemsFound.push({ path: 'body/entityId', message: 'must be 1 to 1024 characters' });
  const ssoWhy = ssoUrl ? acsProblem(ssoUrl) : undefined;
  const sloWhy = sloUrl ? acsProblem(sloUrl) : undefined;
  if (sloWhy) problemsFound.push({ path: 'metadataXml' in input ? 'body/metadataXml (SingleLogoutService)' : 'body/sloUrl', message: sloWhy });
  if (ssoWhy) problemsFound.push({ path: 'metadataXml' in input ? 'body/metadataXml (SingleSignOnService)' : 'body/ssoUrl', message: ssoWhy });
  const pems: string[] = [];
  certs.forEach((c, i) => {
    const check = checkCertificate(c, now);
    if ('pem' in check) pems.push(check.pem);
    else if (check.problem.startsWith('expired')) warnings.push(`signing certificate ${i + 1} ${check.problem}: left out`);
    else problemsFound.push({ path: `${certField}/${i}`, message: check.problem });
  });
  if (pems.length === 0 && problemsFound.length === 0) problemsFound.push({ path: certField, message: 'no valid signing certificate' });
  if (problemsFound.length > 0) throw errors.validation(problemsFound.map((p) => `${p.path} ${p.message}`).join('; '), problemsFound);
  return {
    values: {
      entity_id: entityId,
      sso_url: ssoUrl!,
      signing_certificates: pems,
      metadata_xml: metadataXml,
      attr_ent_id: input.attributeNames?.entId ?? 'idEnt',
      attr_person_id: input.attributeNames?.personId ?? 'GARPersonIdentifiant',
      allow_sha1: input.allowSha1 ?? true,
      slo_url: sloUrl ?? null,
    },
    warnings,
  };
}

/** Operator: the SAML IdP of an ENT project, which the broker (as SP) sends its entry links' logins to. */
export const entIdpRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/ent-projects/:entId/idp',
    {
      schema: {
        tags,
        summary: 'Register or replace the SAML IdP of an ENT project',
        description:
          'Metadata XML (hardened as SP metadata: at most 256 KiB, no DOCTYPE, an md:EntityDescriptor with one ' +
          'IDPSSODescriptor and an HTTP-Redirect SingleSignOnService) or the same fields directly. Several projects ' +
          'may register the same IdP entityID. `attributeNames` defaults to idEnt / GARPersonIdentifiant; ' +
          '`allowSha1` defaults to true (deployed ENT IdPs sign with RSA-SHA1).',
        params: Params,
        body: IdpInput,
        response: { 200: IdpWritten, 201: IdpWritten, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { entId } = request.params;
      const { values, warnings } = resolveIdp(request.body, app.clock());
      if (!(await findProject(app.db, entId))) throw errors.notFound('ENT project', entId);
      const { row, created } = await upsertIdp(app.db, entId, values, app.clock());
      const shared = await projectsSharingIdp(app.db, row.entity_id, entId);
      return reply.status(created ? 201 : 200).send({ ...toIdpView(row, shared), warnings });
    },
  );

  app.get(
    '/ent-projects/:entId/idp',
    {
      schema: {
        tags,
        summary: 'Read the SAML IdP registered for an ENT project',
        params: Params,
        response: { 200: IdpSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const row = await findIdp(app.db, request.params.entId);
      if (!row) throw errors.notFound('IdP of ENT project', request.params.entId);
      return toIdpView(row, await projectsSharingIdp(app.db, row.entity_id, row.ent_id));
    },
  );
};
