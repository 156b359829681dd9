/*
 * `npm start`: runs the current sources as plain JavaScript (scripts/dev-build.mjs transpiles what
 * changed since the last start, usually nothing), with stack traces mapped back to the .ts files.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, root, runEntry } from './dev-build.mjs';

process.setSourceMapsEnabled(true);
let entry = runEntry('src/server.js');
try {
  await ensureBuilt();
} catch (err) {
  const dist = join(root, 'dist', 'src', 'server.js');
  if (!['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes(err?.code) || !existsSync(dist)) {
    console.error(`gar-broker cannot start: ${err?.message ?? err}\n(an install without dev dependencies runs the build: npm run build && npm run start:prod)`);
    process.exit(1);
  }
  console.error('gar-broker: esbuild is not installed (production install?): running the build in dist/');
  entry = pathToFileURL(dist).href;
}
await import(entry);
