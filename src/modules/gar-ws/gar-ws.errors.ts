import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { isDatabaseUnavailable } from '../../plugins/error-handler.js';
import { el, xmlDocument, XmlRefused } from './gar-xml.js';

/** A refusal of GAR's web services: every problem found, answered as <Erreur>. */
export class GarError extends Error {
  constructor(
    readonly status: number,
    readonly problems: string[],
  ) {
    super(problems.join('; '));
  }
}

export const garError = (status: number, ...problems: string[]) => new GarError(status, problems);

/** JSON when the caller asks for it, XML otherwise (one ENT sends no Accept header and parses XML). */
export function wantsJson(request: FastifyRequest): boolean {
  const accept = String(request.headers.accept ?? '');
  return /application\/json|\+json/i.test(accept) && !/^\s*(application|text)\/xml/i.test(accept);
}

/** GAR's `Resource`: the path without the query, relative to the service root. */
function resourceOf(request: FastifyRequest): string {
  return request.url.split('?')[0]!.replace(/^\/ws\/(abonnement\/)?/, '').replace(/^\//, '').slice(0, 1100);
}

export function sendGarError(request: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
  const body = { Code: STATUS_CODES[status] ?? String(status), Message: message, Resource: resourceOf(request) };
  // Errors are never gzip-encoded: deployed ENT modules read them raw.
  reply.removeHeader('content-encoding');
  if (wantsJson(request)) return reply.status(status).type('application/json; charset=utf-8').send(JSON.stringify({ Erreur: body }));
  return reply
    .status(status)
    .type('application/xml; charset=utf-8')
    .send(xmlDocument(el('Erreur', [el('Code', body.Code), el('Message', body.Message), el('Resource', body.Resource)])));
}

interface ValidationItem {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** The error handler of the GAR routes: the same decisions as the API's, answered in GAR's shape. */
export function registerGarErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError | AppError | GarError, request, reply) => {
    if (err instanceof GarError) return sendGarError(request, reply, err.status, err.message);
    if (err instanceof AppError) {
      return sendGarError(request, reply, err.status, err.detail ?? err.title);
    }
    if (err instanceof XmlRefused) return sendGarError(request, reply, 400, `the XML body is not acceptable: ${err.message}`);
    const fe = err as FastifyError & { validation?: ValidationItem[]; validationContext?: string };
    if (fe.validation) {
      const list = fe.validation.map((v) => `${fe.validationContext ?? 'request'}${v.instancePath ?? ''} ${v.message ?? 'is invalid'}`);
      return sendGarError(request, reply, 400, list.join('; '));
    }
    if ((err as { code?: string }).code === '23505') return sendGarError(request, reply, 409, 'existe deja: an object with this identifier already exists');
    if (isDatabaseUnavailable(err)) {
      request.log.error({ err: { message: err.message } }, 'database unavailable');
      reply.header('retry-after', '5');
      return sendGarError(request, reply, 503, 'the service cannot reach its database; try again shortly');
    }
    const status = fe.statusCode;
    if (status !== undefined && status >= 400 && status < 500) return sendGarError(request, reply, status, fe.message);
    request.log.error({ err }, 'unexpected error');
    return sendGarError(request, reply, 500, `unexpected error; quote request id ${request.id} to the operator`);
  });
}
