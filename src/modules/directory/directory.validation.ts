import { cappedErrors, errors, type FieldError } from '../../errors.js';
import { birthDateProblem } from '../../lib/dates.js';
import { isValidUai } from '../../lib/uai.js';
import { canonicalProfile } from './directory.rows.js';

/*
 * The rules of a directory feed that a JSON schema cannot say. The body may already have failed
 * its schema (the route collects both kinds of error), so every access here is guarded.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * The 400 of a feed: one error per path, the schema's reason first, then the rules' (a bad date
 * fails both); capped here, so a list of 300,000 is never built into an answer or sent between threads.
 */
export function invalidFeed(all: readonly FieldError[]) {
  const seen = new Set<string>();
  const list = all.filter((e) => !seen.has(e.path) && seen.add(e.path));
  const error = errors.validation(`${list.length} invalid item(s)`, []);
  Object.assign(error.extra, cappedErrors(list));
  return error;
}

/** Turns ajv's errors into paths inside the body, e.g. `/people/3/lastName`. */
export function schemaErrors(items: Array<{ instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> }>): FieldError[] {
  const byPath = new Map<string, string>();
  for (const v of items) {
    let path = v.instancePath ?? '';
    const p = v.params ?? {};
    if (v.keyword === 'required' && isStr(p.missingProperty)) path = `${path}/${p.missingProperty}`;
    if (v.keyword === 'additionalProperties' && isStr(p.additionalProperty)) path = `${path}/${p.additionalProperty}`;
    let message = v.message ?? 'is invalid';
    if (v.keyword === 'enum' && Array.isArray(p.allowedValues)) message = `must be one of ${p.allowedValues.join(', ')}`;
    // One entry per invalid value: the first reason is the useful one.
    if (!byPath.has(path || '/')) byPath.set(path || '/', message);
  }
  return [...byPath].map(([path, message]) => ({ path, message }));
}

export interface RuleContext {
  /** The establishment being fed. */
  uai: string;
  /** Every UAI of the caller's ENT project: profiles may name these. */
  projectUais: ReadonlySet<string>;
  /** Birth dates after this day are refused. */
  today: Date;
}

/** What a delta may refer to beyond its own upserts: the stored directory of the establishment. */
export interface StoredRefs {
  people: ReadonlySet<string>;
  groups: ReadonlyMap<string, string>;
}

/** Thousands of people repeat the same few UAIs and profile codes: each is checked once per feed. */
const memo = <T>(fn: (s: string) => T) => {
  const cache = new Map<string, T>();
  return (s: string): T => {
    let v = cache.get(s);
    if (v === undefined && !cache.has(s)) cache.set(s, (v = fn(s)));
    return v as T;
  };
};

function checkPerson(
  p: unknown,
  path: string,
  ctx: RuleContext,
  errors: FieldError[],
  validUai: (s: string) => boolean,
  profileOf: (s: string) => string | undefined,
): void {
  if (!isObj(p)) return;
  let here = 0;
  list(p.profiles).forEach((pr, k) => {
    if (!isObj(pr)) return;
    if (isStr(pr.uai)) {
      if (!validUai(pr.uai)) errors.push({ path: `${path}/profiles/${k}/uai`, message: 'must be 7 digits and the matching check letter' });
      else if (!ctx.projectUais.has(pr.uai)) {
        errors.push({ path: `${path}/profiles/${k}/uai`, message: 'is not an establishment of your ENT project' });
      } else if (pr.uai === ctx.uai) here++;
    }
    if (isStr(pr.profile) && !profileOf(pr.profile)) {
      errors.push({ path: `${path}/profiles/${k}/profile`, message: 'must be one of National_elv, _ens, _doc, _dir, _evs, _eta, _col' });
    }
  });
  if (Array.isArray(p.profiles) && p.profiles.length > 0 && here === 0) {
    errors.push({ path: `${path}/profiles`, message: `must hold at least one profile at ${ctx.uai}` });
  }
  if (isStr(p.birthDate)) {
    const problem = birthDateProblem(p.birthDate, ctx.today);
    if (problem) errors.push({ path: `${path}/birthDate`, message: problem });
  }
  if (isStr(p.structRattach) && !validUai(p.structRattach)) {
    errors.push({ path: `${path}/structRattach`, message: 'must be a UAI: 7 digits and the matching check letter' });
  }
}

