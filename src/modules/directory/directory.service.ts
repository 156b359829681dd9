import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { errors, type FieldError } from '../../errors.js';
import { isValidUai } from '../../lib/uai.js';
import { mapYielding } from '../../lib/yielding.js';
import * as repo from './directory.repository.js';
import { canonicalProfile, personRow, sortedSet, type PlacementRow } from './directory.rows.js';
import type { ChangesBody, FeedResult, PersonInput, SnapshotBody, XmlFeedResult } from './directory.schemas.js';
import { checkChanges, checkPrimary, checkSnapshot, changesReferences, invalidFeed as invalid } from './directory.validation.js';
import { withFeedSlot } from './feed-slots.js';
import { detachAssignmentsOf, reattachAssignments } from './detached-assignments.js';
import type { GarFeed } from './gar-ent.mapping.js';

/*
 * The directory feed: validation, then one transaction per feed. A feed is applied whole or not at
 * all, and concurrent feeds of one establishment are serialised by a row lock on it.
 */

export interface FeedContext {
  db: Kysely<Database>;
  entId: string;
  uai: string;
  now: Date;
  /** What the route's JSON schema already found wrong; reported together with the rules below. */
  schemaErrors: FieldError[];
  /** Who sends the feed (the token's sub), for the audit entries of detached assignments. */
  actor?: string;
  /** The snapshot rules' errors when they were already checked off the event loop (src/modules/directory/feed-checks.ts). */
  ruleErrors?: FieldError[];
}

/** The UAIs of the caller's project among those a body names, so profiles may point at them. */
async function projectUaisIn(db: Kysely<Database>, entId: string, body: unknown, uai: string): Promise<Set<string>> {
  const named = new Set<string>([uai]);
  const visit = (people: unknown) => {
    if (!Array.isArray(people)) return;
    for (const p of people) {
      const profiles = (p as { profiles?: unknown })?.profiles;
      if (!Array.isArray(profiles)) continue;
      for (const pr of profiles) {
        const u = (pr as { uai?: unknown })?.uai;
        if (typeof u === 'string' && isValidUai(u)) named.add(u);
      }
    }
  };
  const b = (body ?? {}) as { people?: unknown; upserts?: { people?: unknown } };
  visit(b.people);
  visit(b.upserts?.people);
  const rows = await repo.findEstablishments(db, [...named]);
  return new Set(rows.filter((r) => r.ent_id === entId).map((r) => r.uai));
}

const placementAt = (p: PersonInput, uai: string): PlacementRow => ({
  uai,
  person_id: p.id,
  profiles: sortedSet(p.profiles.filter((x) => x.uai === uai).map((x) => canonicalProfile(x.profile)!)),
  mefs: sortedSet(p.mefs ?? []),
  subjects: sortedSet(p.subjects ?? []),
});

function peopleCounts(total: number, people: repo.Changed, placements: repo.Changed, uai: string) {
  const created = new Set(placements.inserted.map((k) => k.slice(uai.length + 1)));
  const updated = new Set([...people.updated, ...people.inserted, ...placements.updated.map((k) => k.slice(uai.length + 1))]);
  for (const id of created) updated.delete(id);
  return { created: created.size, updated: updated.size, unchanged: total - created.size - updated.size };
}

async function snapshotRuleErrors({ db, entId, uai, now }: FeedContext, body: SnapshotBody): Promise<FieldError[]> {
  const projectUais = await projectUaisIn(db, entId, body, uai);
  // An omitted section is left as stored (an explicit empty list empties it); links may then refer
  // to the stored groups.
  const storedGroups =
    body.groups === undefined && (body.memberships?.length || body.teachings?.length)
      ? new Map([...(await repo.storedGroupKinds(db, [...new Set([...(body.memberships ?? []), ...(body.teachings ?? [])].map((m) => m.groupCode))].map((code) => ({ uai, code }))))].map(([k, v]) => [k.slice(uai.length + 1), v]))
      : undefined;
  const degree = body.establishment?.degree ?? (await repo.degreeOf(db, uai));
  return [...checkSnapshot(body, { uai, projectUais, today: now }, storedGroups), ...(degree === 1 ? checkPrimary(body, '') : [])];
}

