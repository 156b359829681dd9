import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sharedSchemaCompilers } from './lib/schema-compilers.js';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { DatabaseHandle } from './db/connect.js';
import { loggerOptions } from './logger.js';
import { frameworkErrors, registerErrorHandling } from './plugins/error-handler.js';
import { authPlugin } from './plugins/auth.js';
import { registerInputGuard } from './plugins/input-guard.js';
import { registerJsonBodyParser } from './plugins/json-body.js';
import { registerRateLimits } from './plugins/rate-limit.js';
import { fairSharePlugin } from './plugins/fair-share.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { v1Routes } from './routes.js';
import { OPENAPI_INFO, truthfulBodies } from './openapi-info.js';
import { createIdentityProvider, type IdentityProvider } from './saml/idp.js';
import { AccessLogWriter } from './modules/access-log/access-log.writer.js';
import { ensureMonthlyPartitions, PARTITIONED_TABLES } from './modules/maintenance/partitions.js';
import { idpMetadataRoutes } from './modules/sso/sso.routes.js';
import { samlIdpRoutes } from './doors/saml-idp/saml-idp.routes.js';
import { Metrics } from './modules/metrics/metrics.js';
import { metricsRoutes } from './modules/metrics/metrics.routes.js';
import { AppError } from './errors.js';
import { createAccess, type Access } from './access/access.js';
import { createSessions, type Sessions } from './session/sessions.js';
import { entEntryRoutes } from './doors/ent-entry/ent-entry.routes.js';
import { casRoutes } from './doors/cas/cas.routes.js';
import { oidcRoutes } from './doors/oidc/oidc.routes.js';
import { garWsRoutes } from './modules/gar-ws/gar-ws.routes.js';
import { requireRoles } from './plugins/auth.js';

export type Clock = () => Date;

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Kysely<Database>;
    database: DatabaseHandle;
    clock: Clock;
    /** Every route as registered, for the OpenAPI and access-matrix tests. */
    routeCatalog: Array<{ method: string; url: string }>;
    idp: IdentityProvider;
    accessLog: AccessLogWriter;
    metrics: Metrics;
    /** The one access path of every door: decide, release, record. */
    access: Access;
    /** Browser sessions, shared by every browser door. */
    sessions: Sessions;
  }
}

