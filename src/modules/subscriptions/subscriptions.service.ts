import type { Licences, LicenceCount } from '../../db/database.js';
import type { FieldError } from '../../errors.js';
import { parisWallTime } from '../gar-ws/gar-dates.js';
import { AUDIENCES, AUDIENCE_LICENCE_KEY, type Audience } from './audiences.js';
import type { SubscriptionRow, SubscriptionValues } from './subscriptions.repository.js';
import type { SubscriptionInput, SubscriptionUpdate, SubscriptionView, Usage } from './subscriptions.schemas.js';

const PER_AUDIENCE_KEYS = ['pupils', 'teachers', 'librarians', 'otherStaff'] as const;

/** Midnight of a calendar day in Europe/Paris, as an instant (never in a change of offset, which happens at 2:00 or 3:00). */
export const parisMidnight = (year: number, month: number, day: number): Date => parisWallTime(year, month, day);

/**
 * A school year `2025-2026` runs from 1 September 2025 00:00 to 1 September 2026 00:00 Europe/Paris
 * (end exclusive: the whole of 31 August 2026 is inside).
 */
export function schoolYearBounds(schoolYear: string): { startsAt: Date; endsAt: Date } {
  const first = Number(schoolYear.slice(0, 4));
  return { startsAt: parisMidnight(first, 9, 1), endsAt: parisMidnight(first + 1, 9, 1) };
}

/**
 * The rules the schema cannot say, each reported with its field. Returns the values to store, or
 * the list of every failing field.
 */
export function checkSubscription(input: SubscriptionInput | SubscriptionUpdate): { values: SubscriptionValues } | { errors: FieldError[] } {
  const errs: FieldError[] = [];
  let startsAt = input.startsAt ? new Date(input.startsAt) : undefined;
  let endsAt = input.endsAt ? new Date(input.endsAt) : undefined;
  if (input.endsAt !== undefined && input.schoolYear !== undefined) {
    errs.push({ path: 'body/schoolYear', message: 'give endsAt or schoolYear, not both' });
  } else if (input.endsAt === undefined && input.schoolYear === undefined) {
    errs.push({ path: 'body/endsAt', message: 'give endsAt or schoolYear (e.g. "2025-2026")' });
  }
  if (input.schoolYear !== undefined && input.endsAt === undefined) {
    const [a, b] = input.schoolYear.split('-').map(Number);
    if (b !== a! + 1) {
      errs.push({ path: 'body/schoolYear', message: 'must be two consecutive years, e.g. "2025-2026"' });
    } else {
      const bounds = schoolYearBounds(input.schoolYear);
      startsAt ??= bounds.startsAt;
      endsAt = bounds.endsAt;
    }
  }
  if (startsAt === undefined && input.schoolYear === undefined) {
    errs.push({ path: 'body/startsAt', message: 'startsAt is required unless a schoolYear is given' });
  }
  if (startsAt && endsAt && endsAt.getTime() <= startsAt.getTime()) {
    errs.push({ path: 'body/endsAt', message: 'the end of validity must come after its start' });
  }

  const l = input.licences;
  const given = PER_AUDIENCE_KEYS.filter((k) => l[k] !== undefined);
  let licences: Licences | undefined;
  if (l.global !== undefined && given.length > 0) {
    errs.push({ path: 'body/licences', message: `give either "global" or the per-audience counts, not both (got global and ${given.join(', ')})` });
  } else if (l.global !== undefined) {
    licences = { global: l.global };
  } else if (given.length === 0) {
    errs.push({ path: 'body/licences', message: 'give either {"global": n} or {"pupils", "teachers", "librarians", "otherStaff"}; each a number or "unlimited"' });
  } else if (given.length < PER_AUDIENCE_KEYS.length) {
    for (const k of PER_AUDIENCE_KEYS.filter((k) => l[k] === undefined)) {
      errs.push({ path: `body/licences/${k}`, message: 'the per-audience form needs all four counts (0 where none)' });
    }
  } else {
    licences = { pupils: l.pupils!, teachers: l.teachers!, librarians: l.librarians!, otherStaff: l.otherStaff! };
  }

  if (errs.length > 0) return { errors: errs };
  return {
    values: {
      resource_id: input.resourceId,
      uai: input.uai,
      starts_at: startsAt!,
      ends_at: endsAt!,
      school_year: input.endsAt === undefined ? (input.schoolYear ?? null) : null,
      assignment_type: input.assignmentType,
      audiences: AUDIENCES.filter((a) => input.audiences.includes(a)),
      licences: licences!,
      comment: input.comment ?? null,
    },
  };
}

