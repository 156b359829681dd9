import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Caller } from '../../plugins/auth.js';

const KEY: Record<'day' | 'resource' | 'uai' | 'profile', RawBuilder<string>> = {
  day: sql`day`,
  resource: sql`resource_id`,
  uai: sql`uai`,
  profile: sql`profile`,
};

/** The rows a caller may count: everything for ministry and operator, its own slice otherwise. */
function scopeOf(caller: Caller): RawBuilder<boolean> {
  switch (caller.role) {
    case 'operator':
    case 'ministry':
      return sql`true`;
    case 'publisher':
      return sql`publisher_id = ${caller.publisherId}`;
    case 'ent':
      return sql`ent_id = ${caller.entId}`;
    case 'establishment':
      // Only decisions of the project serving the UAI: another ENT naming it is refused, logged, and not its business.
      return sql`(uai, ent_id) in (select e.uai, e.ent_id from establishments e where e.uai = any(${caller.uais}::text[]))`;
  }
}

/**
 * Counts of granted and refused accesses per key. Whole days already folded into
 * access_stats_daily come from there (they outlive the log purge); later ones from the log itself.
 */
export async function countAccesses(
  db: Kysely<Database>,
  caller: Caller,
  q: { from: string; to: string; groupBy: keyof typeof KEY; watermark: string | undefined },
): Promise<Array<{ key: string; granted: number; refused: number }>> {
  const liveFrom = q.watermark && q.watermark > q.from ? q.watermark : q.from;
  const folded = q.watermark
    ? sql`select to_char(day, 'YYYY-MM-DD') as day, ent_id, uai, resource_id, publisher_id, profile, outcome, count
          from access_stats_daily where day >= ${q.from}::date and day < ${q.to}::date and day < ${q.watermark}::date`
    : sql`select null::text as day, null::text as ent_id, null::text as uai, null::text as resource_id, null::text as publisher_id,
          null::text as profile, null::text as outcome, 0 as count where false`;
  const rows = await sql<{ key: string; granted: number; refused: number }>`
    with d as (
      ${folded}
      union all
      select to_char(at at time zone 'UTC', 'YYYY-MM-DD'), ent_id, uai, resource_id, coalesce(publisher_id, ''), coalesce(profile, ''), outcome, 1
      from access_log where at >= ${`${liveFrom}T00:00:00Z`}::timestamptz and at < ${`${q.to}T00:00:00Z`}::timestamptz
    )
    select ${KEY[q.groupBy]} as key,
           coalesce(sum(count) filter (where outcome = 'granted'), 0)::int as granted,
           coalesce(sum(count) filter (where outcome = 'refused'), 0)::int as refused
    from d where ${scopeOf(caller)} group by 1 order by 1`.execute(db);
  return rows.rows;
}
