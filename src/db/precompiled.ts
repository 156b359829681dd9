import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './database.js';
import type { DatabaseHandle } from './connect.js';

/*
 * A hot query built once with Kysely and then run as a named prepared statement: Kysely does not
 * rebuild and compile it on every call, and PostgreSQL parses and plans it once per connection.
 * The query is compiled with a marker in place of each argument; a call only fills the markers'
 * slots of the parameter list (constants the builder inlined as parameters stay as compiled).
 */

const ARG = Symbol('precompiled argument');
type Marker = { readonly [ARG]: string };
type Slot = { arg: string } | { value: unknown };

export interface Precompiled<A> {
  run<R>(database: Pick<DatabaseHandle, 'db' | 'prepared'>, args: A): Promise<R[]>;
  /** The SQL text and parameters a call sends (EXPLAIN in the benches). */
  compiled(db: Kysely<Database>, args: A): { sql: string; parameters: unknown[] };
}

/**
 * `build` receives markers typed as the arguments, so the builder type-checks as usual; it must use
 * them only as values (never branch on them), since it runs once for every later call.
 */
// A query builder's compile() takes no argument, a raw `sql` one takes the database: both fit.
type Buildable = { compile(db: Kysely<Database>): CompiledQuery<unknown> };

export function precompiled<A extends object>(name: string, build: (db: Kysely<Database>, args: A) => Buildable): Precompiled<A> {
  // Per database: the server has one, tests and tools may open several (PostgreSQL and PGlite).
  const byDb = new WeakMap<Kysely<Database>, { sql: string; slots: Slot[] }>();
  const compile = (db: Kysely<Database>) => {
    let c = byDb.get(db);
    if (!c) {
      const markers = new Proxy({} as A, { get: (_t, key) => ({ [ARG]: String(key) }) as Marker });
      const q = build(db, markers).compile(db);
      const slots = q.parameters.map((p): Slot => (p !== null && typeof p === 'object' && ARG in p ? { arg: (p as Marker)[ARG] } : { value: p }));
      c = { sql: q.sql, slots };
      byDb.set(db, c);
    }
    return c;
  };
  const compiled = (db: Kysely<Database>, args: A) => {
    const c = compile(db);
    return { sql: c.sql, parameters: c.slots.map((s) => ('arg' in s ? (args as Record<string, unknown>)[s.arg] : s.value)) };
  };
  return {
    compiled,
    run: <R>(database: Pick<DatabaseHandle, 'db' | 'prepared'>, args: A) => database.prepared<R>(name, compiled(database.db, args)),
  };
}

// A lone surrogate goes as U+FFFD, as a text parameter would carry it; PostgreSQL's json refuses its escape.
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };
const wellFormed = (_key: string, v: unknown) => (typeof v === 'string' && !(v as unknown as WellFormed).isWellFormed() ? (v as unknown as WellFormed).toWellFormed() : v);

/** Rows as one json parameter, for a multi-row INSERT … SELECT FROM json_to_recordset($1) whose text never changes. */
export const jsonRows = (rows: object[]): string => JSON.stringify(rows, wellFormed);