export type SubscriptionStatus = 'valid' | 'not_started' | 'expired';

export function statusAt(row: Pick<SubscriptionRow, 'starts_at' | 'ends_at'>, now: Date): SubscriptionStatus {
  if (now.getTime() < new Date(row.starts_at).getTime()) return 'not_started';
  if (now.getTime() >= new Date(row.ends_at).getTime()) return 'expired';
  return 'valid';
}

const leftOf = (total: LicenceCount, used: number): LicenceCount => (total === 'unlimited' ? 'unlimited' : Math.max(0, total - used));
const sumOf = (counts: LicenceCount[]): LicenceCount =>
  counts.includes('unlimited') ? 'unlimited' : counts.reduce<number>((s, c) => s + (c as number), 0);

/** The licence count that pays for one audience, or undefined under the global form. */
export function licenceFor(licences: Licences, audience: Audience): LicenceCount | undefined {
  return 'global' in licences ? undefined : licences[AUDIENCE_LICENCE_KEY[audience]];
}

export function usageOf(row: Pick<SubscriptionRow, 'audiences' | 'licences' | 'assignment_type'>, counts: Record<Audience, number>): Usage {
  const audiences = AUDIENCES.filter((a) => row.audiences.includes(a));
  const used = audiences.reduce((s, a) => s + counts[a], 0);
  const enforced = row.assignment_type === 'INDIV';
  if ('global' in row.licences) {
    const total = row.licences.global;
    return { enforced, total, used, left: leftOf(total, used), audiences: audiences.map((a) => ({ audience: a, used: counts[a] })) };
  }
  const per = audiences.map((a) => {
    const total = licenceFor(row.licences, a)!;
    return { audience: a, used: counts[a], total, left: leftOf(total, counts[a]) };
  });
  return { enforced, total: sumOf(per.map((p) => p.total)), used, left: sumOf(per.map((p) => p.left)), audiences: per };
}

/**
 * Whether going from `before` to `after` people covered passes a licence count. An assignment is
 * refused only when it adds people to an audience (or globally) beyond its count: a class that grew
 * since does not block assignments that add nobody there.
 */
export function licenceShortfall(
  row: Pick<SubscriptionRow, 'audiences' | 'licences'>,
  before: Record<Audience, number>,
  after: Record<Audience, number>,
): { audience: Audience | 'global'; left: number; needed: number } | undefined {
  const audiences = AUDIENCES.filter((a) => row.audiences.includes(a));
  if ('global' in row.licences) {
    const total = row.licences.global;
    const b = audiences.reduce((s, a) => s + before[a], 0);
    const n = audiences.reduce((s, a) => s + after[a], 0);
    if (total !== 'unlimited' && n > b && n > total) return { audience: 'global', left: Math.max(0, total - b), needed: n - b };
    return undefined;
  }
  for (const a of audiences) {
    const total = licenceFor(row.licences, a)!;
    if (total !== 'unlimited' && after[a] > before[a] && after[a] > total) {
      return { audience: a, left: Math.max(0, total - before[a]), needed: after[a] - before[a] };
    }
  }
  return undefined;
}

export function toSubscriptionView(row: SubscriptionRow, now: Date, usage?: Usage): SubscriptionView {
  return {
    id: row.id,
    publisherId: row.publisher_id,
    resourceId: row.resource_id,
    resourceName: row.resource_name,
    uai: row.uai,
    startsAt: new Date(row.starts_at).toISOString(),
    endsAt: new Date(row.ends_at).toISOString(),
    ...(row.school_year ? { schoolYear: row.school_year } : {}),
    assignmentType: row.assignment_type,
    audiences: row.audiences as Audience[],
    licences: row.licences,
    ...(row.comment !== null ? { comment: row.comment } : {}),
    status: statusAt(row, now),
    createdAt: row.created_at.toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    ...(usage ? { usage } : {}),
    ...(row.category ? { category: row.category } : {}),
    ...(row.project_code ? { projectCode: row.project_code } : {}),
    ...(row.resource_label ? { resourceLabel: row.resource_label } : {}),
  };
}
