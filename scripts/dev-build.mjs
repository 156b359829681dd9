/*
 * The JavaScript that `npm start` runs: src/ and migrations/ transpiled file by file with esbuild
 * (tsx's own transpiler) into node_modules/.cache/gar-broker/run/, rebuilt only when a source changed.
 * Loading plain JavaScript spares every start the TypeScript loader hooks (seconds on this
 * machine); `npm ci` builds it once (prepare). Type checking stays `npm run typecheck`'s job, and the
 * production image still runs `npm run build` (tsc) into dist/.
 *
 * Plain JavaScript on purpose: it runs before anything is compiled.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleVendors, VENDORED } from './vendor-bundle.mjs';

export const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const runDir = join(root, 'node_modules', '.cache', 'gar-broker', 'run');
const SOURCE_DIRS = ['src', 'migrations'];

function sourceFiles() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return files.sort();
}

/**
 * What the build depends on: every source's path, size and mtime, openapi.yaml, esbuild's version
 * and those of the packages bundled beside the code.
 */
function stampOf(files, esbuildVersion) {
  const hash = createHash('sha256').update(esbuildVersion);
  for (const name of VENDORED) hash.update(readFileSync(join(root, 'node_modules', name, 'package.json')));
  for (const file of [...files, join(root, 'openapi.yaml')]) {
    const s = statSync(file);
    hash.update(`${relative(root, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/**
 * Makes run/ match the sources; returns whether it had to build. A concurrent start builds into its
 * own folder and the rename makes one complete build win.
 */
export async function ensureBuilt({ quiet = false } = {}) {
  // The version from its package.json: loading esbuild itself is for when there is work to do.
  const esbuildManifest = createRequire(import.meta.url).resolve('esbuild/package.json');
  const files = sourceFiles();
  const stamp = stampOf(files, JSON.parse(readFileSync(esbuildManifest, 'utf8')).version);
  const stampFile = join(runDir, 'stamp');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return false;

  const esbuild = await import('esbuild');

  const started = performance.now();
  const partial = `${runDir}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: files,
    outdir: partial,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  await bundleVendors(partial, esbuild);
  // Outside the project's package.json scope (under node_modules), .js would be read as CommonJS.
  writeFileSync(join(partial, 'package.json'), '{ "type": "module" }\n');
  copyFileSync(join(root, 'openapi.yaml'), join(partial, 'openapi.yaml'));
  // The embedded image's fingerprint hashes the migrations as written, so tsx and this build share it.
  mkdirSync(join(partial, 'migrations-src'));
  for (const file of readdirSync(join(root, 'migrations'))) copyFileSync(join(root, 'migrations', file), join(partial, 'migrations-src', file));
  writeFileSync(join(partial, 'stamp'), stamp);
  rmSync(runDir, { recursive: true, force: true });
  try {
    renameSync(partial, runDir);
  } catch {
    rmSync(partial, { recursive: true, force: true }); // another start won the race with the same build
  }
  if (!quiet) console.error(`gar-broker: sources changed since the last start, transpiled ${files.length} files in ${Math.round(performance.now() - started)} ms`);
  return true;
}

export const runEntry = (rel) => pathToFileURL(join(runDir, rel)).href;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const built = await ensureBuilt({ quiet: true });
    console.log(built ? 'gar-broker: transpiled the sources for npm start' : 'gar-broker: the transpiled sources are up to date');
  } catch (err) {
    // Never fails an install (an install without dev dependencies has no esbuild): npm start says what to do.
    console.log(`gar-broker: sources not transpiled for npm start (${err.message})`);
  }
}
