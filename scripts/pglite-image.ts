/**
 * `npm ci` (prepare): builds the migrated PGlite image that a first embedded `npm start` and the
 * embedded tests load instead of running initdb and every migration. Never fails the install.
 */
import { buildMigratedImage, readMigratedImage } from '../src/db/pglite-image.js';

const started = performance.now();
if (readMigratedImage()) {
  console.log('gar-broker: the migrated embedded database image is up to date');
} else {
  await buildMigratedImage();
  console.log(`gar-broker: migrated embedded database image built in ${Math.round(performance.now() - started)} ms`);
}
process.exit(0);
