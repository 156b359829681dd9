import { isValidUai } from '../../lib/uai.js';
import { ARK_PATTERN } from '../../modules/resources/resources.schemas.js';

export interface EntryLink {
  entId: string;
  uai: string | null;
  resourceId: string;
}

const ENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ARK = new RegExp(ARK_PATTERN);

/**
 * Base64 as ENTs write it: standard or URL-safe alphabet, padding present or not. A `+` that the
 * query-string parser turned into a space is put back. Returns null for anything else.
 */
export function decodeBase64Param(value: string): string | null {
  const s = value.trim().replace(/ /g, '+');
  if (s === '' || s.length > 2048 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) return null;
  // Padding is optional, but when present it must be right.
  if (s.endsWith('=') && s.length % 4 !== 0) return null;
  const bare = s.replace(/=+$/, '');
  if (bare.length % 4 === 1) return null;
  const decoded = Buffer.from(bare.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  // Re-encoding must give the same characters: no stray bits, nothing silently dropped.
  if (decoded.toString('base64').replace(/=+$/, '') !== bare.replace(/-/g, '+').replace(/_/g, '/')) return null;
  const text = decoded.toString('utf8');
  return text.includes('\uFFFD') ? null : text;
}

/** An ARK as found in `idRessource` (already decoded once by the query parser, sometimes twice encoded) or in `idSrc`. */
function normaliseArk(value: string): string | null {
  let v = value.trim();
  // Encoded twice (the query parser undid one level): undo the other, once.
  if (/^ark%3a/i.test(v)) {
    try {
      v = decodeURIComponent(v);
    } catch {
      return null;
    }
  }
  // Old links name the resource by its resolver URL (http://n2t.net/ark:/…).
  v = v.replace(/^https?:\/\/n2t\.net\//i, '');
  return v.length <= 1024 && ARK.test(v) ? v : null;
}

const first = (v: unknown): string | undefined => (Array.isArray(v) ? (typeof v[0] === 'string' ? v[0] : undefined) : typeof v === 'string' ? v : undefined);

/** Reads `/domaineGar`'s parameters; null when the link is broken (the page says so). */
export function parseEntryLink(query: Record<string, unknown>): EntryLink | null {
  const rawEnt = first(query.idENT);
  const entId = rawEnt === undefined ? null : decodeBase64Param(rawEnt);
  if (!entId || !ENT_ID.test(entId)) return null;

  const rawEtab = first(query.idEtab);
  let uai: string | null = null;
  if (rawEtab !== undefined && rawEtab.trim() !== '') {
    const decoded = decodeBase64Param(rawEtab);
    if (!decoded) return null;
    uai = decoded.trim().toUpperCase();
    if (!isValidUai(uai)) return null;
  }

  const rawRes = first(query.idRessource);
  const rawSrc = first(query.idSrc);
  let resourceId: string | null = null;
  if (rawRes !== undefined && rawRes.trim() !== '') resourceId = normaliseArk(rawRes);
  else if (rawSrc !== undefined && rawSrc.trim() !== '') {
    const decoded = decodeBase64Param(rawSrc);
    resourceId = decoded === null ? null : normaliseArk(decoded);
  }
  if (!resourceId) return null;
  return { entId, uai, resourceId };
}

/** A broker-relative path to go back to after login: `/…` but not `//…` or `/\…` (no open redirect). */
export function safeReturnPath(value: unknown): string | null {
  const v = first(value);
  if (!v || v.length > 2048) return null;
  if (!v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\')) return null;
  // Control characters and backslashes are what browsers rewrite into another host.
  if (/[\u0000-\u001f\u007f\\]/.test(v)) return null;
  return v;
}
