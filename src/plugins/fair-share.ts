import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { AppError, errors } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Opt a route into fair sharing between callers: `config: { fairShare: true }`. */
    fairShare?: boolean;
  }
}

export interface FairShareLimits {
  /** Requests running at once, all callers together. */
  maxInFlight: number;
  /** Requests running at once for one caller. */
  perCaller: number;
  /** Requests of one caller waiting for a slot; beyond, a 503 at once. */
  queuePerCaller: number;
  /** Longest wait for a slot before a 503. */
  maxWaitMs: number;
}

interface Waiter {
  start: () => void;
  fail: (err: AppError) => void;
  timer: NodeJS.Timeout;
}

/** Seconds a refused caller is told to wait: slots free in milliseconds, so one second is plenty. */
const RETRY_AFTER_SECONDS = 1;

export class FairShareBusy extends AppError {
  constructor(detail: string) {
    super(503, 'unavailable', 'Service unavailable', detail);
  }
}

/**
 * Concurrency slots shared fairly between callers. Each caller may run at most `perCaller` requests
 * at once and the whole route at most `maxInFlight`; a request that cannot run waits in its caller's
 * own queue, and a freed slot goes to the waiting caller with the fewest requests running, so a caller
 * flooding the route waits behind itself, not in front of others. Queues are short and waits bounded: under overload the
 * answer is a fast 503 with Retry-After, never an unbounded queue.
 */
export class FairShareGate {
  private inFlight = 0;
  private readonly running = new Map<string, number>();
  /** Insertion order is the round-robin order: a served caller moves to the back. */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly limits: FairShareLimits) {}

  get stats() {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.length;
    return { inFlight: this.inFlight, queued, callers: this.running.size };
  }

  /** Resolves with the function that frees the slot, or rejects with a 503. */
  enter(key: string): Promise<() => void> {
    if (this.canRun(key) && !this.queues.has(key)) return Promise.resolve(this.start(key));
    const queue = this.queues.get(key) ?? [];
    if (queue.length >= this.limits.queuePerCaller) {
      return Promise.reject(new FairShareBusy('too many of your requests are waiting; try again shortly'));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => resolve(this.start(key)),
        fail: reject,
        timer: setTimeout(() => {
          const q = this.queues.get(key);
          const at = q ? q.indexOf(waiter) : -1;
          if (at === -1) return;
          q!.splice(at, 1);
          if (q!.length === 0) this.queues.delete(key);
          waiter.fail(new FairShareBusy('the service is busy; try again shortly'));
        }, this.limits.maxWaitMs),
      };
      queue.push(waiter);
      this.queues.set(key, queue);
    });
  }

  private canRun(key: string): boolean {
    return this.inFlight < this.limits.maxInFlight && (this.running.get(key) ?? 0) < this.limits.perCaller;
  }

  private start(key: string): () => void {
    this.inFlight++;
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      const n = (this.running.get(key) ?? 1) - 1;
      if (n === 0) this.running.delete(key);
      else this.running.set(key, n);
      this.dispatch();
    };
  }

  /**
   * Hands each free slot to the waiting caller with the fewest requests running (the earliest
   * served last on a tie), so a light caller goes before a flooding one however long its queue.
   */
  private dispatch(): void {
    while (this.inFlight < this.limits.maxInFlight && this.queues.size > 0) {
      let best: string | undefined;
      let fewest = Infinity;
      for (const key of this.queues.keys()) {
        const n = this.running.get(key) ?? 0;
        if (n < fewest && n < this.limits.perCaller) {
          best = key;
          fewest = n;
        }
      }
      if (best === undefined) return;
      const queue = this.queues.get(best)!;
      const waiter = queue.shift()!;
      this.queues.delete(best);
      if (queue.length > 0) this.queues.set(best, queue);
      clearTimeout(waiter.timer);
      waiter.start();
    }
  }
}

/** Who a request is, for sharing: the ENT project, publisher or token subject; else the address. */
export function fairShareKey(request: FastifyRequest): string {
  const id = request.identity;
  if (id && !(id instanceof AppError)) {
    if (id.role === 'ent') return `ent:${id.entId}`;
    if (id.role === 'publisher') return `publisher:${id.publisherId}`;
    return `${id.role}:${id.sub}`;
  }
  return `ip:${request.ip}`;
}

/**
 * Registered after authentication (the caller is known) and the rate limiter. A route opts in with
 * `config: { fairShare: true }`; all opted-in routes share one gate, since they share the database.
 */
export const fairSharePlugin = fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    const c = opts.config;
    if (c.fairShareMaxInFlight === 0) return;
    const gate = new FairShareGate({
      maxInFlight: c.fairShareMaxInFlight,
      perCaller: Math.min(c.fairSharePerCaller, c.fairShareMaxInFlight),
      queuePerCaller: c.fairShareQueuePerCaller,
      maxWaitMs: c.fairShareMaxWaitMs,
    });
    app.decorate('fairShare', gate);
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config?.fairShare !== true) return;
      let release: () => void;
      try {
        release = await gate.enter(fairShareKey(request));
      } catch (err) {
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        throw err instanceof AppError ? err : errors.unavailable();
      }
      // Freed when the answer is sent or the client goes away, whichever comes first.
      reply.raw.once('finish', release);
      reply.raw.once('close', release);
    });
  },
  { name: 'fair-share', dependencies: ['auth'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    fairShare?: FairShareGate;
  }
}
