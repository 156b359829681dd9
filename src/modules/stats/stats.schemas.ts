import { Type, type Static } from '@sinclair/typebox';

export const StatsQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date', description: 'first day (UTC), inclusive; default 30 days before `to`' })),
  to: Type.Optional(Type.String({ format: 'date', description: 'last day (UTC), exclusive; default tomorrow' })),
  groupBy: Type.Union([Type.Literal('day'), Type.Literal('resource'), Type.Literal('uai'), Type.Literal('profile')], { default: 'day' }),
});
export type StatsQuery = Static<typeof StatsQuery>;

export const StatsAnswer = Type.Object({
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  groupBy: Type.String(),
  scope: Type.String({ description: 'what the counts cover: everything, or the caller’s publisher, project or UAIs' }),
  items: Type.Array(
    Type.Object({
      key: Type.String(),
      granted: Type.Integer({ description: 'successful accesses (an "access" in GAR’s statistics)' }),
      refused: Type.Integer(),
    }),
  ),
});
export type StatsAnswer = Static<typeof StatsAnswer>;
