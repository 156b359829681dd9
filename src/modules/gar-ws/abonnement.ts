import type { Selectable } from 'kysely';
import type { DeletedSubscriptionsTable, Licences, LicenceCount } from '../../db/database.js';
import { isValidUai } from '../../lib/uai.js';
import { AUDIENCES, AUDIENCE_LICENCE_KEY, type Audience } from '../subscriptions/audiences.js';
import { schoolYearBounds } from '../subscriptions/subscriptions.service.js';
import { formatGarDate, parseGarDate } from './gar-dates.js';
import type { XmlNode } from './gar-xml.js';
import { SIREN_ISNI_PATTERN } from './catalogue.js';

export const WSABONNEMENT_NS = 'http://www.atosworldline.com/wsabonnement/v1.0/';

/** The elements of <abonnement>, in the order GAR's clients send them. */
const SINGLE = [
  'idAbonnement',
  'commentaireAbonnement',
  'idDistributeurCom',
  'idRessource',
  'typeIdRessource',
  'libelleRessource',
  'debutValidite',
  'finValidite',
  'anneeFinValidite',
  'codeNatureUAI',
  'categorieAffectation',
  'typeAffectation',
  'nbLicenceGlobale',
  'nbLicenceEnseignant',
  'nbLicenceEleve',
  'nbLicenceProfDoc',
  'nbLicenceAutrePersonnel',
  'codeProjetRessource',
] as const;
const REPEATED = ['uaiEtab', 'publicCible'] as const;

type Single = (typeof SINGLE)[number];
export type AbonnementInput = Partial<Record<Single, string>> & { uaiEtab: string[]; publicCible: string[] };

/** The per-audience count element of each audience. */
const COUNT_ELEMENT: Record<Audience, Single> = {
  ELEVE: 'nbLicenceEleve',
  ENSEIGNANT: 'nbLicenceEnseignant',
  DOCUMENTALISTE: 'nbLicenceProfDoc',
  'AUTRE PERSONNEL': 'nbLicenceAutrePersonnel',
};
const PER_AUDIENCE = AUDIENCES.map((a) => COUNT_ELEMENT[a]);

export const CATEGORIES = ['transferable', 'non transferable'] as const;
const RESERVED_IDS = ['abonnements', 'categorie'];
const MAX_YEARS = 10;

/** Reads <abonnement> (any namespace prefix; the namespace itself is checked). Unknown or repeated elements are problems. */
export function abonnementFromXml(root: XmlNode, problems: string[]): AbonnementInput {
  const input: AbonnementInput = { uaiEtab: [], publicCible: [] };
  if (root.name !== 'abonnement') problems.push(`the root element must be <abonnement>, not <${root.name}>`);
  if (root.uri !== WSABONNEMENT_NS) problems.push(`<abonnement> must be in the namespace ${WSABONNEMENT_NS}`);
  for (const child of root.children) {
    if (child.children.length > 0) problems.push(`<${child.name}> must hold text only`);
    if ((REPEATED as readonly string[]).includes(child.name)) input[child.name as (typeof REPEATED)[number]].push(child.text);
    else if ((SINGLE as readonly string[]).includes(child.name)) {
      if (input[child.name as Single] !== undefined) problems.push(`<${child.name}> is given twice`);
      input[child.name as Single] = child.text;
    } else problems.push(`<${child.name}> is not an element of <abonnement>`);
  }
  return input;
}

export interface AbonnementValues {
  id: string;
  resource_id: string;
  uai: string | undefined;
  starts_at: Date;
  ends_at: Date;
  school_year: string | null;
  assignment_type: 'INDIV' | 'ETABL';
  audiences: Audience[];
  licences: Licences;
  comment: string | null;
  category: 'transferable' | 'non transferable';
  project_code: string | null;
  resource_label: string;
  resource_id_type: string;
  distributor_id: string;
}

export interface CheckContext {
  mode: 'create' | 'update';
  /** The id in the URL path. */
  pathId: string;
  /** The caller's distributor id (SIREN_ISNI), when known: idDistributeurCom must be it. */
  distributor: string | undefined;
  /** On an update: the establishment of the stored subscription (RG11 applies to it). */
  storedUai?: string;
  /** Whether each named UAI is a first-degree school (RG11); unknown UAIs are absent. */
  firstDegree: (uai: string) => boolean;
}

