import { Type, type Static } from '@sinclair/typebox';
import { PersonParams } from '../data-subjects/data-subjects.schemas.js';

export { PersonParams };

export const LinkInput = Type.Object(
  {
    sameAs: Type.Object(PersonParams.properties, {
      additionalProperties: false,
      description: 'the record of the same person in another ENT project (the one they had before the move)',
    }),
  },
  { additionalProperties: false },
);
export type LinkInput = Static<typeof LinkInput>;

export const LinkState = Type.Object({
  entId: Type.String(),
  personId: Type.String(),
  sameAs: Type.Object({ entId: Type.String(), personId: Type.String() }),
  linkedRecords: Type.Integer({ description: 'records, across ENT projects, that now share one stable identifier' }),
});
