import pg from 'pg';

/*
 * How rows are read from PostgreSQL, wherever pg runs: the server's pool and the feed threads
 * (src/modules/directory/feed-apply.ts) must read the same values, and pg's parsers are per thread.
 */

// bigint counts and ids are far below 2^53 here; numbers are easier for callers than strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));
// Dates stay strings: a calendar date has no time zone to shift.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

/** Set on errors raised while opening a database connection (an outage: 503, whatever the SQLSTATE). */
export const UNREACHABLE = Symbol.for('gar-broker.databaseUnreachable');

export function markUnreachable(err: unknown): unknown {
  if (err !== null && typeof err === 'object') Object.defineProperty(err, UNREACHABLE, { value: true });
  return err;
}

export { pg };