/** Reports the second and later occurrences of a key. */
function duplicates(items: unknown[], base: string, keyOf: (item: Obj) => string | undefined, field: string, errors: FieldError[]): Set<string> {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isObj(item)) return;
    const key = keyOf(item);
    if (key === undefined) return;
    const first = seen.get(key);
    if (first !== undefined) errors.push({ path: `${base}/${i}${field}`, message: `duplicate of ${base}/${first}` });
    else seen.set(key, i);
  });
  return new Set(seen.keys());
}

const personKey = (o: Obj) => (isStr(o.id) ? o.id : undefined);
const codeKey = (o: Obj) => (isStr(o.code) ? o.code : undefined);
const linkKey = (o: Obj) => (isStr(o.personId) && isStr(o.groupCode) ? `${o.personId}\u0000${o.groupCode}` : undefined);

interface Section {
  people: unknown[];
  groups: unknown[];
  memberships: unknown[];
  teachings: unknown[];
  subjects: unknown[];
  mefs: unknown[];
}

function section(o: unknown): Section {
  const s = isObj(o) ? o : {};
  return {
    people: list(s.people),
    groups: list(s.groups),
    memberships: list(s.memberships),
    teachings: list(s.teachings),
    subjects: list(s.subjects),
    mefs: list(s.mefs),
  };
}

/** Checks one set of items; `base` is `` for a snapshot and `/upserts` for a delta. */
function checkSection(s: Section, base: string, ctx: RuleContext, stored: StoredRefs | undefined, removed: { people: Set<string>; groups: Set<string> }, errors: FieldError[]) {
  const people = duplicates(s.people, `${base}/people`, personKey, '/id', errors);
  const validUai = memo(isValidUai);
  const profileOf = memo(canonicalProfile);
  s.people.forEach((p, i) => checkPerson(p, `${base}/people/${i}`, ctx, errors, validUai, profileOf));
  duplicates(s.groups, `${base}/groups`, codeKey, '/code', errors);
  duplicates(s.subjects, `${base}/subjects`, codeKey, '/code', errors);
  duplicates(s.mefs, `${base}/mefs`, codeKey, '/code', errors);
  duplicates(s.memberships, `${base}/memberships`, linkKey, '', errors);
  duplicates(s.teachings, `${base}/teachings`, linkKey, '', errors);

  const kinds = new Map<string, string>(stored ? [...stored.groups].filter(([code]) => !removed.groups.has(code)) : []);
  for (const g of s.groups) if (isObj(g) && isStr(g.code) && isStr(g.kind)) kinds.set(g.code, g.kind);
  const knownPerson = (id: string) => people.has(id) || (stored !== undefined && stored.people.has(id) && !removed.people.has(id));

  s.groups.forEach((g, i) => {
    if (!isObj(g)) return;
    const divisions = list(g.divisions);
    if (g.kind === 'DIVISION' && divisions.length > 0) {
      errors.push({ path: `${base}/groups/${i}/divisions`, message: 'only a GROUPE belongs to divisions' });
      return;
    }
    divisions.forEach((d, k) => {
      if (!isStr(d)) return;
      const kind = kinds.get(d);
      if (kind === undefined) errors.push({ path: `${base}/groups/${i}/divisions/${k}`, message: `no group "${d}" in this directory` });
      else if (kind !== 'DIVISION') errors.push({ path: `${base}/groups/${i}/divisions/${k}`, message: `"${d}" is a ${kind}, not a DIVISION` });
    });
  });
  for (const name of ['memberships', 'teachings'] as const) {
    s[name].forEach((m, i) => {
      if (!isObj(m)) return;
      if (isStr(m.personId) && !knownPerson(m.personId)) {
        errors.push({ path: `${base}/${name}/${i}/personId`, message: `no person "${m.personId}" at this establishment` });
      }
      if (isStr(m.groupCode) && !kinds.has(m.groupCode)) {
        errors.push({ path: `${base}/${name}/${i}/groupCode`, message: `no group "${m.groupCode}" in this directory` });
      }
    });
  }
}

const noRemovals = { people: new Set<string>(), groups: new Set<string>() };

