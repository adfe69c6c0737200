import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.js';

const plainName = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A top-level field of the JSON text in `column` (a body), as text: the engines spell JSON access differently. */
export function bodyText(db: Kysely<Database>, field: string, column = 'body'): RawBuilder<string | null> {
  // The names go into the statement's text; only plain names are taken.
  if (!plainName.test(field) || !plainName.test(column)) throw new Error(`Not a plain body field: ${column}.${field}`);
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql<string | null>`(${sql.ref(column)}::jsonb ->> ${field})` : sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${field}`})`;
}