export async function applySnapshot(ctx: FeedContext, body: SnapshotBody): Promise<FeedResult> {
  const { db, entId, uai, now } = ctx;
  const actor = ctx.actor ?? `ent:${entId}`;
  const problems = [...ctx.schemaErrors, ...(ctx.ruleErrors ?? (await snapshotRuleErrors(ctx, body)))];
  if (problems.length) throw invalid(problems);

  const groups = (body.groups ?? []).map((g) => ({ uai, code: g.code, name: g.name, kind: g.kind, divisions: sortedSet(g.divisions ?? []) }));
  const links = (body.memberships ?? []).map((m) => ({ uai, person_id: m.personId, group_code: m.groupCode }));
  const teachings = (body.teachings ?? []).map((t) => ({ uai, person_id: t.personId, group_code: t.groupCode, subjects: sortedSet(t.subjects) }));
  const subjects = (body.subjects ?? []).map((s) => ({ uai, code: s.code, name: s.name }));
  const mefs = (body.mefs ?? []).map((s) => ({ uai, code: s.code, name: s.name, mefstat11: s.mefstat11 ?? null }));
  const ids = body.people.map((p) => p.id);

  return withFeedSlot(() => db.transaction().execute(async (trx) => {
    await repo.lockEstablishments(trx, [uai]);
    if (body.establishment?.name) await repo.renameEstablishment(trx, uai, body.establishment.name, now);
    if (body.establishment?.degree) await repo.setDegree(trx, [uai], body.establishment.degree);

    // Compare with what is stored and write only the differences.
    const stored = await repo.readPlacements(trx, uai);
    const personRows = await mapYielding(body.people, personRow);
    const placementRows = await mapYielding(body.people, (p) => placementAt(p, uai));
    const people = await repo.upsertPeople(
      trx,
      entId,
      personRows.filter((r) => {
        const s = stored.get(r.person_id);
        return !s || s.person_gone || s.hash !== r.hash;
      }),
      now,
    );
    const placements = await repo.upsertPlacements(
      trx,
      entId,
      placementRows.filter((r) => {
        const s = stored.get(r.person_id);
        return !s || s.gone || s.codes !== repo.placementCodes(r);
      }),
      now,
      'replace',
    );
    const present = new Set(ids);
    const leaving = [...stored].filter(([id, s]) => !s.gone && !present.has(id)).map(([id]) => id);
    const gone = leaving.length ? await repo.markGoneAt(trx, entId, uai, { only: leaving }, now) : [];
    await repo.markPeopleGoneWhereNoActivePlacement(trx, gone, now);

    let deletedGroups = 0;
    if (body.groups !== undefined) {
      const keep = { keep: groups.map((g) => g.code) };
      await detachAssignmentsOf(trx, uai, keep, now, actor);
      deletedGroups = await repo.deleteGroups(trx, uai, keep);
    }
    const g = await repo.upsertGroups(trx, groups);
    if (g.inserted.length) await reattachAssignments(trx, [uai], now, actor);

    // Links are compared by row ids. Every person of the snapshot is now placed here: either stored
    // before, or returned by the placement upsert.
    const pkOf = new Map([...stored].map(([id, s]) => [id, s.pk]));
    for (const [key, pk] of placements.pks) pkOf.set(key.slice(uai.length + 1), pk);
    const groupIds = await repo.readGroupIds(trx, uai);
    const pair = (personId: string, groupCode: string): repo.LinkPk => {
      const person_id = pkOf.get(personId);
      const group_id = groupIds.get(groupCode);
      // Validation guarantees both; anything else is a bug, not a bad request.
      if (person_id === undefined || group_id === undefined) throw new Error('snapshot link without its person or group');
      return { group_id, person_id };
    };
    const pkKey = (x: repo.LinkPk) => `${x.group_id}:${x.person_id}`;

    // The links of people who left go whether or not the snapshot lists links.
    const goneLinks = await repo.removeLinksOf(trx, uai, gone);
    let removed = goneLinks.memberships;
    let added = 0;
    if (body.memberships !== undefined) {
      const wanted = links.map((l) => pair(l.person_id, l.group_code));
      const wantedKeys = new Set(wanted.map(pkKey));
      const current = await repo.readMembershipPks(trx, uai);
      const currentKeys = new Set(current.map(pkKey));
      removed += await repo.deleteMembershipPks(trx, current.filter((m) => !wantedKeys.has(pkKey(m))));
      added = await repo.insertMembershipPks(trx, wanted.filter((m) => !currentKeys.has(pkKey(m))));
    }

    let teachingsRemoved = goneLinks.teachings;
    let teach = { added: 0, updated: 0 };
    if (body.teachings !== undefined) {
      const wantedTeachings = teachings.map((x) => ({ ...pair(x.person_id, x.group_code), subjects: x.subjects }));
      const wantedTeachingKeys = new Set(wantedTeachings.map(pkKey));
      const currentTeachings = new Map((await repo.readTeachingPks(trx, uai)).map((x) => [pkKey(x), x]));
      teachingsRemoved += await repo.deleteTeachingPks(trx, [...currentTeachings.values()].filter((x) => !wantedTeachingKeys.has(pkKey(x))));
      teach = await repo.upsertTeachingPks(
        trx,
        wantedTeachings.filter((x) => {
          const c = currentTeachings.get(pkKey(x));
          return !c || !same(c.subjects, x.subjects);
        }),
      );
    }

    const subjectsDeleted = body.subjects === undefined ? 0 : await repo.deleteCodes(trx, 'subjects', uai, { keep: subjects.map((s) => s.code) });
    const mefsDeleted = body.mefs === undefined ? 0 : await repo.deleteCodes(trx, 'mefs', uai, { keep: mefs.map((s) => s.code) });
    return {
      uai,
      people: { ...peopleCounts(ids.length, people, placements, uai), gone: gone.length },
      groups: {
        created: g.inserted.length,
        updated: g.updated.length,
        unchanged: groups.length - g.inserted.length - g.updated.length,
        deleted: deletedGroups,
      },
      memberships: { added, removed },
      teachings: { ...teach, removed: teachingsRemoved },
      subjects: { upserted: await repo.upsertCodes(trx, 'subjects', subjects), deleted: subjectsDeleted },
      mefs: { upserted: await repo.upsertCodes(trx, 'mefs', mefs), deleted: mefsDeleted },
    };
  }));
}

