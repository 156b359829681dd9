/**
 * The attribute dictionary: everything the broker may ever release to a publisher, besides nothing.
 * Birth date, birth name and other first names are deliberately absent, so they can never be
 * requested, approved or sent. Used by the data requests (what may be asked) and the SSO (what may
 * be sent to whom).
 */
export const PROFILES = ['National_elv', 'National_ens', 'National_doc', 'National_dir', 'National_evs', 'National_eta', 'National_col'] as const;
export type Profile = (typeof PROFILES)[number];

export interface AttributeDefinition {
  code: string;
  label: string;
  description: string;
  multiValued: boolean;
  /** The profiles whose holders may have it sent; an attribute never goes to anyone else. */
  profiles: readonly Profile[];
  /** Only IDO: the SAML subject, sent on every access without a request. */
  alwaysSent: boolean;
  /** `observed` in public GAR integration code, or `ours` (fits the feed, not seen in public code). */
  origin: 'observed' | 'ours';
  /** The establishment degrees whose feed has a source for it (1: GAR-ENT-1D primary schools, 2: GAR-ENT). */
  degrees: readonly Degree[];
  /** The value as publishers parse it, with an example; formats[0] is the current one. */
  formats: readonly AttributeFormat[];
}

export type Degree = 1 | 2;
export interface AttributeFormat {
  /** Raised when the shape of the value changes: a resource keeps the version it was approved under. */
  version: number;
  format: string;
  example: string;
}
const BOTH: readonly Degree[] = [1, 2];
const SECONDARY: readonly Degree[] = [2];
const fmt = (format: string, example: string): AttributeFormat[] => [{ version: 1, format, example }];
/** Formats newest first: a resource approved under an older one keeps it (see formatFor). */
const versions = (...list: Array<[version: number, format: string, example: string]>): AttributeFormat[] =>
  list.map(([version, format, example]) => ({ version, format, example }));

const STAFF: readonly Profile[] = ['National_ens', 'National_doc', 'National_dir', 'National_evs', 'National_eta', 'National_col'];
const TEACHERS: readonly Profile[] = ['National_ens', 'National_doc'];

