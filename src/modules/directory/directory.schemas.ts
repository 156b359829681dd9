import { Type, type Static } from '@sinclair/typebox';

/** A closed list of strings as one `enum`, so that a wrong value is one error, not one per choice. */
const OneOf = <T extends string>(values: readonly T[], description?: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });
import { UAI_PATTERN } from '../../lib/uai.js';
import { Timestamp } from '../../lib/http-schemas.js';

/*
 * The JSON directory feed. Lengths are the GAR-ENT 1.7 limits (GARPersonIdentifiant ≤ 64, names
 * ≤ 500, codes and labels ≤ 255). Rules a schema cannot say (UAI check letter, profile codes,
 * references between items, duplicates) are checked in directory.validation.ts; both kinds of
 * error are answered together.
 */

export const PERSON_ID_MAX = 64;
export const NAME_MAX = 500;
export const CODE_MAX = 255;

const PersonId = Type.String({ minLength: 1, maxLength: PERSON_ID_MAX, description: 'the ENT id of the person (GARPersonIdentifiant)' });
const Code = Type.String({ minLength: 1, maxLength: CODE_MAX });
const Label = Type.String({ minLength: 1, maxLength: CODE_MAX });
const Name = Type.String({ minLength: 1, maxLength: NAME_MAX });
const Uai = Type.String({ maxLength: 8, description: 'UAI: 7 digits and a check letter' });

export const ProfileInput = Type.Object({
  uai: Uai,
  profile: Type.String({
    maxLength: 31,
    description: 'National_elv, National_ens, National_doc, National_dir, National_evs, National_eta or National_col (any case)',
  }),
});

export const PersonInput = Type.Object({
  id: PersonId,
  lastName: Name,
  firstName: Name,
  otherFirstNames: Type.Optional(Type.Array(Name, { maxItems: 20 })),
  birthName: Type.Optional(Name),
  civility: Type.Optional(OneOf(['M.', 'Mme'] as const)),
  birthDate: Type.Optional(
    Type.String({ format: 'date', description: 'kept only to de-duplicate accounts; never returned by any route' }),
  ),
  profiles: Type.Array(ProfileInput, { minItems: 1, maxItems: 50, description: 'profiles per UAI; those of this UAI are stored here' }),
  structRattach: Type.Optional(Type.String({ maxLength: 45 })),
  emails: Type.Optional(Type.Array(Type.String({ maxLength: 255, format: 'email' }), { maxItems: 10 })),
  mefs: Type.Optional(Type.Array(Code, { maxItems: 50, description: 'MEF codes followed or taught at this UAI' })),
  subjects: Type.Optional(Type.Array(Code, { maxItems: 100, description: 'subjects followed (pupils) at this UAI' })),
  disciplines: Type.Optional(Type.Array(Code, { maxItems: 50, description: "teachers' disciplines de poste at this UAI" })),
});
export type PersonInput = Static<typeof PersonInput>;

export const GroupInput = Type.Object({
  code: Code,
  name: Label,
  kind: OneOf(['DIVISION', 'GROUPE'] as const, 'DIVISION: a class; GROUPE: any other group'),
  divisions: Type.Optional(Type.Array(Code, { maxItems: 100, description: 'codes of the DIVISIONs a GROUPE belongs to' })),
});
export type GroupInput = Static<typeof GroupInput>;

export const MembershipInput = Type.Object({ personId: PersonId, groupCode: Code });
export type MembershipInput = Static<typeof MembershipInput>;

export const TeachingInput = Type.Object({
  personId: PersonId,
  groupCode: Code,
  subjects: Type.Array(Code, { minItems: 1, maxItems: 50 }),
});
export type TeachingInput = Static<typeof TeachingInput>;

export const CodeLabelInput = Type.Object({ code: Code, name: Label });
export type CodeLabelInput = Static<typeof CodeLabelInput>;

/** An establishment's MEF: GARMEF of GAR-ENT-Etab. */
export const MefInput = Type.Object({
  code: Code,
  name: Label,
  mefstat11: Type.Optional(
    Type.String({
      minLength: 4,
      maxLength: CODE_MAX,
      description: 'GARMEFSTAT11 of the MEF; its first four characters are the MEFSTAT4 level released as E_MS4/P_MS4',
    }),
  ),
});

/** A primary school's feed has the content of GAR-ENT-1D: see checkPrimary in directory.validation.ts. */
const Degree = Type.Union([Type.Literal(1), Type.Literal(2)], {
  description:
    '1: a primary school (GAR-ENT-1D content: `mefs` are MEFSTAT4 levels of at most 4 characters, `disciplines` are post ' +
    'specialities; no subjects, e-mails, teachings or subject and MEF lists). 2: secondary. Omitted: the stored degree (2 for a new school).',
});

const MAX_PEOPLE = 20_000;
const MAX_LINKS = 200_000;

export const SnapshotBody = Type.Object({
  establishment: Type.Optional(
    Type.Object({
      name: Type.Optional(Type.String({ minLength: 1, maxLength: NAME_MAX })),
      degree: Type.Optional(Degree),
    }),
  ),
  people: Type.Array(PersonInput, { maxItems: MAX_PEOPLE }),
  groups: Type.Optional(Type.Array(GroupInput, { maxItems: 5_000 })),
  memberships: Type.Optional(Type.Array(MembershipInput, { maxItems: MAX_LINKS })),
  teachings: Type.Optional(Type.Array(TeachingInput, { maxItems: MAX_LINKS })),
  subjects: Type.Optional(Type.Array(CodeLabelInput, { maxItems: 5_000 })),
  mefs: Type.Optional(Type.Array(MefInput, { maxItems: 5_000 })),
});
export type SnapshotBody = Static<typeof SnapshotBody>;

