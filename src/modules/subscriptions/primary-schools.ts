import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import type { FieldError } from '../../errors.js';

/*
 * A primary school (degree 1) has no teacher-librarian: GAR's subscription service refuses the
 * DOCUMENTALISTE audience for one (RG11), and publishers' clients leave librarian licences out for
 * primary schools. The broker says so at once rather than selling licences nobody can use.
 */
export async function primarySchoolErrors(
  db: Kysely<Database>,
  input: { uai: string; audiences: readonly string[]; licences: Record<string, unknown> },
): Promise<FieldError[]> {
  const est = await db.selectFrom('establishments').select('degree').where('uai', '=', input.uai).executeTakeFirst();
  if (!est || Number(est.degree) !== 1) return [];
  const errors: FieldError[] = [];
  const i = input.audiences.indexOf('DOCUMENTALISTE');
  if (i >= 0) errors.push({ path: `body/audiences/${i}`, message: `${input.uai} is a primary school: no DOCUMENTALISTE audience` });
  const librarians = input.licences.librarians;
  if (librarians !== undefined && librarians !== 0) {
    errors.push({ path: 'body/licences/librarians', message: `${input.uai} is a primary school: librarian licences must be 0` });
  }
  return errors;
}
