import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { certificateGuard } from './client-certificates.js';
import { registerGarErrors, sendGarError } from './gar-ws.errors.js';
import { garWsRoutes } from './gar-ws.routes.js';

export interface CertificateListenerTls {
  /** The broker's server certificate chain and key (PEM). */
  cert: string;
  key: string;
  /** The CAs whose client certificates are read (PEM bundle). */
  ca: string;
}

/**
 * The second listener, where GAR's clients call with a client certificate, at GAR's own root paths
 * (`PUT /{idAbonnement}`, `GET /abonnements`, `GET /ressources/...`). It shares the main app's
 * database, configuration and clock. Without `tls` it speaks plain HTTP, for a TLS-terminating proxy
 * that forwards the certificate in a header (accepted only with TRUST_PROXY_HOPS > 0).
 *
 * `requestCert` asks every client for a certificate; `rejectUnauthorized: false` lets the handshake
 * finish so that a missing, untrusted or unmapped certificate is refused in HTTP with its reason
 * logged, instead of a bare TLS alert nobody can diagnose.
 */
export async function buildCertificateListener(app: FastifyInstance, tls?: CertificateListenerTls): Promise<FastifyInstance> {
  const config = app.config;
  // Fastify's types tie the instance to its server kind (http or https); both serve the same plugin.
  const ws = (Fastify as unknown as (o: object) => FastifyInstance)({
    loggerInstance: app.log.child({ listener: 'gar-ws' }),
    ...(tls ? { https: { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' as const } } : {}),
    genReqId: () => randomUUID(),
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 1024 },
    requestTimeout: config.requestTimeoutSeconds * 1000,
    trustProxy: (_address: string, hop: number) => hop < config.trustProxyHops,
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false } },
  });
  ws.decorate('config', config);
  ws.decorate('db', app.db);
  ws.decorate('clock', app.clock);
  ws.decorateRequest('caller', null as never);
  ws.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  ws.addHook('onResponse', async (request, reply) => {
    // The main app's request metric, labelled by GAR's route patterns.
    const route = `gar-ws ${request.routeOptions.url ?? 'unmatched'}`;
    app.metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  registerGarErrors(ws);
  ws.setNotFoundHandler((request, reply) => sendGarError(request, reply, 404, `no service at ${request.method} ${request.url.split('?')[0]}`));
  await ws.register(garWsRoutes({ guard: certificateGuard(app.db, config.trustProxyHops, app.clock), abonnementBase: '' }));
  return ws;
}
