/*
 * GAR's dates. Publishers' clients send `2026-09-01`, `2026-09-01T00:00:00`, `…T00:00:00.000000`
 * (Python isoformat), with or without an offset; GAR answers `2026-09-01T00:00:00.000+02:00`.
 * A date or time without an offset is French wall-clock time (Europe/Paris), as GAR reads it.
 */

// Made on first use: a time-zone formatter loads ICU's zone data, 20 ms that a start need not wait for.
let paris: Intl.DateTimeFormat | undefined;
const parisFormat = () =>
  (paris ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Paris',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }));

/** Offsets by UTC hour: Paris changes offset only on the hour, and a search formats thousands of dates. */
const offsetByHour = new Map<number, number>();

/** Minutes east of UTC in Europe/Paris at this instant. */
function parisOffsetMinutes(instant: number): number {
  const hour = Math.floor(instant / 3_600_000);
  let offset = offsetByHour.get(hour);
  if (offset === undefined) {
    if (offsetByHour.size > 10_000) offsetByHour.clear();
    offset = computeOffset(hour * 3_600_000);
    offsetByHour.set(hour, offset);
  }
  return offset;
}

function computeOffset(instant: number): number {
  const parts = parisFormat().formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((wall - Math.floor(instant / 1000) * 1000) / 60000);
}

/** The instant of a Europe/Paris wall-clock time (the earlier one when the clock goes back). */
export function parisWallTime(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): Date {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const first = guess - parisOffsetMinutes(guess) * 60000;
  // Near a change of offset the guess can sit on the other side: one more step settles it.
  return new Date(guess - parisOffsetMinutes(first) * 60000);
}

const SHAPE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** The instant a GAR date means, or undefined when it is no date at all. */
export function parseGarDate(value: string): Date | undefined {
  const m = SHAPE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const nums = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [Y, M, D, H, Mi, S] = nums;
  if (M < 1 || M > 12 || D < 1 || D > 31 || H > 23 || Mi > 59 || S > 59) return undefined;
  // A day that does not exist (31 June) would roll over silently: refuse it instead.
  if (new Date(Date.UTC(Y, M - 1, D)).getUTCDate() !== D) return undefined;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  if (zone === undefined) return parisWallTime(Y, M, D, H, Mi, S, ms);
  let offset = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
    if (Math.abs(offset) > 14 * 60) return undefined;
  }
  return new Date(Date.UTC(Y, M - 1, D, H, Mi, S, ms) - offset * 60000);
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/** `2026-09-01T00:00:00.000+02:00`: the instant in Europe/Paris time with its offset, as GAR answers. */
export function formatGarDate(value: Date | string): string {
  const instant = new Date(value).getTime();
  const offset = parisOffsetMinutes(instant);
  const wall = new Date(instant + offset * 60000);
  const sign = offset < 0 ? '-' : '+';
  return (
    `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}.${pad(wall.getUTCMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}
