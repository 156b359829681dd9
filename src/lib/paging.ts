import { Type } from '@sinclair/typebox';

/** The `limit` of a listing: 100 rows unless asked, `max` at most. */
export const Limit = (max = 500) => Type.Integer({ minimum: 1, maximum: max, default: 100 });

/** The half-open period [from, to) filtering a log's listing. */
export const Period = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive lower bound' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive upper bound' })),
};

export const PageQuery = Type.Object({
  limit: Limit(),
  after: Type.Optional(Type.String({ maxLength: 1024, description: 'the `next` cursor of the previous page' })),
});

/** Fetch `limit + 1` rows, return `limit` and a cursor when there was more. */
export function page<T>(rows: T[], limit: number, cursorOf: (row: T) => string): { items: T[]; next?: string } {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursorOf(items[items.length - 1]!) };
}
