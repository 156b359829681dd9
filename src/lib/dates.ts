/** A `date` column as YYYY-MM-DD, whichever driver read it (pg gives strings, PGlite Dates). */
export const isoDay = (v: string | Date): string => (typeof v === 'string' ? v.slice(0, 10) : v.toISOString().slice(0, 10));