const count = (value: string, element: string, problems: string[]): LicenceCount | undefined => {
  if (value === 'ILLIMITE') return 'unlimited';
  if (/^[0-9]{1,8}$/.test(value)) return Number(value);
  problems.push(`${element}: "${value}" must be a whole number of at most 8 digits or ILLIMITE`);
  return undefined;
};

/** Every rule (RG1 to RG13 and the formats), all problems listed. */
export function checkAbonnement(input: AbonnementInput, ctx: CheckContext): { values?: AbonnementValues; problems: string[] } {
  const p: string[] = [];
  const req = (name: Single, max: number): string | undefined => {
    const v = input[name];
    if (v === undefined || v === '') {
      p.push(`${name} is required`);
      return undefined;
    }
    if (v.length > max) p.push(`${name} is longer than ${max} characters`);
    return v;
  };
  const optional = (name: Single, max: number): string | undefined => {
    const v = input[name];
    if (v !== undefined && v.length > max) p.push(`${name} is longer than ${max} characters`);
    return v === '' ? undefined : v;
  };

  // The id: from the body if given, and then it must be the id of the path.
  const id = input.idAbonnement ?? ctx.pathId;
  if (input.idAbonnement !== undefined && input.idAbonnement !== ctx.pathId) {
    p.push(`idAbonnement "${input.idAbonnement}" differs from the id in the path "${ctx.pathId}"`);
  }
  if (id.length === 0 || id.length > 45) p.push('idAbonnement must have 1 to 45 characters');
  if (RESERVED_IDS.includes(id)) p.push(`RG12: idAbonnement cannot be "${id}"`);
  if (id.startsWith('_')) p.push('RG13: idAbonnement cannot start with "_" (reserved for deleted subscriptions)');
  if (/\s/.test(id)) p.push('idAbonnement cannot contain spaces');

  const comment = optional('commentaireAbonnement', 255);
  const distributor = req('idDistributeurCom', 33);
  if (distributor !== undefined && !new RegExp(SIREN_ISNI_PATTERN).test(distributor)) {
    p.push('RG3: idDistributeurCom must be SIREN_ISNI: 9 digits, "_", 16 digits');
  } else if (distributor !== undefined && ctx.distributor !== undefined && distributor !== ctx.distributor) {
    p.push(`idDistributeurCom must be your own distributor id ${ctx.distributor}`);
  }
  const resourceId = req('idRessource', 1024);
  const idType = req('typeIdRessource', 50);
  if (idType !== undefined && idType.toLowerCase() !== 'ark') p.push('typeIdRessource must be "ark"');
  const label = req('libelleRessource', 255);

  const startRaw = req('debutValidite', 64);
  const startsAt = startRaw === undefined ? undefined : parseGarDate(startRaw);
  if (startRaw !== undefined && startsAt === undefined) p.push(`debutValidite: "${startRaw}" is not a date (e.g. 2026-09-01 or 2026-09-01T00:00:00)`);
  let endsAt: Date | undefined;
  let schoolYear: string | null = null;
  const endRaw = optional('finValidite', 64);
  const yearRaw = optional('anneeFinValidite', 9);
  if (endRaw !== undefined && yearRaw !== undefined) p.push('RG9: give finValidite or anneeFinValidite, not both');
  else if (endRaw === undefined && yearRaw === undefined) p.push('RG9: give finValidite or anneeFinValidite');
  if (endRaw !== undefined && yearRaw === undefined) {
    endsAt = parseGarDate(endRaw);
    if (endsAt === undefined) p.push(`finValidite: "${endRaw}" is not a date`);
    else if (startsAt) {
      const limit = new Date(startsAt);
      limit.setUTCFullYear(limit.getUTCFullYear() + MAX_YEARS);
      if (endsAt.getTime() > limit.getTime()) p.push(`RG8: finValidite is more than ${MAX_YEARS} years after debutValidite`);
    }
  }
  if (yearRaw !== undefined && endRaw === undefined) {
    const m = /^([0-9]{4})-([0-9]{4})$/.exec(yearRaw);
    if (!m) p.push('RG10: anneeFinValidite must be YYYY-YYYY, e.g. 2026-2027');
    else {
      const [a, b] = [Number(m[1]), Number(m[2])];
      if (b <= a) p.push('RG10: the second year of anneeFinValidite must come after the first');
      else if (b - a > MAX_YEARS) p.push(`RG7: anneeFinValidite covers more than ${MAX_YEARS} school years`);
      else {
        endsAt = schoolYearBounds(`${b - 1}-${b}`).endsAt;
        schoolYear = yearRaw;
      }
    }
  }
  if (startsAt && endsAt && endsAt.getTime() <= startsAt.getTime()) p.push('the end of validity must come after debutValidite');

  // Establishments: 1..n on create, none on update (GAR's clients remove uaiEtab before an update).
  let uai: string | undefined;
  if (input.codeNatureUAI !== undefined) {
    p.push('RG2: codeNatureUAI (every establishment of a kind) is not supported by this broker; name the establishment in uaiEtab');
  }
  if (ctx.mode === 'create') {
    if (input.uaiEtab.length === 0 && input.codeNatureUAI === undefined) p.push('RG2: uaiEtab is required');
    if (input.uaiEtab.length > 1) p.push('uaiEtab: this broker takes one establishment per subscription; create one subscription per UAI');
    for (const u of input.uaiEtab) if (!isValidUai(u)) p.push(`uaiEtab: "${u}" is not a valid UAI (7 digits and the check letter)`);
    uai = input.uaiEtab[0];
  } else if (input.uaiEtab.length > 0) {
    p.push('uaiEtab cannot be given on an update: the establishment of a subscription does not change');
  }

  const category = req('categorieAffectation', 50);
  if (category !== undefined && !(CATEGORIES as readonly string[]).includes(category)) {
    p.push(`RG4: categorieAffectation must be ${CATEGORIES.map((c) => `"${c}"`).join(' or ')}`);
  }
  const type = req('typeAffectation', 5);
  if (type !== undefined && type !== 'INDIV' && type !== 'ETABL') p.push('RG4: typeAffectation must be INDIV or ETABL');

  const audiences: Audience[] = [];
  if (input.publicCible.length === 0) p.push('publicCible is required (ELEVE, ENSEIGNANT, DOCUMENTALISTE, AUTRE PERSONNEL)');
  for (const a of input.publicCible) {
    if (!(AUDIENCES as readonly string[]).includes(a)) p.push(`publicCible: "${a}" is not one of ${AUDIENCES.join(', ')}`);
    else if (audiences.includes(a as Audience)) p.push(`publicCible: "${a}" is given twice`);
    else audiences.push(a as Audience);
  }

  let licences: Licences | undefined;
  const globalRaw = optional('nbLicenceGlobale', 8);
  const given = PER_AUDIENCE.filter((e) => input[e] !== undefined && input[e] !== '');
  if (globalRaw !== undefined && given.length > 0) p.push(`RG1: give nbLicenceGlobale or the per-audience counts, not both (got ${given.join(', ')})`);
  else if (globalRaw === undefined && given.length === 0) p.push('RG1: give nbLicenceGlobale or per-audience counts (nbLicenceEleve, nbLicenceEnseignant, ...)');
  if (type === 'ETABL' && (globalRaw === undefined || given.length > 0)) p.push('RG6: typeAffectation ETABL takes nbLicenceGlobale alone');
  if (globalRaw !== undefined && given.length === 0) {
    const g = count(globalRaw, 'nbLicenceGlobale', p);
    if (g !== undefined) licences = { global: g };
  } else if (globalRaw === undefined && given.length > 0) {
    const per: Partial<Record<Audience, LicenceCount>> = {};
    for (const a of AUDIENCES) {
      const raw = input[COUNT_ELEMENT[a]];
      if (raw === undefined || raw === '') continue;
      if (!audiences.includes(a)) p.push(`RG5: ${COUNT_ELEMENT[a]} needs publicCible ${a}`);
      const c = count(raw, COUNT_ELEMENT[a], p);
      if (c !== undefined) per[a] = c;
    }
    const of = (a: Audience): LicenceCount => per[a] ?? 0;
    licences = { pupils: of('ELEVE'), teachers: of('ENSEIGNANT'), librarians: of('DOCUMENTALISTE'), otherStaff: of('AUTRE PERSONNEL') };
  }
  const uaiForRg11 = uai ?? ctx.storedUai;
  if (uaiForRg11 !== undefined && ctx.firstDegree(uaiForRg11)) {
    if (audiences.includes('DOCUMENTALISTE')) p.push('RG11: a first-degree school has no DOCUMENTALISTE audience');
    const doc = input.nbLicenceProfDoc;
    if (doc !== undefined && doc !== '' && doc !== '0') p.push('RG11: nbLicenceProfDoc must be absent or 0 for a first-degree school');
  }
  const projectCode = optional('codeProjetRessource', 50);

  if (p.length > 0) return { problems: p };
  return {
    problems: [],
    values: {
      id,
      resource_id: resourceId!,
      uai,
      starts_at: startsAt!,
      ends_at: endsAt!,
      school_year: schoolYear,
      assignment_type: type as 'INDIV' | 'ETABL',
      audiences: AUDIENCES.filter((a) => audiences.includes(a)),
      licences: licences!,
      comment: comment ?? null,
      category: category as 'transferable' | 'non transferable',
      project_code: projectCode ?? null,
      resource_label: label!,
      resource_id_type: idType!,
      distributor_id: distributor!,
    },
  };
}

