import { AUDIENCES } from '../subscriptions/audiences.js';
import { WSABONNEMENT_NS } from './abonnement.js';
import { parseGarDate } from './gar-dates.js';
import type { XmlNode } from './gar-xml.js';
import { DATE_COLUMNS, FILTER_COLUMNS, SORT_COLUMNS, type Search } from './gar-ws.repository.js';

/** The largest page a search answers; `fin - debut` beyond it is cut. */
export const MAX_PAGE = 10_000;

/**
 * Paging. Clients disagree on the base (one starts `debut` at 1, another at 0 with `fin=5000`): the
 * broker counts positions from 1, `fin` inclusive, and reads `debut=0` as 1. So no client misses a
 * subscription; a client paging 0-based, half-open sees the one at each page boundary twice.
 */
export function pageOf(debut: number | undefined, fin: number | undefined, problems: string[]): { offset: number; limit: number } {
  const first = Math.max(1, debut ?? 1);
  const last = fin ?? first + MAX_PAGE - 1;
  if (last < first) {
    problems.push(`fin (${fin}) must not be smaller than debut (${debut})`);
    return { offset: 0, limit: 0 };
  }
  return { offset: first - 1, limit: Math.min(MAX_PAGE, last - first + 1) };
}

const text = (n: XmlNode | undefined) => n?.text ?? '';

/**
 * Reads <filtres> into a search of the caller's subscriptions. `distributor` is the caller's own
 * distributor id: a filter on another one matches nothing (`none` is then true).
 */
export function searchFromFiltres(
  root: XmlNode | undefined,
  distributor: string,
  problems: string[],
): Omit<Search, 'offset' | 'limit'> & { none: boolean } {
  const search: Omit<Search, 'offset' | 'limit'> & { none: boolean } = {
    equals: {},
    audiences: [],
    dates: [],
    sort: 'id',
    descending: false,
    includeDeleted: false,
    none: false,
  };
  if (!root) return search;
  if (root.name !== 'filtres') problems.push(`the root element must be <filtres>, not <${root.name}>`);
  if (root.uri !== WSABONNEMENT_NS && root.uri !== '') problems.push(`<filtres> must be in the namespace ${WSABONNEMENT_NS}`);
  const distributors: string[] = [];
  for (const child of root.children) {
    const part = (name: string) => child.children.find((c) => c.name === name);
    switch (child.name) {
      case 'filtre': {
        const name = text(part('filtreNom'));
        const value = text(part('filtreValeur'));
        if (!part('filtreNom') || !part('filtreValeur')) {
          problems.push('<filtre> needs <filtreNom> and <filtreValeur>');
        } else if (name === 'idDistributeurCom') {
          distributors.push(value);
        } else if (name === 'publicCible') {
          if (!(AUDIENCES as readonly string[]).includes(value)) problems.push(`filtre publicCible: "${value}" is not one of ${AUDIENCES.join(', ')}`);
          else search.audiences.push(value);
        } else if (name in FILTER_COLUMNS) {
          ((search.equals[name as keyof typeof FILTER_COLUMNS] ??= []) as string[]).push(value);
        } else {
          problems.push(`filtreNom "${name}" is not one of idDistributeurCom, publicCible, ${Object.keys(FILTER_COLUMNS).join(', ')}`);
        }
        break;
      }
      case 'filtreParDate': {
        const name = text(part('dateName'));
        const column = DATE_COLUMNS[name as keyof typeof DATE_COLUMNS];
        if (!column) problems.push(`filtreParDate: dateName "${name}" is not one of ${Object.keys(DATE_COLUMNS).join(', ')}`);
        const bound = (el: string) => {
          const raw = part(el);
          if (!raw || raw.text === '') return undefined;
          const d = parseGarDate(raw.text);
          if (!d) problems.push(`filtreParDate: ${el} "${raw.text}" is not a date`);
          return d;
        };
        const before = bound('dateAvant');
        const after = bound('dateApres');
        if (!part('dateAvant') && !part('dateApres')) problems.push('filtreParDate needs dateAvant or dateApres');
        if (column) search.dates.push({ column, before, after });
        break;
      }
      case 'triPar': {
        const column = SORT_COLUMNS[child.text as keyof typeof SORT_COLUMNS];
        if (!column) problems.push(`triPar "${child.text}" is not one of ${Object.keys(SORT_COLUMNS).join(', ')}`);
        else search.sort = column;
        break;
      }
      case 'tri':
        if (child.text === 'DSC' || child.text === 'DESC') search.descending = true;
        else if (child.text !== 'ASC') problems.push(`tri "${child.text}" must be ASC or DSC`);
        break;
      case 'aboSuppr':
        if (/^(true|1)$/i.test(child.text)) search.includeDeleted = true;
        else if (!/^(false|0)$/i.test(child.text)) problems.push(`aboSuppr "${child.text}" must be true or false`);
        break;
      default:
        problems.push(`<${child.name}> is not an element of <filtres>`);
    }
  }
  // Every subscription of the caller carries its own distributor id: another one selects nothing.
  if (distributors.length > 0 && !distributors.includes(distributor)) search.none = true;
  return search;
}
