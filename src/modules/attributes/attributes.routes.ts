import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { problems } from '../../lib/http-schemas.js';
import { ATTRIBUTES } from './attribute-dictionary.js';
import { AttributeList } from './attributes.schemas.js';

/** Every authenticated role: the dictionary of what may ever be released. */
export const attributesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/attributes',
    {
      schema: {
        tags: ['data-requests'],
        summary: 'The attribute dictionary: every attribute that may be requested and released',
        description:
          'Birth date, birth name and other first names are not in it and can never be requested. Each code says its value ' +
          'format (current first, with the older versions a resource approved earlier still receives), an example, the ' +
          'profiles it is sent for and the degrees (1 primary, 2 secondary) whose feed has a source for it: a code without ' +
          'degree 1 is never sent from a primary school.',
        response: { 200: AttributeList, ...problems(401, 403) },
      },
    },
    async () => ({ items: ATTRIBUTES.map((a) => ({ ...a, profiles: [...a.profiles], degrees: [...a.degrees], formats: [...a.formats] })) }),
  );
};
