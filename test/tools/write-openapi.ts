import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenapi } from '../helper.js';

/** `npm run openapi`: rewrites openapi.yaml from the route schemas; the test keeps them equal. */
const text = await renderOpenapi();
writeFileSync(fileURLToPath(new URL('../../openapi.yaml', import.meta.url)), text);
process.stdout.write('openapi.yaml written\n');
