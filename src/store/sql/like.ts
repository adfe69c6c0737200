import { sql, type ExpressionBuilder } from 'kysely';
import type { Database } from '../schema.js';

/** Case-insensitive "contains" that behaves the same on both engines; the needle's wildcards are escaped. */
export function likeContains<T extends keyof Database>(eb: ExpressionBuilder<Database, T>, column: string, needle: string) {
  const escaped = needle.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  return eb(sql`lower(${sql.ref(column)})`, 'like', sql`${`%${escaped}%`} escape '\\'`);
}