export interface AppDeps {
  /** The database the app talks to; closed with the app when `ownsDatabase` is true. */
  database: DatabaseHandle;
  ownsDatabase?: boolean;
  /** Injectable clock: tests move time instead of sleeping. */
  clock?: Clock;
  /** Creates log partitions at start (off only for tools that never touch the database). */
  maintenance?: boolean;
  /** Pino destination override, for tests that read the log. */
  logStream?: NodeJS.WritableStream;
  /** Process metrics (memory, CPU, event loop, GC) in /metrics; off for tools and most tests. */
  processMetrics?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function findUp(file: string): string {
  for (const rel of ['../', '../../']) {
    const p = fileURLToPath(new URL(rel + file, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`${file} not found next to the application`);
}

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const logger = loggerOptions(config.logLevel);
  const app = Fastify({
    logger: deps.logStream && logger && typeof logger === 'object' ? { ...logger, stream: deps.logStream } : logger,
    // A caller-supplied id is kept only if harmless, so that logs can be joined across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // JSON bodies: 1 MiB unless a route says otherwise (the directory feeds take 20 MiB; README lists them).
    bodyLimit: 1024 * 1024,
    // Path parameters as long as the longest identifier a schema accepts (an ARK: 1024 characters).
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
    // A client must send its whole request in this time (slow-loris); checked every second.
    requestTimeout: config.requestTimeoutSeconds * 1000,
    http: { connectionsCheckingInterval: 1000 },
    // Behind N proxies, X-Forwarded-For entries added by those N hops are believed, no more.
    trustProxy: (_address: string, hop: number) => hop < config.trustProxyHops,
    connectionTimeout: 60_000,
    ajv: {
      // Report every failing field at once, not just the first.
      customOptions: { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false },
    },
    schemaController: { compilersFactory: sharedSchemaCompilers as never },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  app.decorate('database', deps.database);
  app.decorate('db', deps.database.db);
  app.decorate('clock', deps.clock ?? (() => new Date()));
  const routeCatalog: Array<{ method: string; url: string }> = [];
  app.decorate('routeCatalog', routeCatalog);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeCatalog.push({ method, url: route.url });
  });
  app.decorate('idp', createIdentityProvider(config));
  const metrics = new Metrics(deps.database, deps.database.db, { processMetrics: deps.processMetrics ?? false });
  app.decorate('metrics', metrics);
  app.decorate(
    'accessLog',
    new AccessLogWriter(deps.database, (seconds, rows, ok) => {
      const result = ok ? 'ok' : 'error';
      metrics.accessLogWrite.observe({ result }, seconds);
      metrics.accessLogRows.inc({ result }, rows);
    }),
  );
  app.decorate(
    'access',
    createAccess({ database: deps.database, clock: app.clock, accessLog: app.accessLog, metrics, idoSecret: config.idoSecret, log: app.log }),
  );
  app.decorate('sessions', createSessions({ database: deps.database, clock: app.clock, config, log: app.log }));
  app.addHook('onResponse', async (request, reply) => {
    // Route patterns, never raw URLs: label values stay few whatever callers send.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  // Partitions exist before the first request can need them; the daily job keeps them ahead.
  if (deps.maintenance !== false) app.addHook('onReady', async () => {
    for (const table of PARTITIONED_TABLES) await ensureMonthlyPartitions(app.db, table, app.clock());
  });
  if (deps.ownsDatabase) app.addHook('onClose', async () => deps.database.close());
  // Node's requestTimeout covers the headers only: a body trickling in is answered 408 here, through
  // a pass-through stream so that the socket stays open for the answer.
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) return payload;
    const body = new PassThrough();
    // The body parser reports this error as a 408. A body refused before it is read (415, 413 by
    // length) has no reader: without this listener, a late error there would stop the process.
    body.on('error', () => {});
    // A route taking large uploads (an export archive) says how long its body may take.
    const seconds = (request.routeOptions.config as { bodyTimeoutSeconds?: number } | undefined)?.bodyTimeoutSeconds ?? config.requestTimeoutSeconds;
    const timer = setTimeout(() => {
      if (reply.sent) return;
      payload.unpipe(body);
      reply.header('connection', 'close');
      body.destroy(new AppError(408, 'request-timeout', 'Request timeout', `the request body did not arrive within ${seconds} s`));
    }, seconds * 1000);
    timer.unref();
    const stop = () => clearTimeout(timer);
    payload.once('end', stop);
    payload.once('close', stop);
    // An answer given without reading the body ends the wait too.
    reply.raw.once('finish', stop);
    reply.raw.once('close', stop);
    payload.pipe(body);
    return body;
  });
  const hsts = config.brokerBaseUrl.startsWith('https:');
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // On every answer; a route that needs otherwise (the SSO page's CSP, cacheable metadata) sets its own first.
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (hsts) reply.header('strict-transport-security', 'max-age=31536000');
  });

  registerErrorHandling(app);
  registerInputGuard(app);
  registerJsonBodyParser(app);
  await app.register(fastifySwagger, { openapi: OPENAPI_INFO(config), transformObject: truthfulBodies as never });
  await app.register(authPlugin, { config });
  await registerRateLimits(app, config);
  await app.register(fairSharePlugin, { config });

  await app.register(healthRoutes, { openapiPath: findUp('openapi.yaml') });
  await app.register(idpMetadataRoutes);
  await app.register(entEntryRoutes);
  await app.register(samlIdpRoutes);
  await app.register(metricsRoutes);
  await app.register(v1Routes, { prefix: '/v1' });
  await app.register(casRoutes);
  await app.register(oidcRoutes);
  // GAR's web services in GAR's shapes, for publishers' and ENTs' existing clients (README "Switching from GAR").
  await app.register(garWsRoutes({ guard: requireRoles, abonnementBase: '/abonnement', bearer: true }), { prefix: '/ws' });
  return app;
}