/** A stored subscription (live or deleted: both tables have these columns), with its resource name and publisher's distributor id. */
export type AbonnementRow = Omit<Selectable<DeletedSubscriptionsTable>, 'pk' | 'deleted_at'> & {
  resource_name: string | null;
  publisher_distributor: string;
};

/** One abonnement as an ordered list of [element, value] pairs: the XML and JSON forms both come from it. */
export function abonnementFields(row: AbonnementRow): Array<[string, string]> {
  const f: Array<[string, string]> = [['idAbonnement', row.id]];
  if (row.comment !== null) f.push(['commentaireAbonnement', row.comment]);
  f.push(
    ['idDistributeurCom', row.distributor_id ?? row.publisher_distributor],
    ['idRessource', row.resource_id],
    ['typeIdRessource', row.resource_id_type],
    ['libelleRessource', row.resource_label ?? row.resource_name ?? row.resource_id],
    ['debutValidite', formatGarDate(row.starts_at)],
    ['finValidite', formatGarDate(row.ends_at)],
  );
  if (row.school_year) f.push(['anneeFinValidite', row.school_year]);
  f.push(['uaiEtab', row.uai], ['categorieAffectation', row.category], ['typeAffectation', row.assignment_type]);
  const out = (c: LicenceCount) => (c === 'unlimited' ? 'ILLIMITE' : String(c));
  const l = row.licences;
  if ('global' in l) f.push(['nbLicenceGlobale', out(l.global)]);
  else {
    // GAR's element order: teachers, pupils, librarians, other staff; only the audiences targeted.
    for (const a of ['ENSEIGNANT', 'ELEVE', 'DOCUMENTALISTE', 'AUTRE PERSONNEL'] as const) {
      if (row.audiences.includes(a)) f.push([COUNT_ELEMENT[a], out(l[AUDIENCE_LICENCE_KEY[a]])]);
    }
  }
  for (const a of AUDIENCES) if (row.audiences.includes(a)) f.push(['publicCible', a]);
  if (row.project_code !== null) f.push(['codeProjetRessource', row.project_code]);
  return f;
}

/** The JSON form: repeated elements (publicCible) are arrays, the others strings. */
export function abonnementJson(row: AbonnementRow): Record<string, string | string[]> {
  const o: Record<string, string | string[]> = {};
  for (const [k, v] of abonnementFields(row)) {
    if (k === 'publicCible') ((o[k] ??= []) as string[]).push(v);
    else o[k] = v;
  }
  return o;
}
