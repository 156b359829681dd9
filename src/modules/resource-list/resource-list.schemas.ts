import { Type, type Static } from '@sinclair/typebox';
import { UAI_PATTERN } from '../../lib/uai.js';
import { GarResourceItemSchema } from '../gar-ws/catalogue.js';

export const ResourceListParams = Type.Object({
  uai: Type.String({ pattern: UAI_PATTERN, description: 'UAI: 7 digits and a check letter' }),
  personId: Type.String({ minLength: 1, maxLength: 64, description: "the ENT's id of the person (GARPersonIdentifiant)" }),
});

const nullableString = Type.Union([Type.String(), Type.Null()]);

/**
 * One entry of GAR's listeRessources (the same fields as the GAR-compatible resource service, whose
 * urlAccesRessource is the broker's /domaineGar entry link), plus how to open it through the API.
 */
export const ListedResourceSchema = Type.Object({
  ...GarResourceItemSchema.properties,
  description: nullableString,
  subscriptionId: Type.String({ description: 'the subscription that grants it' }),
  validUntil: Type.String({ format: 'date-time', description: 'end of that subscription (exclusive)' }),
  sso: Type.Object(
    {
      method: Type.Literal('POST'),
      path: Type.Literal('/v1/sso'),
      body: Type.Object({ uai: Type.String(), personId: Type.String(), resourceId: Type.String() }),
    },
    { description: 'how the ENT opens the resource: this request returns the SAML response to post' },
  ),
});
export type ListedResource = Static<typeof ListedResourceSchema>;

export const ResourceListSchema = Type.Object({ items: Type.Array(ListedResourceSchema) });
