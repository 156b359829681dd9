import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

const REDIS_NAMESPACE = 'gar-broker:rate:';
const REDIS_WARNING_EVERY_MS = 60_000;

/**
 * Per-caller request limits, counted per minute. Registered at the root, before any access level's
 * guard, so that refused tokens count against their address too. With RATE_LIMIT_REDIS_URL the
 * counters live in Redis and every replica sees the same count; without it each process counts alone.
 */
export async function registerRateLimits(app: FastifyInstance, config: Config): Promise<void> {
  if (config.rateLimitPerMinute <= 0) return;
  const redis = config.rateLimitRedisUrl ? await sharedCounters(app, config.rateLimitRedisUrl, config.rateLimitRedisTimeoutMs) : undefined;
  await app.register(fastifyRateLimit, {
    global: false,
    timeWindow: 60_000,
    // Verified token subject and role (the auth hook ran first), else the client address.
    keyGenerator: (request) => {
      const who = request.identity;
      return who && !(who instanceof AppError) ? `${who.role}:${who.sub}` : `ip:${request.ip}`;
    },
    max: (request) => {
      const who = request.identity;
      return who && !(who instanceof AppError) && who.role === 'ent' ? config.rateLimitEntPerMinute : config.rateLimitPerMinute;
    },
    // Probes come from the platform, often all from one address: never throttled.
    allowList: (request) => request.url === '/health' || request.url === '/ready',
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'too-many-requests', 'Too many requests', `more than ${context.max} requests per minute; retry in ${context.after}`),
    // A Redis outage lets requests through unlimited rather than stopping every SSO.
    ...(redis ? { redis, nameSpace: REDIS_NAMESPACE, skipOnError: true } : {}),
  });
  app.addHook('onRequest', app.rateLimit());
}

/** ioredis is loaded only when counters are shared: a single-process broker never pays for it. */
async function sharedCounters(app: FastifyInstance, url: string, commandTimeout: number): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    connectTimeout: 1_000,
    // A counter that cannot be reached fails at once (and is skipped) instead of queueing requests.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
  });
  let lastWarning = 0;
  redis.on('error', (err: Error) => {
    // ioredis retries on its own; one line a minute is enough to tell the operator.
    if (Date.now() - lastWarning < REDIS_WARNING_EVERY_MS) return;
    lastWarning = Date.now();
    app.log.warn({ err: { message: err.message } }, 'rate-limit counters unreachable in Redis: requests pass unlimited meanwhile');
  });
  app.addHook('onReady', async () => {
    // Counting starts with the first request when Redis is up at start; a down Redis does not block it.
    if (redis.status === 'ready') return;
    // `once` rejects on the first 'error' event: a refused connection ends the wait early.
    const ready = once(redis, 'ready').then(
      () => true,
      () => false,
    );
    const waited = await Promise.race([ready, new Promise<false>((r) => setTimeout(() => r(false), 2_000).unref())]);
    if (!waited) app.log.warn('rate-limit counters: Redis not reachable at start; requests pass unlimited until it is');
  });
  app.addHook('onClose', async () => {
    redis.disconnect();
  });
  return redis;
}
