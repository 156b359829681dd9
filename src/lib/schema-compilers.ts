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
 */

type Compile<R, F> = (route: R) => F;

function remembering<R extends { schema: unknown }, F>(compile: Compile<R, F>, keyOf: (route: R) => string): Compile<R, F> {
  const compiled = new Map<string, F>();
  return (route) => {
    const key = keyOf(route);
    let fn = compiled.get(key);
    if (fn === undefined) {
      fn = compile(route);
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
