import { SaxesParser, type SaxesTagNS } from 'saxes';
import { errors } from '../../errors.js';

/*
 * Reads one official GAR-ENT file into flat records, by its namespace and content: the Version
 * attribute is reported (deployed exporters write 1.0 on files of the 1.7 schema, and GAR accepts
 * them), never a reason to refuse; what the content breaks is refused. The file comes from outside, so:
 * no DTD at all (a DOCTYPE or ENTITY declaration is refused before parsing, and again if the parser
 * meets one), hence no external entities and no entity expansion beyond the five predefined ones;
 * a bounded depth, record count and text length. saxes never fetches anything and never expands
 * user-defined entities.
 */

export const GAR_NS = 'http://data.education.fr/ns/gar';
export const GAR_KINDS = ['GAR-ENT-Eleve', 'GAR-ENT-Enseignant', 'GAR-ENT-Etab', 'GAR-ENT-Groupe', 'GAR-ENT-RespAff'] as const;
export type GarKind = (typeof GAR_KINDS)[number];
export const GAR_VERSION = '1.7';

/** The top-level elements each kind may hold. */
const RECORDS: Record<GarKind, readonly string[]> = {
  'GAR-ENT-Eleve': ['GAREleve', 'GARPersonMEF', 'GAREleveEnseignement'],
  'GAR-ENT-Enseignant': ['GAREnseignant', 'GARPersonMEF'],
  'GAR-ENT-Etab': ['GAREtab', 'GARMEF', 'GARMatiere'],
  'GAR-ENT-Groupe': ['GARGroupe', 'GARPersonGroupe', 'GAREnsGroupeMatiere', 'GAREnsClasseMatiere'],
  'GAR-ENT-RespAff': ['GARRespAff'],
};

/** Children of a record are text, or (GARPersonProfils, GAREnsDisciplinesPostes) one more level of text. */
export type Field = string | Map<string, string[]>;

export interface XmlRecord {
  element: string;
  /** Position among the records of the same element, for error paths like `/GAREleve/3/GARPersonNom`. */
  index: number;
  fields: Map<string, Field[]>;
}

export interface GarFile {
  kind: GarKind;
  /** The root's Version attribute as written ('' when absent): information only. */
  version: string;
  records: XmlRecord[];
}

export interface ParseLimits {
  maxRecords: number;
  maxTextLength: number;
}

const DEFAULT_LIMITS: ParseLimits = { maxRecords: 100_000, maxTextLength: 4096 };

/** One family of GAR-ENT schemas: its namespace, the records of each kind, the schema versions it names. */
export interface GarDialect {
  ns: string;
  records: Record<GarKind, readonly string[]>;
  /** Versions known to match the records above; any other is read the same and said so in the log. */
  versions: readonly string[];
}

// Deployed exporters write Version="1.0" on files of the 1.7 schema.
export const GAR_2D: GarDialect = { ns: GAR_NS, records: RECORDS, versions: [GAR_VERSION, '1.0'] };

const DECLARATION = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)/i;

const refuse = (detail: string) => errors.badRequest(`not an acceptable GAR-ENT file: ${detail}`);

export function parseGarEnt(xml: string, limits: ParseLimits = DEFAULT_LIMITS, dialect: GarDialect = GAR_2D): GarFile {
  // Cheap and decisive: no declaration of any kind is ever needed by a GAR-ENT file.
  if (DECLARATION.test(xml)) throw refuse('DOCTYPE and ENTITY declarations are not accepted');

  const parser = new SaxesParser({ xmlns: true, position: true });
  let kind: GarKind | undefined;
  let version = '';
  const records: XmlRecord[] = [];
  const perElement = new Map<string, number>();
  let depth = 0;
  let record: XmlRecord | undefined;
  let field: { name: string; text: string; children?: Map<string, string[]> } | undefined;
  let sub: { name: string; text: string } | undefined;
  let failure: Error | undefined;

  const fail = (detail: string): never => {
    throw refuse(detail);
  };

  parser.on('doctype', () => fail('DOCTYPE declarations are not accepted'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    depth++;
    if (tag.uri !== dialect.ns) fail(`element <${tag.name}> is not in the namespace ${dialect.ns}`);
    if (depth === 1) {
      if (!(GAR_KINDS as readonly string[]).includes(tag.local)) fail(`root element <${tag.local}> is not one of ${GAR_KINDS.join(', ')}`);
      kind = tag.local as GarKind;
      version = tag.attributes.Version?.value ?? '';
    } else if (depth === 2) {
      if (!dialect.records[kind!].includes(tag.local)) fail(`<${tag.local}> does not belong in a ${kind} file`);
      if (records.length >= limits.maxRecords) fail(`more than ${limits.maxRecords} records`);
      const index = perElement.get(tag.local) ?? 0;
      perElement.set(tag.local, index + 1);
      record = { element: tag.local, index, fields: new Map() };
    } else if (depth === 3) {
      field = { name: tag.local, text: '' };
    } else if (depth === 4) {
      sub = { name: tag.local, text: '' };
      field!.children ??= new Map();
    } else {
      fail(`elements nested deeper than the GAR-ENT schema allows (<${tag.local}>)`);
    }
  });
  parser.on('text', (text) => {
    const target = depth === 4 ? sub : depth === 3 ? field : undefined;
    if (!target) return;
    target.text += text;
    if (target.text.length > limits.maxTextLength) fail(`text of <${target.name}> longer than ${limits.maxTextLength} characters`);
  });
  parser.on('cdata', (text) => {
    const target = depth === 4 ? sub : depth === 3 ? field : undefined;
    if (!target) return;
    target.text += text;
    if (target.text.length > limits.maxTextLength) fail(`text of <${target.name}> longer than ${limits.maxTextLength} characters`);
  });
  parser.on('closetag', () => {
    if (depth === 4 && sub && field?.children) {
      const values = field.children.get(sub.name) ?? [];
      values.push(sub.text.trim());
      field.children.set(sub.name, values);
      sub = undefined;
    } else if (depth === 3 && field && record) {
      const values = record.fields.get(field.name) ?? [];
      values.push(field.children ?? field.text.trim());
      record.fields.set(field.name, values);
      field = undefined;
    } else if (depth === 2 && record) {
      records.push(record);
      record = undefined;
    }
    depth--;
  });
  parser.on('error', (err) => {
    // Stop at the first well-formedness error: nothing of a broken file is used.
    // saxes' messages name a line and column and a reason, never more of the document.
    fail(err.message.split('\n')[0]!.slice(0, 300));
  });

  try {
    parser.write(xml).close();
  } catch (err) {
    if ((err as { status?: number }).status === 400) throw err;
    failure ??= err as Error;
  }
  if (failure) throw refuse(failure.message.split('\n')[0]!.slice(0, 300));
  if (!kind) fail('no root element');
  return { kind: kind!, version, records };
}