/** Equality of two sorted, duplicate-free lists. */
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function applyChanges(ctx: FeedContext, body: ChangesBody): Promise<FeedResult> {
  const { db, entId, uai, now } = ctx;
  const projectUais = await projectUaisIn(db, entId, body, uai);
  return withFeedSlot(() => db.transaction().execute(async (trx) => {
    await repo.lockEstablishments(trx, [uai]);
    // References may point at what is stored; read it under the lock so it cannot change meanwhile.
    const refs = changesReferences(body);
    const storedPeople = await repo.activePeopleAt(trx, entId, refs.people.map((person_id) => ({ uai, person_id })));
    const storedGroups = await repo.storedGroupKinds(trx, refs.groups.map((code) => ({ uai, code })));
    const degree = body.establishment?.degree ?? (await repo.degreeOf(trx, uai));
    const problems = [
      ...ctx.schemaErrors,
      ...(degree === 1 ? checkPrimary(body, '/upserts') : []),
      ...checkChanges(body, { uai, projectUais, today: now }, {
        people: new Set([...storedPeople].map((k) => k.slice(uai.length + 1))),
        groups: new Map([...storedGroups].map(([k, v]) => [k.slice(uai.length + 1), v])),
      }),
    ];
    if (problems.length) throw invalid(problems);

    const up = body.upserts ?? {};
    const rm = body.removals ?? {};
    if (body.establishment?.name) await repo.renameEstablishment(trx, uai, body.establishment.name, now);
    if (body.establishment?.degree) await repo.setDegree(trx, [uai], body.establishment.degree);

    // Removals first, so that a delta may move a person from one class to another.
    const link = (x: { personId: string; groupCode: string }) => ({ uai, person_id: x.personId, group_code: x.groupCode });
    const membershipsRemoved = await repo.removeMemberships(trx, entId, (rm.memberships ?? []).map(link));
    const teachingsRemoved = await repo.removeTeachings(trx, entId, (rm.teachings ?? []).map(link));
    if (rm.groups?.length) await detachAssignmentsOf(trx, uai, { only: rm.groups }, now, ctx.actor ?? `ent:${entId}`);
    const groupsDeleted = rm.groups?.length ? await repo.deleteGroups(trx, uai, { only: rm.groups }) : 0;
    const gone = rm.people?.length ? await repo.markGoneAt(trx, entId, uai, { only: rm.people }, now) : [];
    const goneLinks = await repo.removeLinksOf(trx, uai, gone);
    await repo.markPeopleGoneWhereNoActivePlacement(trx, gone, now);
    const subjectsDeleted = rm.subjects?.length ? await repo.deleteCodes(trx, 'subjects', uai, { only: rm.subjects }) : 0;
    const mefsDeleted = rm.mefs?.length ? await repo.deleteCodes(trx, 'mefs', uai, { only: rm.mefs }) : 0;

    const upPeople = up.people ?? [];
    const people = await repo.upsertPeople(trx, entId, upPeople.map(personRow), now);
    const placements = await repo.upsertPlacements(trx, entId, upPeople.map((p) => placementAt(p, uai)), now, 'replace');
    const groups = (up.groups ?? []).map((g) => ({ uai, code: g.code, name: g.name, kind: g.kind, divisions: sortedSet(g.divisions ?? []) }));
    const g = await repo.upsertGroups(trx, groups);
    if (g.inserted.length) await reattachAssignments(trx, [uai], now, ctx.actor ?? `ent:${entId}`);
    const membershipsAdded = await repo.addMemberships(trx, entId, (up.memberships ?? []).map(link));
    const teach = await repo.upsertTeachings(
      trx,
      entId,
      (up.teachings ?? []).map((t) => ({ ...link(t), subjects: sortedSet(t.subjects) })),
    );
    const codes = (list: Array<{ code: string; name: string }> | undefined) => (list ?? []).map((c) => ({ uai, ...c }));
    return {
      uai,
      people: { ...peopleCounts(upPeople.length, people, placements, uai), gone: gone.length },
      groups: { created: g.inserted.length, updated: g.updated.length, unchanged: groups.length - g.inserted.length - g.updated.length, deleted: groupsDeleted },
      memberships: { added: membershipsAdded, removed: membershipsRemoved + goneLinks.memberships },
      teachings: { added: teach.added, updated: teach.updated, removed: teachingsRemoved + goneLinks.teachings },
      subjects: { upserted: await repo.upsertCodes(trx, 'subjects', codes(up.subjects)), deleted: subjectsDeleted },
      mefs: { upserted: await repo.upsertCodes(trx, 'mefs', codes(up.mefs)), deleted: mefsDeleted },
    };
  }));
}

