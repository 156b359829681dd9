import type { GroupRow, PersonRow } from '../directory/directory.rows.js';
import type { GarFeed } from '../directory/gar-ent.mapping.js';

/*
 * One file's part of each establishment it names, as JSON lines: what the export job spills to disk
 * (one file per establishment) between reading the archive and applying it, so that the job holds
 * one file, then one establishment, in memory, never the whole export. Serialised in the worker
 * thread that read the file; read back on the main thread one establishment at a time.
 */

export type ShareLine =
  | ['P', PersonRow, string[]] // a person placed at the establishment, with their profiles there
  | ['C', string, string[], string[]] // a person's MEF and subject codes there
  | ['G', GroupRow]
  | ['M', string, string] // membership: person, group
  | ['T', string, string, string[]] // teaching: person, group, subjects
  | ['S', string, string] // subject: code, name
  | ['F', string, string]; // MEF: code, name

export interface EstablishmentShare {
  lines: string;
  records: number;
  /** Placements in this file (a person is placed once per file at most). */
  people: number;
  name?: string;
  primary?: boolean;
}

export function shareByEstablishment(feed: GarFeed & { primarySchools?: string[] }): Record<string, EstablishmentShare> {
  const shares: Record<string, EstablishmentShare & { out: string[] }> = {};
  const at = (uai: string) => (shares[uai] ??= { lines: '', records: 0, people: 0, out: [] });
  const put = (uai: string, line: ShareLine) => {
    const s = at(uai);
    s.records++;
    s.out.push(JSON.stringify(line));
  };
  for (const uai of feed.uais) at(uai);
  for (const e of feed.establishments) Object.assign(at(e.uai), { name: e.name }).records++;
  for (const uai of feed.primarySchools ?? []) at(uai).primary = true;
  const people = new Map(feed.people.map((p) => [p.person_id, p]));
  for (const p of feed.placements) {
    const person = people.get(p.person_id);
    if (!person) continue; // the mapping places only the people it keeps
    at(p.uai).people++;
    put(p.uai, ['P', person, p.profiles]);
  }
  for (const c of feed.placementCodes) put(c.uai, ['C', c.person_id, c.mefs, c.subjects]);
  for (const g of feed.groups) put(g.uai, ['G', g]);
  for (const m of feed.memberships) put(m.uai, ['M', m.person_id, m.group_code]);
  for (const t of feed.teachings) put(t.uai, ['T', t.person_id, t.group_code, t.subjects]);
  for (const s of feed.subjects) put(s.uai, ['S', s.code, s.name]);
  for (const s of feed.mefs) put(s.uai, ['F', s.code, s.name]);
  const result: Record<string, EstablishmentShare> = {};
  for (const [uai, { out, ...share }] of Object.entries(shares)) result[uai] = { ...share, lines: out.length ? `${out.join('\n')}\n` : '' };
  return result;
}

/** Everything the export says about one establishment, rebuilt from its spilled lines. */
export class Gathered {
  records = 0;
  people = new Map<string, PersonRow>();
  placements = new Map<string, Set<string>>();
  codes = new Map<string, { mefs: Set<string>; subjects: Set<string> }>();
  groups = new Map<string, GroupRow>();
  memberships = new Map<string, { personId: string; groupCode: string }>();
  teachings = new Map<string, { personId: string; groupCode: string; subjects: Set<string> }>();
  subjects = new Map<string, string>();
  mefs = new Map<string, string>();

  /** Lines in export order: a later record of the same person or code wins, as in a single pass. */
  add(text: string): this {
    for (const raw of text.split('\n')) {
      if (raw) this.line(JSON.parse(raw) as ShareLine);
    }
    return this;
  }

  private line(l: ShareLine): void {
    this.records++;
    switch (l[0]) {
      case 'P': {
        this.people.set(l[1].person_id, l[1]);
        const set = this.placements.get(l[1].person_id) ?? this.placements.set(l[1].person_id, new Set()).get(l[1].person_id)!;
        for (const x of l[2]) set.add(x);
        return;
      }
      case 'C': {
        const e = this.codes.get(l[1]) ?? this.codes.set(l[1], { mefs: new Set(), subjects: new Set() }).get(l[1])!;
        l[2].forEach((x) => e.mefs.add(x));
        l[3].forEach((x) => e.subjects.add(x));
        return;
      }
      case 'G':
        this.groups.set(l[1].code, l[1]);
        return;
      case 'M':
        this.memberships.set(`${l[1]}\u0000${l[2]}`, { personId: l[1], groupCode: l[2] });
        return;
      case 'T': {
        const key = `${l[1]}\u0000${l[2]}`;
        const e = this.teachings.get(key) ?? this.teachings.set(key, { personId: l[1], groupCode: l[2], subjects: new Set() }).get(key)!;
        l[3].forEach((x) => e.subjects.add(x));
        return;
      }
      case 'S':
        this.subjects.set(l[1], l[2]);
        return;
      case 'F':
        this.mefs.set(l[1], l[2]);
    }
  }
}