export const ATTRIBUTES: readonly AttributeDefinition[] = Object.freeze([
  {
    code: 'IDO',
    label: 'Opaque identifier',
    description:
      'Pseudonymous, stable identifier of the user (keyed hash); the SAML subject. Always sent, never requested. Its scope ' +
      'is set per resource by the ministry: per ENT project (default, as GAR), per publisher, or per publisher across linked ENT projects.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: true,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('128 lower-case hexadecimal characters (keyed hash)', 'a3f1…(128 hex)'),
  },
  {
    code: 'UAI',
    label: 'Establishment',
    description: 'UAI of the establishment the user opens the resource from.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('8 characters: 7 digits and a check letter', '0650001Y'),
  },
  {
    code: 'PRO',
    label: 'Profile',
    description: 'National profile of the user in that establishment (National_elv, National_ens, ...).',
    multiValued: true,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('National_ + three lower-case letters, one value per profile at the establishment', 'National_elv'),
  },
  {
    code: 'NOM',
    label: 'Last name',
    description: 'Usual last name of the user.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('text', 'Martin'),
  },
  {
    code: 'PRE',
    label: 'First name',
    description: 'Usual first name of the user (other first names are never sent).',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('text', 'Léa'),
  },
  {
    code: 'CIV',
    label: 'Civility',
    description: 'Civility of the user (M. or Mme).',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'ours',
    degrees: BOTH,
    formats: fmt('`M.` or `Mme`', 'Mme'),
  },
  {
    code: 'DIV',
    label: 'Classes',
    description: 'The classes (divisions) of the user in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv', ...TEACHERS],
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: versions(
      [2, '`<code>##<label>`: the class code and its label (GARGroupeLibelle), one value per class, as GAR sends it', '3A##3e A'],
      [1, 'the class code alone', '3A'],
    ),
  },
  {
    code: 'GRO',
    label: 'Groups',
    description:
      'The teaching groups of the user in the establishment of the access. The divisions a group belongs to are not ' +
      'appended (see README: one public sample has `code##label##division`, but a group may belong to several divisions or none).',
    multiValued: true,
    profiles: ['National_elv', ...TEACHERS],
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: versions(
      [2, '`<code>##<label>`: the group code and its label (GARGroupeLibelle), one value per group', 'LAT3##Latin 3e'],
      [1, 'the group code alone', 'LAT3'],
    ),
  },
  {
    code: 'P_MEL',
    label: 'Staff e-mail',
    description: 'Professional e-mail address of a teacher or staff member. Never sent for pupils.',
    multiValued: false,
    profiles: STAFF,
    alwaysSent: false,
    origin: 'observed',
    degrees: SECONDARY,
    formats: fmt('an e-mail address; the first the feed gives', 'paul.durand@ac-test.fr'),
  },
  {
    code: 'idENT',
    label: 'ENT project',
    description: 'Code of the ENT project (workspace) the user comes from.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: versions(
      [2, 'standard Base64 (with `=` padding) of the ENT project code, as in GAR’s entry link', 'WjA='],
      [1, 'the ENT project code in clear', 'Z0'],
    ),
  },
  {
    code: 'IDC',
    label: 'Resource-scoped identifier',
    description: 'The resource ARK joined to the opaque identifier: `<ark>_<IDO>`.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('`<idRessource>_<IDO>`: the resource ARK, an underscore, the IDO', 'ark:/12345/maths-3e_a3f1…(128 hex)'),
  },
  {
    code: 'LRA',
    label: 'Resource URL family',
    description:
      'The URLs of the resource’s site family: its own and those of its family (the mother resource and every member, ' +
      '`mereFamille`/`membreFamille` of the catalogue), each resource’s access URL and catalogue landing URL.',
    multiValued: true,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: versions(
      [2, 'absolute URLs, one value per URL of the family, the resource’s own first', 'https://maths.example/'],
      [1, 'one absolute URL: the resource’s access URL', 'https://maths.example/'],
    ),
  },
  {
    code: 'E_MS',
    label: 'Subjects followed',
    description: 'Codes of the subjects a pupil follows in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv'],
    alwaysSent: false,
    origin: 'ours',
    degrees: SECONDARY,
    formats: fmt('subject code (BCN matière), one value per subject', '030201'),
  },
  {
    code: 'P_MS',
    label: 'Subjects taught',
    description: 'Codes of the subjects a teacher teaches in the establishment of the access.',
    multiValued: true,
    profiles: TEACHERS,
    alwaysSent: false,
    origin: 'ours',
    degrees: SECONDARY,
    formats: fmt('subject code (BCN matière), one value per subject taught', '030201'),
  },
  {
    code: 'MEF',
    label: 'Training levels',
    description: 'MEF codes (training level) of the user in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv', ...TEACHERS],
    alwaysSent: false,
    origin: 'ours',
    degrees: SECONDARY,
    formats: fmt('11-character MEF code', '10310019110'),
  },
  {
    code: 'E_MS4',
    label: 'Levels followed (MEFSTAT4)',
    description:
      'MEFSTAT4 codes of the levels a pupil follows at the establishment of the access: GARPersonMEFSTAT4 in a primary ' +
      'school; in a secondary school, the first four characters of the GARMEFSTAT11 the establishment lists for each of ' +
      'the pupil’s MEFs (a MEF without a MEFSTAT11 gives no value; the 11-character MEF code itself does not contain the level).',
    multiValued: true,
    profiles: ['National_elv'],
    alwaysSent: false,
    origin: 'ours',
    degrees: BOTH,
    formats: fmt('4 characters (digits), one value per level', '2115'),
  },
  {
    code: 'P_MS4',
    label: 'Levels taught (MEFSTAT4)',
    description: 'MEFSTAT4 codes of the levels a teacher teaches at the establishment of the access; same sources as E_MS4.',
    multiValued: true,
    profiles: TEACHERS,
    alwaysSent: false,
    origin: 'observed',
    degrees: BOTH,
    formats: fmt('4 characters (digits), one value per level', '2211'),
  },
] satisfies AttributeDefinition[]);

/** The codes a primary school's feed (GAR-ENT-1D) has no source for: never sent from one. */
export const NOT_IN_PRIMARY: readonly string[] = ATTRIBUTES.filter((a) => !a.degrees.includes(1)).map((a) => a.code);

export const currentFormat = (def: AttributeDefinition): number => def.formats[0]!.version;

/**
 * The format version a resource receives: the one it was approved under (or opted in to), bounded by
 * the versions the dictionary knows, so that a stale or future number never invents a shape.
 */
export function formatFor(def: AttributeDefinition, approvedVersion: number | undefined): number {
  const known = def.formats.map((f) => f.version);
  if (approvedVersion !== undefined && known.includes(approvedVersion)) return approvedVersion;
  return approvedVersion !== undefined && approvedVersion < Math.min(...known) ? Math.min(...known) : currentFormat(def);
}

const BY_CODE = new Map(ATTRIBUTES.map((a) => [a.code, a]));

export function attributeByCode(code: string): AttributeDefinition | undefined {
  return BY_CODE.get(code);
}
