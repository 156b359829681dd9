/** A `date` column as YYYY-MM-DD, whichever driver read it (pg gives strings, PGlite Dates). */
export const isoDay = (v: string | Date): string => (typeof v === 'string' ? v.slice(0, 10) : v.toISOString().slice(0, 10));

/**
 * Why a birth date is refused, or undefined if it is a real calendar day in a plausible range (from
 * 1900 to today: the directory holds pupils and staff). Checked before the database sees it, so a
 * bad value is a 400 naming its record, not a cast error echoing the value.
 */
export function birthDateProblem(value: string, today: Date): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return 'must be a date, YYYY-MM-DD';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1900) return 'must be a plausible birth date (from 1900 to today)';
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (mo < 1 || mo > 12 || day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) {
    return 'must be a calendar date';
  }
  if (y < 1900 || day.getTime() > today.getTime()) return 'must be a plausible birth date (from 1900 to today)';
  return undefined;
}
