import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';

/**
 * Deepest nesting of arrays and objects accepted in a JSON body. The deepest payload of the API (a
 * directory feed: body → people → person → profiles → profile) needs five levels; 32 leaves room and
 * still refuses the millions of levels an attacker can pack in 20 MiB before anything is built.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The depth of the deepest array or object in `text`, stopping as soon as it exceeds `limit`; one
 * pass over the characters, without building anything. Brackets inside strings do not count.
 * Returns -1 when the limit is exceeded.
 */
export function jsonDepthWithin(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return -1;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Refuses a body nested deeper than MAX_JSON_DEPTH with a 400, before it is parsed. */
export function assertJsonDepth(text: string, limit = MAX_JSON_DEPTH): void {
  if (jsonDepthWithin(text, limit) < 0) {
    throw errors.badRequest(`the JSON body is nested deeper than ${limit} levels`);
  }
}

/**
 * Every JSON body of the service goes through the depth check, then Fastify's own parser (which
 * keeps its prototype-poisoning protection).
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      assertJsonDepth(body as string);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
