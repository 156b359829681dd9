import { sql, type Kysely } from 'kysely';

/*
 * A publisher may name any valid UAI in a subscription, onboarded here or not: refusing unknown
 * ones told every publisher which schools use the broker. The subscription takes effect when the
 * establishment is attached to an ENT project.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    do $$
    declare c text;
    begin
      select con.conname into c from pg_constraint con
      join pg_attribute a on a.attrelid = con.conrelid and a.attnum = any(con.conkey)
      where con.conrelid = 'subscriptions'::regclass and con.contype = 'f' and a.attname = 'uai';
      if c is not null then execute format('alter table subscriptions drop constraint %I', c); end if;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from subscriptions s where not exists (select 1 from establishments e where e.uai = s.uai)`.execute(db);
  await sql`alter table subscriptions add constraint subscriptions_uai_fkey foreign key (uai) references establishments (uai)`.execute(db);
}
