import { SaxesParser, type SaxesTagNS } from 'saxes';
import { xmlText } from '../../saml/xml.js';

/*
 * The small XML documents of GAR's web services (<abonnement>, <filtres>), read as a tree. They come
 * from outside, so, as the GAR-ENT parser: no DTD at all (a declaration is refused before parsing,
 * and again if the parser meets one), hence no external entities and no expansion beyond the five
 * predefined ones; bounded depth, element count and text length. saxes never fetches anything.
 */

export interface XmlNode {
  /** Local name; the namespace is checked by the caller. */
  name: string;
  uri: string;
  text: string;
  children: XmlNode[];
}

export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
  maxTextLength: number;
}

const LIMITS: XmlLimits = { maxDepth: 4, maxElements: 2000, maxTextLength: 4096 };
const DECLARATION = /<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)/i;

export class XmlRefused extends Error {}

export function parseXml(xml: string, limits: XmlLimits = LIMITS): XmlNode {
  if (DECLARATION.test(xml)) throw new XmlRefused('DOCTYPE and ENTITY declarations are not accepted');
  const parser = new SaxesParser({ xmlns: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let count = 0;
  const fail = (detail: string): never => {
    throw new XmlRefused(detail);
  };
  parser.on('doctype', () => fail('DOCTYPE declarations are not accepted'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (++count > limits.maxElements) fail(`more than ${limits.maxElements} elements`);
    if (stack.length >= limits.maxDepth) fail(`elements nested deeper than ${limits.maxDepth} levels (<${tag.local}>)`);
    const node: XmlNode = { name: tag.local, uri: tag.uri, text: '', children: [] };
    if (stack.length === 0) root = node;
    else stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  });
  const addText = (text: string) => {
    const top = stack[stack.length - 1];
    if (!top) return;
    top.text += text;
    if (top.text.length > limits.maxTextLength) fail(`text of <${top.name}> longer than ${limits.maxTextLength} characters`);
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    const node = stack.pop()!;
    node.text = node.text.trim();
  });
  parser.on('error', (err) => fail(err.message.split('\n')[0]!.slice(0, 300)));
  try {
    parser.write(xml).close();
  } catch (err) {
    if (err instanceof XmlRefused) throw err;
    throw new XmlRefused((err as Error).message.split('\n')[0]!.slice(0, 300));
  }
  if (!root) fail('no root element');
  return root!;
}

/** An element to write: text, children, or nothing (`<a/>`). Undefined and null children are skipped. */
export type XmlOut = { name: string; text?: string; children?: Array<XmlOut | undefined | null>; xmlns?: string };

export function el(name: string, content?: string | Array<XmlOut | undefined | null>): XmlOut {
  return typeof content === 'string' ? { name, text: content } : { name, children: content ?? [] };
}

/** Leaves `undefined` out, so that optional fields simply disappear from the document. */
export function opt(name: string, value: string | number | boolean | null | undefined): XmlOut | undefined {
  return value === undefined || value === null ? undefined : el(name, String(value));
}

function write(node: XmlOut, out: string[]): void {
  const ns = node.xmlns ? ` xmlns="${xmlText(node.xmlns)}"` : '';
  if (node.text !== undefined) {
    out.push(`<${node.name}${ns}>${xmlText(node.text)}</${node.name}>`);
    return;
  }
  const kids = (node.children ?? []).filter((c): c is XmlOut => c !== undefined && c !== null);
  if (kids.length === 0) {
    out.push(`<${node.name}${ns}/>`);
    return;
  }
  out.push(`<${node.name}${ns}>`);
  for (const k of kids) write(k, out);
  out.push(`</${node.name}>`);
}

export function xmlDocument(root: XmlOut): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'];
  write(root, out);
  return out.join('');
}
