import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { findPersonRef } from '../data-subjects/data-subjects.repository.js';
import { personHash } from '../data-subjects/rights-records.js';
import { ownLinkKey } from '../sso/ido.js';
import { countLinked, linkKeyOf, setLinkKey } from './person-links.repository.js';
import { LinkInput, LinkState, PersonParams } from './person-links.schemas.js';

/**
 * Operator: confirms that two records of different ENT projects are one person who moved, so that
 * resources whose IDO scope is `stable` keep sending them the same identifier. The GAR-ENT feeds
 * carry no national identifier (no INE; GARPersonIdSecondaire is "not provided"), so the link is a
 * human decision, checked against the schools' records, and written to the audit trail.
 */
export const personLinksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.put(
    '/people/:entId/:personId/link',
    {
      schema: {
        tags: ['data-subjects'],
        summary: 'Confirm that this person is the same as a record of another ENT project (operator)',
        description:
          'The person takes the stable identifier of `sameAs` (resources with IDO scope `stable` then send both records ' +
          'the same IDO). Both records must exist in the directory and belong to different ENT projects. Linking again ' +
          'to another record moves the link. Nothing is sent to publishers but the identifier itself.',
        params: PersonParams,
        body: LinkInput,
        response: { 200: LinkState, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { entId, personId } = request.params;
      const { sameAs } = request.body;
      if (sameAs.entId === entId) {
        throw errors.validation('a link joins records of different ENT projects', [
          { path: 'body/sameAs/entId', message: 'is the project of this record: within a project a person has one record and one IDO already' },
        ]);
      }
      for (const p of [{ entId, personId }, sameAs]) {
        if ((await findPersonRef(app.db, p.entId, p.personId)) === undefined) throw errors.notFound('person', `${p.entId}/${p.personId}`);
      }
      const secret = app.config.idoSecret;
      const earlierHash = personHash(secret, sameAs.entId, sameAs.personId);
      const now = app.clock();
      const by = request.caller.sub;
      const linkKey = await app.db.transaction().execute(async (trx) => {
        // The earlier record keeps the identifier it had (its own key when never linked), so that
        // the publisher's account for it stays; the newcomer takes it.
        let key = await linkKeyOf(trx, sameAs.entId, earlierHash);
        if (key === undefined) {
          key = ownLinkKey(secret, sameAs.entId, sameAs.personId);
          await setLinkKey(trx, { entId: sameAs.entId, personHash: earlierHash, linkKey: key, by, at: now });
        }
        await setLinkKey(trx, { entId, personHash: personHash(secret, entId, personId), linkKey: key, by, at: now });
        return key;
      });
      return { entId, personId, sameAs, linkedRecords: await countLinked(app.db, linkKey) };
    },
  );
};
