import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildTestApp, renderOpenapi } from './helper.js';

const committed = readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8');

t.test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const validator = new Validator();
  const result = await validator.validate(parse(committed));
  t.same(result.errors ?? [], [], 'no schema errors');
  t.ok(result.valid, 'valid');
  t.equal(validator.version, '3.1');
});

t.test('openapi.yaml says exactly what the route schemas say (run `npm run openapi` after a change)', async (t) => {
  t.equal(committed, await renderOpenapi());
});

t.test('every served route is in the document, and every documented operation is served', async (t) => {
  const { app } = await buildTestApp(t);
  const doc = parse(committed) as { paths: Record<string, Record<string, unknown>> };
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      if (['get', 'put', 'post', 'delete', 'patch'].includes(method)) documented.add(`${method.toUpperCase()} ${path}`);
    }
  }
  const served = new Set(app.routeCatalog.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`));
  t.same([...served].filter((r) => !documented.has(r)), [], 'no undocumented route');
  t.same([...documented].filter((r) => !served.has(r)), [], 'no documented route missing');
  t.ok(served.size >= 3);
});
