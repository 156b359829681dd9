import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';

const WATERMARK = 'stats_aggregated_until';

export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

export async function statsWatermark(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('maintenance_state').select('value').where('key', '=', WATERMARK).executeTakeFirst();
  return row?.value;
}

/**
 * Folds every whole UTC day of the access log not yet folded into access_stats_daily (counts
 * only, no person), then moves the watermark to today. Idempotent: a day is recounted, not added.
 */
export async function aggregateDailyStats(db: Kysely<Database>, now: Date): Promise<{ from?: string; until: string }> {
  const today = utcDay(now);
  let from = await statsWatermark(db);
  if (from === undefined) {
    const oldest = await db.selectFrom('access_log').select((eb) => eb.fn.min('at').as('at')).executeTakeFirst();
    from = oldest?.at ? utcDay(new Date(oldest.at)) : today;
  }
  if (from < today) {
    await sql`
      insert into access_stats_daily (day, ent_id, uai, resource_id, publisher_id, profile, outcome, count)
      select (at at time zone 'UTC')::date, ent_id, uai, resource_id, coalesce(publisher_id, ''), coalesce(profile, ''), outcome, count(*)::int
      from access_log where at >= ${`${from}T00:00:00Z`}::timestamptz and at < ${`${today}T00:00:00Z`}::timestamptz
      group by 1, 2, 3, 4, 5, 6, 7
      on conflict (day, ent_id, uai, resource_id, publisher_id, profile, outcome) do update set count = excluded.count`.execute(db);
  }
  await db
    .insertInto('maintenance_state')
    .values({ key: WATERMARK, value: today })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: today }))
    .execute();
  return { from, until: today };
}
