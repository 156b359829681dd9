/*
 * Test processes load kysely, TypeBox and the type provider from the one-file bundles that
 * `npm start`'s build keeps beside it (scripts/vendor-bundle.mjs), as the service itself does: through
 * tsx's loader hooks every one of their 500 module files costs a round trip, 0.4 s per test process.
 * Registered after tsx (tap's node-arg), so these resolutions never reach it. A bundle is used only
 * when it was made from the installed version; otherwise the package loads as installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';

const root = new URL('../../', import.meta.url);
const bundles = new URL('node_modules/.cache/gar-broker/run/node_modules/', root);
const versionAt = (dir) => {
  try {
    return JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')).version;
  } catch {
    return undefined;
  }
};

const map = {};
for (const name of ['kysely', '@sinclair/typebox', '@fastify/type-provider-typebox']) {
  const bundled = new URL(`${name}/`, bundles);
  const installed = versionAt(new URL(`node_modules/${name}/`, root));
  if (existsSync(new URL('index.js', bundled)) && installed !== undefined && versionAt(bundled) === installed) {
    map[name] = new URL('index.js', bundled).href;
  }
}

if (Object.keys(map).length > 0) register(new URL('./bundled-packages-hook.mjs', import.meta.url), { data: map });
