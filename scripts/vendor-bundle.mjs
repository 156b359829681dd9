/*
 * Packages published as hundreds of small ES modules (kysely: 263 files, TypeBox: 249, and the embedded dialect loads kysely again from its own place) cost a start
 * more to load than everything else together: Node resolves, reads, parses and links each file
 * (0.2 s of a 1 s production start on the 2-core machine). For what the service runs (dist/ and
 * `npm start`'s build), each is bundled into one module placed in a node_modules/ folder beside the
 * code, which Node's resolution finds before the project's own. The same version, the same exports:
 * only the file layout changes. Tests load the packages as installed.
 *
 *   node scripts/vendor-bundle.mjs <dir>     # writes <dir>/node_modules/<package>/
 *
 * Plain JavaScript on purpose: it runs from `npm run build` and before anything is compiled.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Each bundled with all it imports: the type provider carries its own copy of TypeBox (with the
 * compiler and value modules it uses), which agrees with the other since TypeBox marks schemas with
 * Symbol.for keys; the service registers no TypeBox formats or types, the only per-copy state.
 */
export const VENDORED = ['kysely', '@sinclair/typebox', '@fastify/type-provider-typebox', 'kysely-pglite-dialect'];
/** The embedded database's dialect uses the service's kysely, found beside it, not a copy of its own. */
const EXTERNAL = { 'kysely-pglite-dialect': ['kysely'] };

const versionOf = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

export async function bundleVendors(targetDir, esbuild) {
  esbuild ??= await import('esbuild');
  const modulesDir = join(resolve(targetDir), 'node_modules');
  rmSync(modulesDir, { recursive: true, force: true });
  for (const name of VENDORED) {
    const dir = join(modulesDir, name);
    mkdirSync(dir, { recursive: true });
    await esbuild.build({
      stdin: { contents: `export * from '${name}';`, resolveDir: root },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: EXTERNAL[name] ?? [],
      outfile: join(dir, 'index.js'),
      logLevel: 'warning',
    });
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, version: versionOf(name), type: 'module', main: 'index.js', exports: { '.': './index.js' } }, null, 2)}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: node scripts/vendor-bundle.mjs <dir>');
    process.exit(2);
  }
  await bundleVendors(target);
}
