import { ATTRIBUTES, formatFor, type AttributeDefinition } from '../attributes/attribute-dictionary.js';
import type { SamlAttribute } from '../../saml/response.js';
import type { DecisionFacts } from './sso.repository.js';
import { opaqueId, stableId } from './ido.js';

export const REFUSAL_REASONS = [
  'establishment_out_of_scope',
  'unknown_person',
  'person_gone',
  'restricted',
  'objected',
  'unknown_resource',
  'no_subscription',
  'subscription_expired',
  'subscription_not_started',
  'not_assigned',
  'no_approved_data_request',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const REFUSAL_TEXT: Record<RefusalReason, string> = {
  establishment_out_of_scope: 'this establishment is not attached to your ENT project',
  unknown_person: 'no such person at this establishment',
  person_gone: 'this person is no longer at this establishment',
  restricted: 'processing of this person’s data is restricted',
  objected: 'this person objected to the processing of their data',
  unknown_resource: 'no such resource',
  no_subscription: 'the establishment has no subscription to this resource',
  subscription_expired: 'the establishment’s subscription to this resource has ended',
  subscription_not_started: 'the establishment’s subscription to this resource has not started yet',
  not_assigned: 'this resource is not assigned to this person',
  no_approved_data_request: 'the ministry has not approved a data request for this resource',
};
export const refusalText = (r: RefusalReason) => REFUSAL_TEXT[r];

/** The first rule that fails, in the order a person would look for the cause; null grants. */
export function refusalReason(facts: DecisionFacts, entId: string): RefusalReason | null {
  if (facts.establishmentEntId !== entId) return 'establishment_out_of_scope';
  const p = facts.person;
  if (!p) return 'unknown_person';
  if (p.goneAt) return 'person_gone';
  if (p.restrictedAt) return 'restricted';
  if (p.objectedAt) return 'objected';
  if (!facts.resource) return 'unknown_resource';
  if (!facts.assigned) {
    const s = facts.subscriptions;
    // Same precedence as the resource list's subscriptionState().
    if (s.valid > 0) return 'not_assigned';
    if (s.notStarted > 0) return 'subscription_not_started';
    if (s.expired > 0) return 'subscription_expired';
    return 'no_subscription';
  }
  if (!facts.resource.hasReviewedRequest) return 'no_approved_data_request';
  return null;
}

type Granted = DecisionFacts & { person: NonNullable<DecisionFacts['person']>; resource: NonNullable<DecisionFacts['resource']> };

/** `code##label`, as GAR sends classes and groups (format version 2 of DIV and GRO). */
const withLabels = (codes: string[], labels: string[]) => codes.map((c, i) => `${c}##${labels[i] ?? c}`);

/**
 * Values of each code in the format version the resource receives (see the dictionary's `formats`),
 * scoped to the establishment of the access.
 */
function valuesOf(code: string, version: number, f: Granted, ido: string, uai: string, entId: string): string[] {
  const p = f.person;
  switch (code) {
    case 'IDO':
      return [ido];
    case 'UAI':
      return [uai];
    case 'PRO':
      return p.profiles;
    case 'NOM':
      return [p.lastName];
    case 'PRE':
      return [p.firstName];
    case 'CIV':
      return p.civility ? [p.civility] : [];
    case 'DIV':
      return version >= 2 ? withLabels(p.divisions, p.divisionLabels) : p.divisions;
    case 'GRO':
      return version >= 2 ? withLabels(p.groups, p.groupLabels) : p.groups;
    case 'P_MEL':
      return p.emails;
    case 'idENT':
      return [version >= 2 ? Buffer.from(entId, 'utf8').toString('base64') : entId];
    case 'IDC':
      return [`${f.resource.id}_${ido}`];
    case 'LRA':
      if (version >= 2) return f.resource.familyUrls;
      return f.resource.accessUrl ? [f.resource.accessUrl] : [];
    case 'E_MS':
      return p.subjects;
    case 'P_MS':
      return p.taughtSubjects;
    case 'MEF':
      return p.mefs;
    case 'E_MS4':
    case 'P_MS4':
      // A primary school's feed gives the MEFSTAT4 levels themselves; a secondary one gives MEFs,
      // whose MEFSTAT11 (the establishment's MEF list) starts with the level.
      return f.degree === 1 ? p.mefs : p.mefstat4;
    default:
      // A code the dictionary knows but this function does not is never sent.
      return [];
  }
}

const applies = (def: AttributeDefinition, profiles: string[]) => def.profiles.some((pr) => profiles.includes(pr));

/**
 * Exactly (approved for the resource) ∩ (applicable to the person's profiles here), plus IDO.
 * Dictionary order, empty values left out: nothing else can go out.
 */
export function releasedAttributes(f: Granted, q: { idoSecret: string; uai: string; entId: string; personId: string }): {
  ido: string;
  attributes: SamlAttribute[];
} {
  const scope = f.resource.idoScope;
  const ido =
    scope === 'stable'
      ? stableId(q.idoSecret, f.person.linkKey, q.entId, q.personId, f.resource.publisherId)
      : opaqueId(q.idoSecret, q.entId, q.personId, scope === 'pairwise' ? f.resource.publisherId : undefined);
  const approved = new Set(f.resource.released);
  const attributes: SamlAttribute[] = [];
  for (const def of ATTRIBUTES) {
    if (!def.alwaysSent && !approved.has(def.code)) continue;
    if (!def.alwaysSent && !applies(def, f.person.profiles)) continue;
    // A code the establishment's feed has no source for (e.g. MEF at a primary school, whose level
    // codes are MEFSTAT4) is never sent from it.
    if (!def.degrees.includes(f.degree)) continue;
    const values = valuesOf(def.code, formatFor(def, f.resource.releasedVersions[def.code]), f, ido, q.uai, q.entId);
    if (values.length > 0) attributes.push({ name: def.code, values: def.multiValued ? values : values.slice(0, 1) });
  }
  return { ido, attributes };
}

export function isGranted(f: DecisionFacts): f is Granted {
  return f.person !== null && f.resource !== null;
}
