import { AppError } from '../../errors.js';
import { isValidUai } from '../../lib/uai.js';
import { GAR_1D, isGar1d, mapGar1dFile } from '../directory/gar-ent-1d.mapping.js';
import { mapGarFile, type GarFeed } from '../directory/gar-ent.mapping.js';
import { parseGarEnt, type Field, type GarFile } from '../directory/gar-ent.parser.js';
import type { ManagerRow } from '../directory/directory.rows.js';
import { shareByEstablishment, type EstablishmentShare } from './establishment-share.js';

/*
 * One file of a nightly export, read in a worker thread: the same parser and mapping as the
 * single-file route, plus what a job needs to keep going when a record is bad: the establishments
 * each problem belongs to, so that only those are held back. The records leave the thread already
 * split by establishment and serialised (what the job spills to disk).
 */

export interface ExportProblem {
  file: string;
  path: string;
  message: string;
  /** The establishments the failing record names; empty: it names none that can be read. */
  uais: string[];
}

export type ExportFileOutcome =
  | { ok: true; kind: string; records: number; uais: string[]; shares: Record<string, EstablishmentShare>; managers: ManagerRow[]; problems: ExportProblem[] }
  | { ok: false; problem: ExportProblem };

const UAI_FIELDS = new Set(['GARStructureUAI', 'GARPersonEtab', 'GARRespAffEtab']);

/** UAI-looking texts of a record's fields (and of GARPersonProfils' children). */
function recordUais(fields: Map<string, Field[]>): string[] {
  const found = new Set<string>();
  for (const [name, values] of fields) {
    for (const v of values) {
      if (typeof v === 'string') {
        if (UAI_FIELDS.has(name) && isValidUai(v)) found.add(v);
      } else {
        for (const u of v.get('GARStructureUAI') ?? []) if (isValidUai(u)) found.add(u);
      }
    }
  }
  return [...found];
}

/** A file that cannot be parsed at all: the UAIs its text names, so that those are held back. */
const UAI_IN_TEXT = /<(?:[\w.-]+:)?(?:GARStructureUAI|GARPersonEtab|GARRespAffEtab)>\s*([0-9]{7}[A-Za-z])\s*</g;

export function readExportFile(name: string, xml: string, today: Date): ExportFileOutcome {
  let file: GarFile;
  const oneD = isGar1d(xml);
  try {
    file = oneD ? parseGarEnt(xml, undefined, GAR_1D) : parseGarEnt(xml);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const uais = new Set<string>();
    for (const m of xml.matchAll(UAI_IN_TEXT)) if (isValidUai(m[1]!)) uais.add(m[1]!);
    return { ok: false, problem: { file: name, path: '/', message: err.detail ?? err.title, uais: [...uais] } };
  }
  const byRecord = new Map(file.records.map((r) => [`/${r.element}/${r.index}`, r]));
  const feed: GarFeed & { primarySchools?: string[] } = oneD ? mapGar1dFile(file, today) : mapGarFile(file, today);
  const problems = feed.errors.map((e) => {
    const rec = byRecord.get(/^\/[^/]+\/\d+/.exec(e.path)?.[0] ?? '');
    return { file: name, path: e.path, message: e.message, uais: rec ? recordUais(rec.fields) : [] };
  });
  return { ok: true, kind: feed.kind, records: feed.records, uais: [...feed.uais], shares: shareByEstablishment(feed), managers: feed.managers, problems };
}
