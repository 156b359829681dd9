import { Type } from '@sinclair/typebox';

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  after: Type.Optional(Type.String({ maxLength: 1024, description: 'the `next` cursor of the previous page' })),
});

/** Fetch `limit + 1` rows, return `limit` and a cursor when there was more. */
export function page<T>(rows: T[], limit: number, cursorOf: (row: T) => string): { items: T[]; next?: string } {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursorOf(items[items.length - 1]!) };
}
