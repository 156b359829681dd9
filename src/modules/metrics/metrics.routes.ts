import { timingSafeEqual, createHash } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Prometheus metrics. With METRICS_TOKEN set, the scraper presents it as a bearer token. Without
 * it, the embedded (development) mode serves loopback clients only, and a PostgreSQL deployment
 * answers 404: metrics stay closed until an operator chooses a token.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const token = app.config.metricsToken;
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics of this process (METRICS_TOKEN bearer; see README)',
        security: [{ metricsToken: [] }],
        response: {
          200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } },
          ...problems(401, 404, 429),
        },
      },
    },
    async (request, reply) => {
      if (expected !== undefined) {
        const given = request.headers.authorization;
        // Compared as digests: equal length, constant time, whatever was sent.
        if (given === undefined || !timingSafeEqual(digest(given), expected)) throw errors.unauthorized('the metrics token is required');
      } else if (app.config.databaseUrl !== undefined || !LOOPBACK.has(request.socket.remoteAddress ?? '')) {
        throw errors.notFound('route', 'GET /metrics');
      }
      const text = await app.metrics.registry.metrics();
      return reply.type(app.metrics.registry.contentType).send(text);
    },
  );
};