/**
 * One official GAR-ENT file. A file is a part of a nightly export (at most 10,000 nodes each), so
 * it only adds and updates: nothing is marked gone or deleted because a file does not mention it.
 */
export async function applyGarEntFile(db: Kysely<Database>, entId: string, feed: GarFeed & { primarySchools?: string[] }, now: Date): Promise<XmlFeedResult> {
  // Scope before anything else about the content: a file touching another project's school is refused whole.
  const uais = [...feed.uais].sort();
  const owned = new Set((await repo.findEstablishments(db, uais)).filter((r) => r.ent_id === entId).map((r) => r.uai));
  const foreign = uais.filter((u) => !owned.has(u));
  if (foreign.length) {
    throw errors.forbidden(`the file names establishments not attached to your ENT project: ${foreign.slice(0, 20).join(', ')}`, {
      uais: foreign.slice(0, 100),
    });
  }
  if (feed.errors.length) throw invalid(feed.errors);

  return withFeedSlot(() => db.transaction().execute(async (trx) => {
    await repo.lockEstablishments(trx, uais);
    const key = (uai: string, id: string) => `${uai}\u0000${id}`;
    const filePeople = new Set(feed.placements.map((p) => key(p.uai, p.person_id)));
    const fileGroups = new Map(feed.groups.map((g) => [key(g.uai, g.code), g.kind]));
    const storedPeople = await repo.activePeopleAt(
      trx,
      entId,
      feed.personRefs.filter((r) => !filePeople.has(key(r.uai, r.person_id))),
    );
    const storedGroups = await repo.storedGroupKinds(trx, feed.groupRefs.filter((r) => !fileGroups.has(key(r.uai, r.code))));
    const problems: FieldError[] = [];
    for (const r of feed.personRefs) {
      const k = key(r.uai, r.person_id);
      if (!filePeople.has(k) && !storedPeople.has(k)) problems.push({ path: r.path, message: `no person "${r.person_id}" at ${r.uai}` });
    }
    for (const r of feed.groupRefs) {
      const kind = fileGroups.get(key(r.uai, r.code)) ?? storedGroups.get(key(r.uai, r.code));
      if (!kind) problems.push({ path: r.path, message: `no group "${r.code}" at ${r.uai}` });
      else if (r.kind && kind !== r.kind) problems.push({ path: r.path, message: `"${r.code}" is a ${kind}, not a ${r.kind}` });
    }
    if (problems.length) throw invalid(problems);

    let renamed = 0;
    for (const e of feed.establishments) renamed += await repo.renameEstablishment(trx, e.uai, e.name, now);
    if (feed.primarySchools?.length) await repo.setDegree(trx, feed.primarySchools, 1);
    const people = await repo.upsertPeople(trx, entId, feed.people, now);
    const placements = await repo.upsertPlacements(trx, entId, feed.placements, now, 'profiles');
    await repo.addPlacementCodes(trx, entId, feed.placementCodes, now);
    const g = await repo.upsertGroups(trx, feed.groups);
    if (g.inserted.length) await reattachAssignments(trx, uais, now, `ent:${entId}`);
    const memberships = await repo.addMemberships(trx, entId, feed.memberships);
    const teach = await repo.upsertTeachings(trx, entId, feed.teachings);
    const managers = await repo.upsertAssignmentManagers(trx, entId, feed.managers, now);

    const created = new Set(placements.inserted.map((k) => k.split('\u0000')[1]!));
    const updated = new Set([...people.inserted, ...people.updated, ...placements.updated.map((k) => k.split('\u0000')[1]!)]);
    for (const id of created) updated.delete(id);
    return {
      kind: feed.kind,
      version: feed.version,
      degree: feed.primarySchools ? 1 : 2,
      uais,
      records: feed.records,
      people: { created: created.size, updated: updated.size, unchanged: feed.people.length - created.size - updated.size },
      groups: { created: g.inserted.length, updated: g.updated.length, unchanged: feed.groups.length - g.inserted.length - g.updated.length },
      memberships: { added: memberships },
      teachings: teach,
      subjects: { upserted: await repo.upsertCodes(trx, 'subjects', feed.subjects) },
      mefs: { upserted: await repo.upsertCodes(trx, 'mefs', feed.mefs) },
      establishments: { updated: renamed },
      assignmentManagers: {
        created: managers.inserted.length,
        updated: managers.updated.length,
        unchanged: feed.managers.length - managers.inserted.length - managers.updated.length,
      },
    };
  }));
}
