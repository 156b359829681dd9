import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

/** Tables range-partitioned by month on `at`. */
export const PARTITIONED_TABLES = ['access_log', 'audit_log'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

const monthStart = (year: number, month: number) => new Date(Date.UTC(year, month, 1));
export interface Partition {
  name: string;
  /** Undefined for the default partition. */
  from?: Date;
  to?: Date;
}

/** '2026-11-01 01:00:00+01' (session time zone) as a Date. */
const pgTimestamp = (text: string) => new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));

/** The partitions of `table` with their bounds, read from the catalog. */
export async function listPartitions(db: Kysely<Database>, table: PartitionedTable): Promise<Partition[]> {
  const { rows } = await sql<{ name: string; bound: string }>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
    where p.relname = ${table} order by c.relname`.execute(db);
  return rows.map((r) => {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(r.bound);
    return m ? { name: r.name, from: pgTimestamp(m[1]!), to: pgTimestamp(m[2]!) } : { name: r.name };
  });
}

export const partitionName = (table: string, from: Date) =>
  `${table}_p${from.getUTCFullYear()}_${String(from.getUTCMonth() + 1).padStart(2, '0')}`;

/**
 * Creates the partitions of the current month and the next `ahead` months (UTC). Rows that an
 * earlier gap sent to the default partition are moved into the new partition, which PostgreSQL
 * requires before it can attach the range. Idempotent; run at start and daily, never per request.
 */
export async function ensureMonthlyPartitions(db: Kysely<Database>, table: PartitionedTable, now: Date, ahead = 2): Promise<string[]> {
  const created: string[] = [];
  for (let i = 0; i <= ahead; i++) {
    const from = monthStart(now.getUTCFullYear(), now.getUTCMonth() + i);
    const to = monthStart(from.getUTCFullYear(), from.getUTCMonth() + 1);
    const name = partitionName(table, from);
    const exists = await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = ${name}`.execute(db);
    if (exists.rows[0]!.n > 0) continue;
    const create = async (trx: Kysely<Database>): Promise<boolean> => {
      const fromIso = from.toISOString();
      const toIso = to.toISOString();
      const stray = sql.raw(`${name}_stray`);
      const def = sql.raw(`${table}_default`);
      await sql`lock table ${sql.table(table)} in share row exclusive mode`.execute(trx);
      // Checked again under the lock: replicas starting together would otherwise both create it.
      const again = await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = ${name}`.execute(trx);
      if (again.rows[0]!.n > 0) return false;
      await sql`create temp table ${stray} on commit drop as select * from ${def} where at >= ${sql.lit(fromIso)} and at < ${sql.lit(toIso)}`.execute(trx);
      await sql`delete from ${def} where at >= ${sql.lit(fromIso)} and at < ${sql.lit(toIso)}`.execute(trx);
      await sql`create table ${sql.raw(name)} partition of ${sql.table(table)} for values from (${sql.lit(fromIso)}) to (${sql.lit(toIso)})`.execute(trx);
      await sql`insert into ${sql.table(table)} select * from ${stray}`.execute(trx);
      return true;
    };
    // Inside the retention run's transaction already, or on its own.
    const made = db.isTransaction ? await create(db) : await db.transaction().execute(create);
    if (made) created.push(name);
  }
  return created;
}
