import type { AppError, FieldError } from '../../errors.js';
import type { SnapshotBody } from '../directory/directory.schemas.js';
import type { Gathered } from './establishment-share.js';

/*
 * One establishment of a nightly export, gathered from its spilled lines, as the complete JSON
 * snapshot of it that applySnapshot takes: on the feed thread that applies it (PostgreSQL) or on the
 * event loop (embedded).
 */

export interface EstablishmentHeader {
  name: string | null;
  primary: boolean;
}

/** The establishment's part of the export as the JSON snapshot of it, and codes naming nobody placed there. */
export function snapshotOf(uai: string, s: EstablishmentHeader, g: Gathered) {
  const orphans = [...g.codes.keys()].filter((id) => !g.placements.has(id)).map((id) => ({ path: `/people/${id}`, message: `MEF or subject codes for "${id}", who has no profile at ${uai}` }));
  const body: SnapshotBody = {
    establishment: { ...(s.name ? { name: s.name } : {}), ...(s.primary ? { degree: 1 as const } : {}) },
    people: [...g.placements].map(([id, profiles]) => {
      const p = g.people.get(id)!;
      const codes = g.codes.get(id);
      return {
        id,
        lastName: p.last_name,
        firstName: p.first_name,
        otherFirstNames: p.other_first_names,
        ...(p.birth_name ? { birthName: p.birth_name } : {}),
        ...(p.civility ? { civility: p.civility as 'M.' | 'Mme' } : {}),
        ...(p.birth_date ? { birthDate: p.birth_date } : {}),
        ...(p.struct_rattach ? { structRattach: p.struct_rattach } : {}),
        emails: p.emails,
        disciplines: p.disciplines,
        profiles: [...profiles].map((profile) => ({ uai, profile })),
        mefs: [...(codes?.mefs ?? [])],
        subjects: [...(codes?.subjects ?? [])],
      };
    }),
    groups: [...g.groups.values()].map((x) => ({ code: x.code, name: x.name, kind: x.kind, ...(x.divisions.length ? { divisions: x.divisions } : {}) })),
    memberships: [...g.memberships.values()],
    // A primary school has no teachings, subjects or MEF lists: those sections are left out, not emptied.
    ...(s.primary
      ? {}
      : {
          teachings: [...g.teachings.values()].map((t) => ({ personId: t.personId, groupCode: t.groupCode, subjects: [...t.subjects].sort() })),
          subjects: [...g.subjects].map(([code, name]) => ({ code, name })),
          mefs: [...g.mefs].map(([code, name]) => ({ code, name })),
        }),
  };
  return { body, orphans };
}

/** `/people/3/birthDate` of the synthesised snapshot → `/people/E1-000123/birthDate`, which the ENT can find. */
export function readablePath(path: string, body: SnapshotBody): string {
  const m = /^\/(people|groups|memberships|teachings|subjects|mefs)\/(\d+)(.*)$/.exec(path);
  if (!m) return path;
  const item = (body[m[1] as keyof SnapshotBody] as unknown[] | undefined)?.[Number(m[2])] as Record<string, unknown> | undefined;
  if (!item) return path;
  const key = 'id' in item ? item.id : 'code' in item ? item.code : `${String(item.personId)}/${String(item.groupCode)}`;
  return `/${m[1]}/${String(key)}${m[3]}`;
}

/** What a refused establishment reports: its first errors, with paths the ENT can find, and their count. */
export function refusedItems(err: AppError, body: SnapshotBody): { errors: FieldError[]; count: number } {
  const list = (err.extra.errors as FieldError[] | undefined) ?? [{ path: '/', message: err.detail ?? err.title }];
  const count = typeof err.extra.errorCount === 'number' ? err.extra.errorCount : list.length;
  return { errors: list.map((e) => ({ path: readablePath(e.path, body), message: e.message })), count };
}
