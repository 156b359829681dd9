import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors, type FieldError } from '../errors.js';

const MAX_REPORTED = 20;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Frame {
  value: unknown;
  parent: Frame | undefined;
  key: string;
}

const pathOf = (f: Frame): string => {
  const keys: string[] = [];
  for (let at: Frame | undefined = f; at; at = at.parent) keys.push(at.key);
  return keys.reverse().join('/');
};

/**
 * Values that pass the schemas but must not go further: text with U+0000 (PostgreSQL text and jsonb
 * cannot hold it) or a lone surrogate (it would be stored as U+FFFD, not as sent), and numbers that
 * are not finite (Ajv coerces the strings "Infinity" and "1e309" to an integer and then skips
 * minimum/maximum). Walks without recursion, so 10,000 levels of nesting are only a long loop.
 */
export function unacceptableValues(value: unknown, root: string): FieldError[] {
  const found: FieldError[] = [];
  const stack: Frame[] = [{ value, parent: undefined, key: root }];
  const text = (s: string, f: Frame, what: string) => {
    if (s.includes('\u0000')) found.push({ path: pathOf(f), message: `${what} must not contain the NUL character (U+0000)` });
    else if (LONE_SURROGATE.test(s)) found.push({ path: pathOf(f), message: `${what} must not contain a lone surrogate (not Unicode)` });
  };
  while (stack.length > 0 && found.length < MAX_REPORTED) {
    const f = stack.pop()!;
    const v = f.value;
    if (typeof v === 'string') text(v, f, 'text');
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) found.push({ path: pathOf(f), message: 'must be a finite number' });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], parent: f, key: String(i) });
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        const child: Frame = { value: (v as Record<string, unknown>)[k], parent: f, key: k };
        text(k, child, 'a property name');
        stack.push(child);
      }
    }
  }
  return found.slice(0, MAX_REPORTED);
}

/**
 * Bodies already walked where they were parsed (the large feeds, on a worker thread): walking 20 MiB
 * of objects here again would hold the event loop for a quarter of a second.
 */
export const guardedBodies = new WeakSet<object>();

async function guard(request: FastifyRequest): Promise<void> {
  const body = request.body;
  const found = [
    ...unacceptableValues(request.params, 'params'),
    ...unacceptableValues(request.query, 'querystring'),
    ...(typeof body === 'object' && body !== null && guardedBodies.has(body) ? [] : unacceptableValues(body, 'body')),
  ];
  assertAcceptable(found);
}

export function assertAcceptable(found: FieldError[]): void {
  if (found.length > 0) throw errors.validation(`${found.length} invalid field(s)`, found.slice(0, MAX_REPORTED));
}

/** Every route, after schema validation and before its handler: see unacceptableValues(). */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preHandler', guard);
}
