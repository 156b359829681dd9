import type { FieldError } from '../../errors.js';
import { mapGarFile, type GarFeed } from './gar-ent.mapping.js';
import { GAR_2D, parseGarEnt, type GarDialect, type GarFile, type XmlRecord } from './gar-ent.parser.js';

/*
 * GAR-ENT-1D, the primary schools' feed (schema 1.4, namespace http://data.education.fr/ns/gar/1d).
 * Same five kinds and the same identity, profile, group, membership and RespAff records as the
 * secondary feed; what differs:
 * - pupils' and teachers' levels are MEFSTAT4 codes (`GARPersonMEFSTAT4`/`GARMEFSTAT4Code`, at
 *   most 4 characters), stored where a 2D feed puts MEF codes (the establishment's degree says
 *   which they are);
 * - teachers carry post specialities (`GAREnsSpecialitesPostes`), stored where 2D disciplines go;
 * - no subjects, no teacher e-mail, no MEF or subject lists, no teacher-subject links.
 * The records are renamed to their 2D counterparts and read by the 2D mapping, so that both feeds
 * end in exactly the same rows; error paths name the 1D elements.
 */

export const GAR_1D_NS = 'http://data.education.fr/ns/gar/1d';

export const GAR_1D: GarDialect = {
  ns: GAR_1D_NS,
  records: {
    'GAR-ENT-Eleve': ['GAREleve', 'GARPersonMEFSTAT4'],
    'GAR-ENT-Enseignant': ['GAREnseignant', 'GARPersonMEFSTAT4'],
    'GAR-ENT-Etab': ['GAREtab'],
    'GAR-ENT-Groupe': ['GARGroupe', 'GARPersonGroupe'],
    'GAR-ENT-RespAff': ['GARRespAff'],
  },
  // 1.4 is the schema; ENT connectors write Version="1.0" on their 1D files (gar-connector), and
  // GAR accepts them. Other values are read too (see the parser).
  versions: ['1.4', '1.0'],
};

const IDENTITY = [
  'GARPersonIdentifiant', 'GARPersonProfils', 'GARPersonIdSecondaire', 'GARPersonNomPatro', 'GARPersonNom', 'GARPersonPrenom',
  'GARPersonAutresPrenoms', 'GARPersonCivilite', 'GARPersonStructRattach', 'GARPersonEtab', 'GARPersonDateNaissance',
];

/** The children each 1D record may have (GAR-ENT-1D.xsd): anything else, e.g. a teacher's e-mail, is refused. */
const FIELDS: Record<string, readonly string[]> = {
  GAREleve: IDENTITY,
  GAREnseignant: [...IDENTITY, 'GAREnsSpecialitesPostes'],
  GARPersonMEFSTAT4: ['GARStructureUAI', 'GARPersonIdentifiant', 'GARMEFSTAT4Code'],
  GAREtab: ['GARStructureUAI', 'GARStructureNomCourant', 'GARStructureContrat', 'GARStructureTelephone', 'GARStructureEmail'],
  GARGroupe: ['GARGroupeCode', 'GARStructureUAI', 'GARGroupeLibelle', 'GARGroupeStatut', 'GARGroupeDivAppartenance'],
  GARPersonGroupe: ['GARStructureUAI', 'GARPersonIdentifiant', 'GARGroupeCode'],
  GARRespAff: ['GARPersonIdentifiant', 'GARPersonNom', 'GARPersonPrenom', 'GARPersonCivilite', 'GARPersonMail', 'GARRespAffEtab'],
};

export const MEFSTAT4_MAX = 4;

/** 1D name → the 2D name the shared mapping reads. */
const RENAME: Record<string, string> = {
  GARPersonMEFSTAT4: 'GARPersonMEF',
  GARMEFSTAT4Code: 'GARMEFCode',
  GAREnsSpecialitesPostes: 'GAREnsDisciplinesPostes',
  GAREnsSpecialitePosteCode: 'GAREnsDisciplinePosteCode',
};
const BACK = Object.fromEntries(Object.entries(RENAME).map(([k, v]) => [v, k]));

export interface Gar1dFeed extends GarFeed {
  /** The UAIs of the GAREtab records: primary schools (degree 1). */
  primarySchools: string[];
}

/** Whether a file is GAR-ENT-1D: its root element's namespace, read from the start of the text. */
export function isGar1d(xml: string): boolean {
  const root = /<(?!\?|!)([\w.-]+:)?[\w.-]+[^>]*>/.exec(xml.slice(0, 4096));
  if (!root) return false;
  const prefix = root[1] ? `:${root[1].slice(0, -1)}` : '';
  const decl = new RegExp(`xmlns${prefix}\\s*=\\s*["']([^"']*)["']`).exec(root[0]);
  return decl?.[1] === GAR_1D_NS;
}

export function mapGar1dFile(file: GarFile, today?: Date): Gar1dFeed {
  const errors: FieldError[] = [];
  const records: XmlRecord[] = [];
  for (const rec of file.records) {
    const allowed = FIELDS[rec.element] ?? [];
    const fields = new Map<string, XmlRecord['fields'] extends Map<string, infer V> ? V : never>();
    for (const [name, values] of rec.fields) {
      if (!allowed.includes(name)) {
        const why = name === 'GARPersonMail' ? ': a primary-school feed carries no teacher e-mail' : '';
        errors.push({ path: `/${rec.element}/${rec.index}/${name}`, message: `is not an element of ${rec.element} in GAR-ENT-1D${why}` });
        continue;
      }
      if (name === 'GARMEFSTAT4Code') {
        values.forEach((v, i) => {
          if (typeof v === 'string' && v.length > MEFSTAT4_MAX) {
            errors.push({ path: `/${rec.element}/${rec.index}/${name}${values.length > 1 ? `/${i}` : ''}`, message: `a MEFSTAT4 code has at most ${MEFSTAT4_MAX} characters` });
          }
        });
      }
      const renamed = values.map((v) => (typeof v === 'string' ? v : new Map([...v].map(([k, x]) => [RENAME[k] ?? k, x]))));
      fields.set(RENAME[name] ?? name, renamed);
    }
    records.push({ element: RENAME[rec.element] ?? rec.element, index: rec.index, fields });
  }
  const feed = mapGarFile({ kind: file.kind, version: file.version, records }, today);
  // Paths back to the 1D names the sender knows, e.g. /GARPersonMEFSTAT4/2/GARMEFSTAT4Code.
  const oneD = (path: string) => path.replace(/[A-Za-z]+/g, (seg) => BACK[seg] ?? seg);
  const rename = <T extends { path: string }>(x: T): T => ({ ...x, path: oneD(x.path) });
  return {
    ...feed,
    errors: [...errors, ...feed.errors.map(rename)],
    personRefs: feed.personRefs.map(rename),
    groupRefs: feed.groupRefs.map(rename),
    primarySchools: feed.establishments.map((e) => e.uai),
  };
}

/** One GAR-ENT file of either degree: the hook of the XML route (dispatch by namespace). */
export function readGarFile(xml: string, today?: Date): GarFeed & { primarySchools?: string[] } {
  return isGar1d(xml) ? mapGar1dFile(parseGarEnt(xml, undefined, GAR_1D), today) : mapGarFile(parseGarEnt(xml), today);
}

/** Whether a file's Version is one of those its schema family is known by (for the log: any is read). */
export const isKnownVersion = (feed: { version: string; primarySchools?: string[] }): boolean =>
  (feed.primarySchools ? GAR_1D : GAR_2D).versions.includes(feed.version);
