import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors } from '../../errors.js';
import { audienceOf, audienceOfProfile, canonicalProfile } from '../subscriptions/audiences.js';
import {
  coveredCounts,
  findSubscriptionsAtUai,
  lockSubscription,
  type SubscriptionRow,
  type TargetRef,
} from '../subscriptions/subscriptions.repository.js';
import { licenceShortfall, statusAt } from '../subscriptions/subscriptions.service.js';
import { assignmentExists, findAssignment, findGroup, findPresentPerson, insertAssignment, type AssignmentRow } from './assignments.repository.js';
import type { AssignmentInput, AssignmentView } from './assignments.schemas.js';

export function toAssignmentView(r: AssignmentRow): AssignmentView {
  const id = r.person_ref ?? r.group_code ?? r.profile ?? undefined;
  return {
    id: String(r.id),
    uai: r.uai,
    subscriptionId: r.subscription_id,
    publisherId: r.publisher_id,
    resourceId: r.resource_id,
    target: { type: r.target_type, ...(id !== undefined ? { id } : {}), ...(r.group_name ? { name: r.group_name } : {}) },
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    ...(r.created_as ? { createdAs: r.created_as } : {}),
    ...(r.detached_at ? { detachedAt: new Date(r.detached_at).toISOString() } : {}),
  };
}

/** The subscription an establishment names by its id, told apart by publisher when two used the same id. */
export async function subscriptionAt(db: Kysely<Database>, uai: string, id: string, publisherId?: string): Promise<SubscriptionRow> {
  const found = (await findSubscriptionsAtUai(db, uai, id)).filter((s) => publisherId === undefined || s.publisher_id === publisherId);
  if (found.length === 0) throw errors.notFound('subscription', id);
  if (found.length > 1) {
    throw errors.validation('several publishers use this subscription id here', [
      { path: 'body/publisherId', message: `give one of ${found.map((s) => s.publisher_id).join(', ')}` },
    ]);
  }
  return found[0]!;
}

/** Turns the API's target into stored ids, refusing what the subscription's audiences exclude. */
async function resolveTarget(db: Kysely<Database>, sub: SubscriptionRow, target: AssignmentInput['target']): Promise<TargetRef> {
  const none = { personId: null, groupId: null, profile: null };
  if (target.type === 'establishment') {
    if (target.id !== undefined) {
      throw errors.validation('an establishment target has no id', [{ path: 'body/target/id', message: 'must be absent for type "establishment"' }]);
    }
    return { type: 'establishment', ...none };
  }
  if (target.id === undefined) {
    throw errors.validation(`a ${target.type} target needs an id`, [{ path: 'body/target/id', message: `required for type "${target.type}"` }]);
  }
  switch (target.type) {
    case 'person': {
      const person = await findPresentPerson(db, sub.uai, target.id);
      if (!person) throw errors.notFound('person at this establishment', target.id);
      if (!audienceOf(person.profiles, sub.audiences)) {
        throw errors.validation('this person is outside the subscription\'s audiences', [
          { path: 'body/target/id', message: `none of the person's profiles here falls in ${sub.audiences.join(', ')}` },
        ]);
      }
      return { type: 'person', ...none, personId: person.id };
    }
    case 'division':
    case 'group': {
      const group = await findGroup(db, sub.uai, target.id);
      if (!group) throw errors.notFound(target.type, target.id);
      const wanted = target.type === 'division' ? 'DIVISION' : 'GROUPE';
      if (group.kind !== wanted) {
        throw errors.validation(`"${target.id}" is a ${group.kind === 'DIVISION' ? 'division' : 'group'}`, [
          { path: 'body/target/type', message: `must be "${group.kind === 'DIVISION' ? 'division' : 'group'}" for this code` },
        ]);
      }
      return { type: target.type, ...none, groupId: group.id };
    }
    case 'profile': {
      const profile = canonicalProfile(target.id);
      if (!profile) {
        throw errors.validation('unknown profile', [{ path: 'body/target/id', message: 'must be one of National_elv, National_ens, National_doc, National_dir, National_evs, National_eta, National_col' }]);
      }
      const audience = audienceOfProfile(profile)!;
      if (!sub.audiences.includes(audience)) {
        throw errors.validation('this profile is outside the subscription\'s audiences', [
          { path: 'body/target/id', message: `${profile} belongs to ${audience}; the subscription is for ${sub.audiences.join(', ')}` },
        ]);
      }
      return { type: 'profile', ...none, profile };
    }
  }
}

/**
 * Gives a subscription's licences to a target. The subscription row is locked for the whole check
 * and insert, so that two simultaneous assignments cannot both take the last licences.
 */
export async function createAssignment(
  db: Kysely<Database>,
  args: { uai: string; input: AssignmentInput; createdBy: string; createdAs: string; now: Date },
): Promise<AssignmentView> {
  const { uai, input, now } = args;
  const sub = await subscriptionAt(db, uai, input.subscriptionId, input.publisherId);
  if (sub.assignment_type === 'ETABL') {
    throw errors.validation('an ETABL subscription needs no assignment', [
      { path: 'body/subscriptionId', message: 'ETABL subscriptions already cover everyone of their audiences at the establishment' },
    ]);
  }
  if (statusAt(sub, now) === 'expired') throw errors.conflict(`subscription "${sub.id}" ended on ${new Date(sub.ends_at).toISOString()}`);
  const target = await resolveTarget(db, sub, input.target);

  const id = await db.transaction().execute(async (trx) => {
    await lockSubscription(trx, sub.pk);
    if (await assignmentExists(trx, sub.pk, target)) throw errors.conflict('this target already has this subscription');
    const before = await coveredCounts(trx, sub);
    const after = await coveredCounts(trx, sub, target);
    const short = licenceShortfall(sub, before, after);
    if (short) {
      const what = short.audience === 'global' ? 'licence(s)' : `${short.audience} licence(s)`;
      throw errors.conflict(`this assignment needs ${short.needed} ${what} but only ${short.left} are left`, {
        audience: short.audience,
        left: short.left,
        needed: short.needed,
      });
    }
    return insertAssignment(trx, { subscriptionPk: sub.pk, uai, target, createdBy: args.createdBy, createdAs: args.createdAs, now });
  });
  return toAssignmentView((await findAssignment(db, uai, id))!);
}
