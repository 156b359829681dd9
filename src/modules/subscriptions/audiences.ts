import { sql, type RawBuilder } from 'kysely';

/** GAR's target audiences (publicCible) and the directory profiles each one covers. */
export const AUDIENCE_PROFILES = {
  ELEVE: ['National_elv'],
  ENSEIGNANT: ['National_ens'],
  DOCUMENTALISTE: ['National_doc'],
  'AUTRE PERSONNEL': ['National_dir', 'National_evs', 'National_eta', 'National_col'],
} as const;

export type Audience = keyof typeof AUDIENCE_PROFILES;
/** Also the priority order: a person with several profiles counts once, in the first audience that applies. */
export const AUDIENCES = Object.keys(AUDIENCE_PROFILES) as Audience[];

/** Which licence count of the per-audience form pays for each audience. */
export const AUDIENCE_LICENCE_KEY = {
  ELEVE: 'pupils',
  ENSEIGNANT: 'teachers',
  DOCUMENTALISTE: 'librarians',
  'AUTRE PERSONNEL': 'otherStaff',
} as const satisfies Record<Audience, string>;

export const PROFILES = AUDIENCES.flatMap((a) => [...AUDIENCE_PROFILES[a]]);

/** The canonical spelling of a profile given in any case (`national_ELV` → `National_elv`). */
export function canonicalProfile(value: string): string | undefined {
  return PROFILES.find((p) => p.toLowerCase() === value.toLowerCase());
}

export function audienceOfProfile(profile: string): Audience | undefined {
  return AUDIENCES.find((a) => (AUDIENCE_PROFILES[a] as readonly string[]).includes(profile));
}

/** The audience a person with these profiles counts in, among `audiences`; undefined when none applies. */
export function audienceOf(profiles: readonly string[], audiences: readonly string[]): Audience | undefined {
  return AUDIENCES.find((a) => audiences.includes(a) && AUDIENCE_PROFILES[a].some((p) => profiles.includes(p)));
}

/** The profiles that the given audiences cover, as one flat list. */
export function profilesOf(audiences: readonly string[]): string[] {
  return AUDIENCES.filter((a) => audiences.includes(a)).flatMap((a) => [...AUDIENCE_PROFILES[a]]);
}

/**
 * SQL twin of audienceOf(): `profiles` is a text[] expression, `audiences` a text[] expression.
 * Built from AUDIENCE_PROFILES so that the mapping lives in one place.
 */
export function audienceCaseSql(profiles: RawBuilder<unknown>, audiences: RawBuilder<unknown>): RawBuilder<string | null> {
  const branches = AUDIENCES.map(
    (a) => sql`when ${sql.lit(a)} = any(${audiences}) and ${profiles} && ${sql.raw(`array[${AUDIENCE_PROFILES[a].map((p) => `'${p}'`).join(',')}]::text[]`)} then ${sql.lit(a)}`,
  );
  return sql<string | null>`(case ${sql.join(branches, sql` `)} end)`;
}