const LinkRef = Type.Object({ personId: PersonId, groupCode: Code });

export const ChangesBody = Type.Object({
  establishment: Type.Optional(
    Type.Object({
      name: Type.Optional(Type.String({ minLength: 1, maxLength: NAME_MAX })),
      degree: Type.Optional(Degree),
    }),
  ),
  upserts: Type.Optional(
    Type.Object({
      people: Type.Optional(Type.Array(PersonInput, { maxItems: MAX_PEOPLE })),
      groups: Type.Optional(Type.Array(GroupInput, { maxItems: 5_000 })),
      memberships: Type.Optional(Type.Array(MembershipInput, { maxItems: MAX_LINKS })),
      teachings: Type.Optional(Type.Array(TeachingInput, { maxItems: MAX_LINKS })),
      subjects: Type.Optional(Type.Array(CodeLabelInput, { maxItems: 5_000 })),
      mefs: Type.Optional(Type.Array(MefInput, { maxItems: 5_000 })),
    }),
  ),
  removals: Type.Optional(
    Type.Object({
      people: Type.Optional(Type.Array(PersonId, { maxItems: MAX_PEOPLE, description: 'marked gone at this UAI' })),
      groups: Type.Optional(Type.Array(Code, { maxItems: 5_000 })),
      memberships: Type.Optional(Type.Array(LinkRef, { maxItems: MAX_LINKS })),
      teachings: Type.Optional(Type.Array(LinkRef, { maxItems: MAX_LINKS })),
      subjects: Type.Optional(Type.Array(Code, { maxItems: 5_000 })),
      mefs: Type.Optional(Type.Array(Code, { maxItems: 5_000 })),
    }),
  ),
});
export type ChangesBody = Static<typeof ChangesBody>;

export const UaiParams = Type.Object({ uai: Type.String({ pattern: UAI_PATTERN, description: 'UAI: 7 digits and a check letter' }) });
export const PersonParams = Type.Object({
  uai: Type.String({ pattern: UAI_PATTERN }),
  personId: Type.String({ minLength: 1, maxLength: PERSON_ID_MAX }),
});

const Counts = (names: string[]) => Type.Object(Object.fromEntries(names.map((n) => [n, Type.Integer({ minimum: 0 })])));

export const FeedResultSchema = Type.Object({
  uai: Type.Optional(Type.String()),
  people: Counts(['created', 'updated', 'unchanged', 'gone']),
  groups: Counts(['created', 'updated', 'unchanged', 'deleted']),
  memberships: Counts(['added', 'removed']),
  teachings: Counts(['added', 'updated', 'removed']),
  subjects: Counts(['upserted', 'deleted']),
  mefs: Counts(['upserted', 'deleted']),
});
export type FeedResult = Static<typeof FeedResultSchema>;

export const XmlFeedResultSchema = Type.Object({
  kind: OneOf(['GAR-ENT-Eleve', 'GAR-ENT-Enseignant', 'GAR-ENT-Etab', 'GAR-ENT-Groupe', 'GAR-ENT-RespAff'] as const),
  version: Type.String(),
  degree: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { description: '1 for a GAR-ENT-1D file, 2 for GAR-ENT' })),
  uais: Type.Array(Type.String()),
  records: Type.Integer({ description: 'top-level elements read from the file' }),
  people: Counts(['created', 'updated', 'unchanged']),
  groups: Counts(['created', 'updated', 'unchanged']),
  memberships: Counts(['added']),
  teachings: Counts(['added', 'updated']),
  subjects: Counts(['upserted']),
  mefs: Counts(['upserted']),
  establishments: Counts(['updated']),
  assignmentManagers: Counts(['created', 'updated', 'unchanged']),
});
export type XmlFeedResult = Static<typeof XmlFeedResultSchema>;

const ProfileCounts = Type.Record(Type.String(), Type.Integer(), { description: 'by profile, e.g. {"National_elv": 412}' });

export const DirectorySummarySchema = Type.Object({
  uai: Type.String(),
  entId: Type.String(),
  name: Type.String(),
  people: Type.Object({ active: Type.Integer(), gone: Type.Integer(), activeByProfile: ProfileCounts, goneByProfile: ProfileCounts }),
  groups: Type.Object({ divisions: Type.Integer(), groups: Type.Integer() }),
  memberships: Type.Integer(),
  teachings: Type.Integer(),
  subjects: Type.Integer(),
  mefs: Type.Integer(),
  assignmentManagers: Type.Integer(),
});
export type DirectorySummary = Static<typeof DirectorySummarySchema>;

export const PersonRecordSchema = Type.Object({
  uai: Type.String(),
  id: Type.String(),
  lastName: Type.String(),
  firstName: Type.String(),
  otherFirstNames: Type.Array(Type.String()),
  birthName: Type.Union([Type.String(), Type.Null()]),
  civility: Type.Union([Type.String(), Type.Null()]),
  structRattach: Type.Union([Type.String(), Type.Null()]),
  emails: Type.Array(Type.String()),
  disciplines: Type.Array(Type.String()),
  profiles: Type.Array(Type.String(), { description: 'profiles at this UAI' }),
  mefs: Type.Array(Type.String()),
  subjects: Type.Array(Type.String()),
  groups: Type.Array(Type.Object({ code: Type.String(), name: Type.String(), kind: Type.String() })),
  teachings: Type.Array(Type.Object({ groupCode: Type.String(), subjects: Type.Array(Type.String()) })),
  goneAt: Type.Union([Timestamp, Type.Null()], { description: 'when the person left this establishment' }),
  personGoneAt: Type.Union([Timestamp, Type.Null()], { description: 'when the person left every establishment of the project' }),
  updatedAt: Timestamp,
});
export type PersonRecord = Static<typeof PersonRecordSchema>;
