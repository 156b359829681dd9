import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

/*
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for responses), shared by
 * every app instance of the process and remembering what they compiled. By default each instance
 * compiles every route schema anew: half a second to a few seconds of CPU per app built, paid by
 * every test that builds one and by the second listener (GAR's web services) at start. A compiled
 * function depends only on its schema and the compiler options, both part of the key.
 * (Given as a compilers factory, Fastify hands request-header schemas over without lower-casing
 * their property names, as for any custom compiler: declare header names in lower case.)
 *
 * A schema is compiled when its route first uses it, not when the route is declared: compiling all
 * of them is 0.4 s of CPU between a start and /ready, and a test file uses a few routes of hundreds.
 * The server compiles the rest in the background once it listens (`compilePendingSchemas`).
 */

/** Compilations not done yet, in declaration order; each removes itself once done. */
const pending = new Set<() => void>();

/**
 * `compile` deferred to the first call. Fastify reads a failed validation's `errors` from the
 * function it was given, so the wrapper passes that property through.
 */
export function compiledOnFirstUse<F extends (...args: never[]) => unknown>(compile: () => F): F {
  let fn: F | undefined;
  const ensure = (): F => {
    if (fn === undefined) {
      fn = compile();
      pending.delete(ensure);
    }
    return fn;
  };
  pending.add(ensure);
  const deferred = ((...args: Parameters<F>) => ensure()(...args)) as unknown as F;
  Object.defineProperty(deferred, 'errors', { get: () => (fn as { errors?: unknown } | undefined)?.errors ?? null, configurable: true });
  return deferred;
}

export const pendingSchemaCount = (): number => pending.size;

/**
 * Compiles what no request has needed yet, one schema per turn of the event loop so that requests
 * arriving meanwhile are served between two compilations. Resolves when none is left.
 */
export async function compilePendingSchemas(): Promise<number> {
  let done = 0;
  for (const ensure of pending) {
    ensure();
    done += 1;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done;
}

type Compile<R, F> = (route: R) => F;

function remembering<R extends { schema: unknown }, F>(compile: Compile<R, F>, keyOf: (route: R) => string): Compile<R, F> {
  const compiled = new Map<string, F>();
  return (route) => {
    const key = keyOf(route);
    let fn = compiled.get(key);
    if (fn === undefined) {
      fn = compiledOnFirstUse(() => compile(route) as never) as F;
      compiled.set(key, fn);
    }
    return fn;
  };
}

/** Per compiler-options key, the one remembering compiler (the pools below already share per key). */
function perOptions<A extends unknown[], C>(build: (...args: A) => C): (...args: A) => C {
  const byKey = new Map<string, C>();
  return (...args) => {
    const key = JSON.stringify(args);
    let c = byKey.get(key);
    if (c === undefined) {
      c = build(...args);
      byKey.set(key, c);
    }
    return c;
  };
}

const validatorPool = AjvCompiler();
const serializerFactory = SerializerSelector();

type ValidatorRoute = { schema: unknown; httpPart?: string };
type SerializerRoute = { schema: unknown };

export const sharedSchemaCompilers = {
  buildValidator: perOptions((externalSchemas: unknown, options: unknown) =>
    remembering(validatorPool(externalSchemas as never, options as never) as Compile<ValidatorRoute, unknown>, (r) => `${r.httpPart}\0${JSON.stringify(r.schema)}`),
  ),
  buildSerializer: perOptions((externalSchemas: unknown, options: unknown) =>
    remembering(serializerFactory(externalSchemas as never, options as never) as Compile<SerializerRoute, unknown>, (r) => JSON.stringify(r.schema)),
  ),
};