/** `storedGroups`: when the snapshot omits `groups`, its links refer to these (code → kind). */
export function checkSnapshot(body: unknown, ctx: RuleContext, storedGroups?: ReadonlyMap<string, string>): FieldError[] {
  const errors: FieldError[] = [];
  const stored = storedGroups ? { people: new Set<string>(), groups: storedGroups } : undefined;
  checkSection(section(body), '', ctx, stored, noRemovals, errors);
  return errors;
}

export function checkChanges(body: unknown, ctx: RuleContext, stored: StoredRefs): FieldError[] {
  const errors: FieldError[] = [];
  const b = isObj(body) ? body : {};
  const up = section(b.upserts);
  const rm = isObj(b.removals) ? b.removals : {};
  const removedPeople = new Set(list(rm.people).filter(isStr));
  const removedGroups = new Set(list(rm.groups).filter(isStr));
  checkSection(up, '/upserts', ctx, stored, { people: removedPeople, groups: removedGroups }, errors);
  // One item cannot be upserted and removed by the same delta.
  const clash = (items: unknown[], removed: Set<string>, key: (o: Obj) => string | undefined, path: string) =>
    items.forEach((o, i) => {
      const k = isObj(o) ? key(o) : undefined;
      if (k !== undefined && removed.has(k)) errors.push({ path: `${path}/${i}`, message: 'is also in removals' });
    });
  clash(up.people, removedPeople, personKey, '/upserts/people');
  clash(up.groups, removedGroups, codeKey, '/upserts/groups');
  clash(up.subjects, new Set(list(rm.subjects).filter(isStr)), codeKey, '/upserts/subjects');
  clash(up.mefs, new Set(list(rm.mefs).filter(isStr)), codeKey, '/upserts/mefs');
  const linkSet = (v: unknown) => new Set(list(v).flatMap((o) => (isObj(o) && linkKey(o) ? [linkKey(o)!] : [])));
  clash(up.memberships, linkSet(rm.memberships), linkKey, '/upserts/memberships');
  clash(up.teachings, linkSet(rm.teachings), linkKey, '/upserts/teachings');
  return errors;
}

/** Person ids and group codes a delta refers to, to look up in the stored directory. */
export function changesReferences(body: unknown): { people: string[]; groups: string[] } {
  const b = isObj(body) ? body : {};
  const up = section(b.upserts);
  const people = new Set<string>();
  const groups = new Set<string>();
  for (const m of [...up.memberships, ...up.teachings]) {
    if (!isObj(m)) continue;
    if (isStr(m.personId)) people.add(m.personId);
    if (isStr(m.groupCode)) groups.add(m.groupCode);
  }
  for (const g of up.groups) if (isObj(g)) for (const d of list(g.divisions)) if (isStr(d)) groups.add(d);
  return { people: [...people], groups: [...groups] };
}

/**
 * The content a primary school's feed cannot have (GAR-ENT-1D): levels are MEFSTAT4 codes, and
 * there are no subjects, teacher e-mails, teacher-subject links, or subject and MEF lists. Refused
 * rather than dropped, so that an ENT sending 2D content for a primary school hears about it.
 */
export function checkPrimary(body: unknown, base: '' | '/upserts'): FieldError[] {
  const errors: FieldError[] = [];
  const b = isObj(body) ? body : {};
  const s = section(base === '' ? b : b.upserts);
  s.people.forEach((p, i) => {
    if (!isObj(p)) return;
    if (list(p.subjects).length) errors.push({ path: `${base}/people/${i}/subjects`, message: 'a primary school (degree 1) has no subjects' });
    if (list(p.emails).length) errors.push({ path: `${base}/people/${i}/emails`, message: 'a primary-school feed carries no e-mail (GAR-ENT-1D)' });
    list(p.mefs).forEach((m, k) => {
      if (isStr(m) && m.length > 4) errors.push({ path: `${base}/people/${i}/mefs/${k}`, message: 'at a primary school, a level is a MEFSTAT4 code of at most 4 characters' });
    });
  });
  for (const name of ['teachings', 'subjects', 'mefs'] as const) {
    if (s[name].length) errors.push({ path: `${base}/${name}`, message: `a primary school (degree 1) has no ${name === 'mefs' ? 'MEF list' : name}` });
  }
  return errors;
}
