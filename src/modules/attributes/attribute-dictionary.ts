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
}

const STAFF: readonly Profile[] = ['National_ens', 'National_doc', 'National_dir', 'National_evs', 'National_eta', 'National_col'];
const TEACHERS: readonly Profile[] = ['National_ens', 'National_doc'];

export const ATTRIBUTES: readonly AttributeDefinition[] = Object.freeze([
  {
    code: 'IDO',
    label: 'Opaque identifier',
    description: 'Pseudonymous, stable identifier of the user (keyed hash); the SAML subject. Always sent, never requested.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: true,
    origin: 'observed',
  },
  {
    code: 'UAI',
    label: 'Establishment',
    description: 'UAI of the establishment the user opens the resource from.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'PRO',
    label: 'Profile',
    description: 'National profile of the user in that establishment (National_elv, National_ens, ...).',
    multiValued: true,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'NOM',
    label: 'Last name',
    description: 'Usual last name of the user.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'PRE',
    label: 'First name',
    description: 'Usual first name of the user (other first names are never sent).',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'CIV',
    label: 'Civility',
    description: 'Civility of the user (M. or Mme).',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'ours',
  },
  {
    code: 'DIV',
    label: 'Classes',
    description: 'Codes of the classes (divisions) of the user in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv', ...TEACHERS],
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'GRO',
    label: 'Groups',
    description: 'Codes of the teaching groups of the user in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv', ...TEACHERS],
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'P_MEL',
    label: 'Staff e-mail',
    description: 'Professional e-mail address of a teacher or staff member. Never sent for pupils.',
    multiValued: false,
    profiles: STAFF,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'idENT',
    label: 'ENT project',
    description: 'Code of the ENT project (workspace) the user comes from.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'IDC',
    label: 'Resource-scoped identifier',
    description: 'The resource ARK joined to the opaque identifier: `<ark>_<IDO>`.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'LRA',
    label: 'Resource URL family',
    description: 'The URL family of the resource the user opens.',
    multiValued: false,
    profiles: PROFILES,
    alwaysSent: false,
    origin: 'observed',
  },
  {
    code: 'E_MS',
    label: 'Subjects followed',
    description: 'Codes of the subjects a pupil follows in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv'],
    alwaysSent: false,
    origin: 'ours',
  },
  {
    code: 'P_MS',
    label: 'Subjects taught',
    description: 'Codes of the subjects a teacher teaches in the establishment of the access.',
    multiValued: true,
    profiles: TEACHERS,
    alwaysSent: false,
    origin: 'ours',
  },
  {
    code: 'MEF',
    label: 'Training levels',
    description: 'MEF codes (training level) of the user in the establishment of the access.',
    multiValued: true,
    profiles: ['National_elv', ...TEACHERS],
    alwaysSent: false,
    origin: 'ours',
  },
] satisfies AttributeDefinition[]);

const BY_CODE = new Map(ATTRIBUTES.map((a) => [a.code, a]));

export function attributeByCode(code: string): AttributeDefinition | undefined {
  return BY_CODE.get(code);
}
