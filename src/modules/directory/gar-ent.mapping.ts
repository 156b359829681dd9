import type { FieldError } from '../../errors.js';
import { birthDateProblem } from '../../lib/dates.js';
import { isValidUai } from '../../lib/uai.js';
import {
  canonicalProfile,
  personRow,
  sortedSet,
  type CodeRow,
  type GroupRow,
  type LinkRow,
  type ManagerRow,
  type PersonRow,
  type PlacementRow,
  type TeachingRow,
} from './directory.rows.js';
import type { GarFile, XmlRecord } from './gar-ent.parser.js';

/*
 * GAR-ENT records → the directory's rows. The same limits as the JSON feed; every failing value is
 * reported with its path, e.g. `/GAREleve/3/GARPersonProfils/0/GARPersonProfil`.
 */

export interface PersonRef {
  uai: string;
  person_id: string;
  path: string;
}
export interface GroupRef {
  uai: string;
  code: string;
  path: string;
  kind?: 'DIVISION' | 'GROUPE';
}

export interface GarFeed {
  kind: GarFile['kind'];
  version: string;
  records: number;
  /** Every establishment the file writes to: all must belong to the caller's project. */
  uais: Set<string>;
  people: PersonRow[];
  placements: PlacementRow[];
  placementCodes: Array<{ uai: string; person_id: string; mefs: string[]; subjects: string[] }>;
  establishments: Array<{ uai: string; name: string }>;
  groups: GroupRow[];
  memberships: LinkRow[];
  teachings: TeachingRow[];
  subjects: CodeRow[];
  mefs: CodeRow[];
  managers: ManagerRow[];
  /** References to check against the file and the stored directory. */
  personRefs: PersonRef[];
  groupRefs: GroupRef[];
  errors: FieldError[];
}

const LIMITS = { id: 64, uai: 45, name: 500, civility: 30, mail: 255, code: 255, label: 255, profile: 31 } as const;

class Reader {
  constructor(
    private readonly rec: XmlRecord,
    private readonly errors: FieldError[],
  ) {}

  get path(): string {
    return `/${this.rec.element}/${this.rec.index}`;
  }

  private texts(name: string): string[] {
    return (this.rec.fields.get(name) ?? []).map((v) => (typeof v === 'string' ? v : ''));
  }

  private check(name: string, i: number | undefined, value: string, max: number): boolean {
    const path = `${this.path}/${name}${i === undefined ? '' : `/${i}`}`;
    if (value === '') {
      this.errors.push({ path, message: 'must not be empty' });
      return false;
    }
    if (value.length > max) {
      this.errors.push({ path, message: `must be at most ${max} characters` });
      return false;
    }
    return true;
  }

  one(name: string, max: number): string | undefined;
  one(name: string, max: number, optional: true): string | undefined | null;
  one(name: string, max: number, optional = false): string | undefined | null {
    const values = this.texts(name);
    if (values.length === 0) {
      if (optional) return null;
      this.errors.push({ path: `${this.path}/${name}`, message: 'is required' });
      return undefined;
    }
    if (values.length > 1) this.errors.push({ path: `${this.path}/${name}/1`, message: 'may appear once' });
    return this.check(name, undefined, values[0]!, max) ? values[0] : undefined;
  }

  many(name: string, max: number, min = 0): string[] {
    const values = this.texts(name);
    if (values.length < min) this.errors.push({ path: `${this.path}/${name}`, message: `is required (at least ${min})` });
    return values.filter((v, i) => this.check(name, i, v, max));
  }

  uai(name: string, value: string | undefined | null, i?: number): string | undefined {
    if (value == null) return undefined;
    if (!isValidUai(value)) {
      this.errors.push({ path: `${this.path}/${name}${i === undefined ? '' : `/${i}`}`, message: 'must be a UAI: 7 digits and the matching check letter' });
      return undefined;
    }
    return value;
  }

  /** Nested elements (GARPersonProfils, GAREnsDisciplinesPostes), each a map of child → texts. */
  nested(name: string): Array<{ path: string; get: (child: string) => string[] }> {
    return (this.rec.fields.get(name) ?? []).map((v, i) => ({
      path: `${this.path}/${name}/${i}`,
      get: (child: string) => (typeof v === 'string' ? [] : (v.get(child) ?? [])),
    }));
  }
}

