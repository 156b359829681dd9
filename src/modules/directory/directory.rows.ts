import { hash } from 'node:crypto';

/*
 * The one internal shape both feeds (JSON and GAR-ENT XML) are turned into before they reach the
 * database, so that the same content ends in the same rows whichever way it came.
 */

/** A person's project-wide fields (table people). */
export interface PersonRow {
  person_id: string;
  last_name: string;
  first_name: string;
  other_first_names: string[];
  birth_name: string | null;
  civility: string | null;
  birth_date: string | null;
  emails: string[];
  struct_rattach: string | null;
  disciplines: string[];
  hash: string;
}

/** A person at one establishment (table establishment_people). */
export interface PlacementRow {
  uai: string;
  person_id: string;
  profiles: string[];
  mefs: string[];
  subjects: string[];
}

export interface GroupRow {
  uai: string;
  code: string;
  name: string;
  kind: 'DIVISION' | 'GROUPE';
  divisions: string[];
}

export interface LinkRow {
  uai: string;
  person_id: string;
  group_code: string;
}

export interface TeachingRow extends LinkRow {
  subjects: string[];
}

export interface CodeRow {
  uai: string;
  code: string;
  name: string;
  /** MEFs only: GARMEFSTAT11, whose first four characters are the MEFSTAT4 level. */
  mefstat11?: string | null;
}

export interface ManagerRow {
  person_id: string;
  last_name: string;
  first_name: string;
  email: string;
  uais: string[];
}

export const PROFILE_SUFFIXES = ['elv', 'ens', 'doc', 'dir', 'evs', 'eta', 'col'] as const;

/** `National_ELV` and `national_elv` are `National_elv`; anything else is not a GAR profile. */
export function canonicalProfile(value: string): string | undefined {
  const m = /^national_([a-z]{3})$/i.exec(value);
  if (!m) return undefined;
  const suffix = m[1]!.toLowerCase();
  return (PROFILE_SUFFIXES as readonly string[]).includes(suffix) ? `National_${suffix}` : undefined;
}

/** Sorted and without duplicates: set-like columns compare equal whatever order the feed used. */
export const sortedSet = (values: Iterable<string>): string[] => [...new Set(values)].sort();

export interface PersonFields {
  id: string;
  lastName: string;
  firstName: string;
  otherFirstNames?: string[];
  birthName?: string | null;
  civility?: string | null;
  birthDate?: string | null;
  emails?: string[];
  structRattach?: string | null;
  disciplines?: string[];
}

export function personRow(p: PersonFields): PersonRow {
  const row: Omit<PersonRow, 'hash'> = {
    person_id: p.id,
    last_name: p.lastName,
    first_name: p.firstName,
    other_first_names: p.otherFirstNames ?? [],
    birth_name: p.birthName ?? null,
    civility: p.civility ?? null,
    birth_date: p.birthDate ?? null,
    emails: [...new Set(p.emails ?? [])],
    struct_rattach: p.structRattach ?? null,
    disciplines: sortedSet(p.disciplines ?? []),
  };
  // The hash lets an unchanged person be skipped by comparing one column instead of eleven. It only
  // detects change (no secret, no adversary), so the fastest one-shot digest will do.
  return { ...row, hash: hash('sha1', JSON.stringify(Object.values(row)), 'base64url') };
}