export function mapGarFile(file: GarFile, today: Date = new Date()): GarFeed {
  const feed: GarFeed = {
    kind: file.kind,
    version: file.version,
    records: file.records.length,
    uais: new Set(),
    people: [],
    placements: [],
    placementCodes: [],
    establishments: [],
    groups: [],
    memberships: [],
    teachings: [],
    subjects: [],
    mefs: [],
    managers: [],
    personRefs: [],
    groupRefs: [],
    errors: [],
  };
  const errors = feed.errors;
  const seen = new Map<string, string>();
  /** The XSD's keys: one record per key and element. */
  const unique = (element: string, key: string, path: string): boolean => {
    const k = `${element}\u0000${key}`;
    const first = seen.get(k);
    if (first !== undefined) {
      errors.push({ path, message: `duplicate of ${first}` });
      return false;
    }
    seen.set(k, path);
    return true;
  };
  const codes = new Map<string, { uai: string; person_id: string; mefs: Set<string>; subjects: Set<string> }>();
  const addCode = (uai: string, personId: string, what: 'mefs' | 'subjects', code: string, path: string) => {
    const key = `${uai}\u0000${personId}`;
    let entry = codes.get(key);
    if (!entry) codes.set(key, (entry = { uai, person_id: personId, mefs: new Set(), subjects: new Set() }));
    entry[what].add(code);
    feed.personRefs.push({ uai, person_id: personId, path });
  };
  const teachings = new Map<string, TeachingRow>();

  for (const rec of file.records) {
    const r = new Reader(rec, errors);
    const use = (uai: string | undefined) => {
      if (uai) feed.uais.add(uai);
      return uai;
    };
    switch (rec.element) {
      case 'GAREleve':
      case 'GAREnseignant': {
        const nErrors = errors.length;
        const id = r.one('GARPersonIdentifiant', LIMITS.id);
        const profiles = new Map<string, Set<string>>();
        for (const [k, pr] of r.nested('GARPersonProfils').entries()) {
          const uaiText = pr.get('GARStructureUAI');
          const profText = pr.get('GARPersonProfil');
          if (uaiText.length !== 1) errors.push({ path: `${pr.path}/GARStructureUAI`, message: 'is required once' });
          if (profText.length !== 1) errors.push({ path: `${pr.path}/GARPersonProfil`, message: 'is required once' });
          const uai = uaiText[0] !== undefined && isValidUai(uaiText[0]) ? uaiText[0] : undefined;
          if (uaiText[0] !== undefined && !uai) errors.push({ path: `${pr.path}/GARStructureUAI`, message: 'must be a UAI: 7 digits and the matching check letter' });
          const profile = profText[0] !== undefined ? canonicalProfile(profText[0]) : undefined;
          if (profText[0] !== undefined && !profile) {
            errors.push({ path: `${pr.path}/GARPersonProfil`, message: 'must be one of National_elv, _ens, _doc, _dir, _evs, _eta, _col' });
          }
          void k;
          if (uai && profile) {
            use(uai);
            (profiles.get(uai) ?? profiles.set(uai, new Set()).get(uai)!).add(profile);
          }
        }
        if (!rec.fields.has('GARPersonProfils')) errors.push({ path: `${r.path}/GARPersonProfils`, message: 'is required' });
        const birthName = r.one('GARPersonNomPatro', LIMITS.name, true);
        const lastName = r.one('GARPersonNom', LIMITS.name);
        const firstName = r.one('GARPersonPrenom', LIMITS.name);
        const otherFirstNames = r.many('GARPersonAutresPrenoms', LIMITS.name, 1);
        const civility = r.one('GARPersonCivilite', LIMITS.civility, true);
        if (civility != null && civility !== 'M.' && civility !== 'Mme') {
          errors.push({ path: `${r.path}/GARPersonCivilite`, message: 'must be M. or Mme' });
        }
        const structRattach = r.uai('GARPersonStructRattach', r.one('GARPersonStructRattach', LIMITS.uai, true));
        const etabs = r.many('GARPersonEtab', LIMITS.uai, 1).map((u, i) => use(r.uai('GARPersonEtab', u, i)));
        const birthDate = r.one('GARPersonDateNaissance', 10, true);
        const dateProblem = birthDate == null ? undefined : birthDateProblem(birthDate, today);
        if (dateProblem) errors.push({ path: `${r.path}/GARPersonDateNaissance`, message: dateProblem });
        const disciplines: string[] = [];
        const emails = rec.element === 'GAREnseignant' ? r.many('GARPersonMail', LIMITS.mail) : [];
        for (const d of r.nested('GAREnsDisciplinesPostes')) {
          const uai = d.get('GARStructureUAI');
          if (uai.length !== 1 || !isValidUai(uai[0]!)) errors.push({ path: `${d.path}/GARStructureUAI`, message: 'must be one UAI' });
          else use(uai[0]);
          for (const [i, code] of d.get('GAREnsDisciplinePosteCode').entries()) {
            if (code === '' || code.length > LIMITS.code) errors.push({ path: `${d.path}/GAREnsDisciplinePosteCode/${i}`, message: 'must be 1 to 255 characters' });
            else disciplines.push(code);
          }
        }
        etabs.forEach((uai, i) => {
          if (uai && !profiles.has(uai)) errors.push({ path: `${r.path}/GARPersonEtab/${i}`, message: `no GARPersonProfils for ${uai}` });
        });
        if (errors.length > nErrors || !id || !lastName || !firstName) break;
        if (!unique(rec.element, id, r.path)) break;
        feed.people.push(
          personRow({ id, lastName, firstName, otherFirstNames, birthName, civility, birthDate, emails, structRattach: structRattach ?? null, disciplines }),
        );
        for (const [uai, set] of profiles) {
          feed.placements.push({ uai, person_id: id, profiles: sortedSet(set), mefs: [], subjects: [] });
        }
        break;
      }
      case 'GARPersonMEF':
      case 'GAREleveEnseignement': {
        const uai = use(r.uai('GARStructureUAI', r.one('GARStructureUAI', LIMITS.uai)));
        const id = r.one('GARPersonIdentifiant', LIMITS.id);
        const codeName = rec.element === 'GARPersonMEF' ? 'GARMEFCode' : 'GARMatiereCode';
        const code = r.one(codeName, LIMITS.code);
        if (uai && id && code && unique(rec.element, `${uai}\u0000${id}\u0000${code}`, r.path)) {
          addCode(uai, id, rec.element === 'GARPersonMEF' ? 'mefs' : 'subjects', code, `${r.path}/GARPersonIdentifiant`);
        }
        break;
      }
      case 'GAREtab': {
        const uai = use(r.uai('GARStructureUAI', r.one('GARStructureUAI', LIMITS.uai)));
        const name = r.one('GARStructureNomCourant', LIMITS.name);
        // Other GAREtab fields (contract, phone, e-mail, cité scolaire) have no use in the broker yet.
        if (uai && name && unique(rec.element, uai, r.path)) feed.establishments.push({ uai, name });
        break;
      }
      case 'GARMEF':
      case 'GARMatiere': {
        const uai = use(r.uai('GARStructureUAI', r.one('GARStructureUAI', LIMITS.uai)));
        const isMef = rec.element === 'GARMEF';
        const code = r.one(isMef ? 'GARMEFCode' : 'GARMatiereCode', LIMITS.code);
        const name = r.one(isMef ? 'GARMEFLibelle' : 'GARMatiereLibelle', LIMITS.label);
        const mefstat11 = isMef ? r.one('GARMEFSTAT11', LIMITS.code, true) : null;
        if (uai && code && name && unique(rec.element, `${uai}\u0000${code}`, r.path)) {
          if (isMef) feed.mefs.push({ uai, code, name, mefstat11: mefstat11 ?? null });
          else feed.subjects.push({ uai, code, name });
        }
        break;
      }
      case 'GARGroupe': {
        const code = r.one('GARGroupeCode', LIMITS.code);
        const uai = use(r.uai('GARStructureUAI', r.one('GARStructureUAI', LIMITS.uai)));
        const name = r.one('GARGroupeLibelle', LIMITS.label);
        const kind = r.one('GARGroupeStatut', 31);
        if (kind !== undefined && kind !== 'DIVISION' && kind !== 'GROUPE') {
          errors.push({ path: `${r.path}/GARGroupeStatut`, message: 'must be DIVISION or GROUPE' });
        }
        const divisions = r.many('GARGroupeDivAppartenance', LIMITS.code);
        if (kind === 'DIVISION' && divisions.length > 0) {
          errors.push({ path: `${r.path}/GARGroupeDivAppartenance`, message: 'only a GROUPE belongs to divisions' });
        }
        if (uai && code && name && (kind === 'DIVISION' || kind === 'GROUPE') && unique(rec.element, `${uai}\u0000${code}`, r.path)) {
          feed.groups.push({ uai, code, name, kind, divisions: sortedSet(divisions) });
          divisions.forEach((d, i) => feed.groupRefs.push({ uai, code: d, kind: 'DIVISION', path: `${r.path}/GARGroupeDivAppartenance/${i}` }));
        }
        break;
      }
      case 'GARPersonGroupe':
      case 'GAREnsGroupeMatiere':
      case 'GAREnsClasseMatiere': {
        const uai = use(r.uai('GARStructureUAI', r.one('GARStructureUAI', LIMITS.uai)));
        const id = r.one('GARPersonIdentifiant', LIMITS.id);
        const code = r.one('GARGroupeCode', LIMITS.code);
        const subjects = rec.element === 'GARPersonGroupe' ? [] : r.many('GARMatiereCode', LIMITS.code, 1);
        if (!uai || !id || !code || !unique(rec.element, `${uai}\u0000${id}\u0000${code}`, r.path)) break;
        feed.personRefs.push({ uai, person_id: id, path: `${r.path}/GARPersonIdentifiant` });
        const expected = rec.element === 'GAREnsClasseMatiere' ? 'DIVISION' : rec.element === 'GAREnsGroupeMatiere' ? 'GROUPE' : undefined;
        feed.groupRefs.push({ uai, code, path: `${r.path}/GARGroupeCode`, ...(expected ? { kind: expected } : {}) });
        if (rec.element === 'GARPersonGroupe') {
          feed.memberships.push({ uai, person_id: id, group_code: code });
        } else {
          const key = `${uai}\u0000${id}\u0000${code}`;
          const existing = teachings.get(key);
          if (existing) existing.subjects = sortedSet([...existing.subjects, ...subjects]);
          else teachings.set(key, { uai, person_id: id, group_code: code, subjects: sortedSet(subjects) });
        }
        break;
      }
      case 'GARRespAff': {
        const id = r.one('GARPersonIdentifiant', LIMITS.id);
        const lastName = r.one('GARPersonNom', LIMITS.name);
        const firstName = r.one('GARPersonPrenom', LIMITS.name);
        const civility = r.one('GARPersonCivilite', LIMITS.civility, true);
        if (civility != null && civility !== 'M.' && civility !== 'Mme') {
          errors.push({ path: `${r.path}/GARPersonCivilite`, message: 'must be M. or Mme' });
        }
        const mails = r.many('GARPersonMail', LIMITS.mail, 1);
        mails.forEach((m, i) => {
          if (!/^[^\s@]+@[^\s@]+$/.test(m)) errors.push({ path: `${r.path}/GARPersonMail/${i}`, message: 'must be an e-mail address' });
        });
        const uais = r.many('GARRespAffEtab', LIMITS.uai, 1).map((u, i) => use(r.uai('GARRespAffEtab', u, i)));
        if (id && lastName && firstName && mails[0] && uais.every(Boolean) && unique(rec.element, id, r.path)) {
          // The broker keeps one address: the first, as the SI lists it.
          feed.managers.push({ person_id: id, last_name: lastName, first_name: firstName, email: mails[0], uais: sortedSet(uais as string[]) });
        }
        break;
      }
    }
  }
  feed.teachings = [...teachings.values()];
  feed.placementCodes = [...codes.values()].map((c) => ({ uai: c.uai, person_id: c.person_id, mefs: sortedSet(c.mefs), subjects: sortedSet(c.subjects) }));
  return feed;
}
