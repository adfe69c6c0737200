import { sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { Database } from '../schema.js';
import type { CountedRows, NumberedPage } from '../ports.js';

/** A table's filters, applied alike to its count and to its page. */
export type Filtered<T extends keyof Database> = <O>(query: SelectQueryBuilder<Database, T, O>) => SelectQueryBuilder<Database, T, O>;

/**
 * One numbered page of a table's filtered rows and the count of them all: the count is a COUNT query over the same
 * filters, and the page skips `offset` rows in `column` order with the id as tiebreak, never walking the pages before.
 */
export async function countedPage<T extends keyof Database & string, K extends string, R>(
  db: Kysely<Database>,
  table: T,
  filtered: Filtered<T>,
  columns: Record<K, string>,
  page: NumberedPage<K>,
  toRecord: (row: Selectable<Database[T]>) => R,
  nullable: readonly K[] = [],
  counted: (count: () => Promise<number>) => Promise<number> = (count) => count(),
): Promise<CountedRows<R>> {
  // Kysely's table typing does not reach a generic table name; the filters keep theirs through `filtered`.
  const from = (db as unknown as Kysely<Record<string, Record<string, unknown>>>).selectFrom(table) as unknown as SelectQueryBuilder<Database, T, object>;
  const total = await counted(async () => {
    const row = await filtered(from.select((eb) => eb.fn.countAll<number>().as('n'))).executeTakeFirst();
    return Number((row as { n?: number | string } | undefined)?.n ?? 0);
  });
  if (total <= page.offset) return { rows: [], total };
  const dir = page.desc ? 'desc' : 'asc';
  // Nulls count as the smallest value on both engines (PostgreSQL's default puts them last); only nullable columns say
  // so, as the clause keeps PostgreSQL from walking an index in the other direction.
  const nulls = nullable.includes(page.by) ? (page.desc ? ' nulls last' : ' nulls first') : '';
  const rows = await filtered(from.selectAll())
    .orderBy(sql`${sql.ref(columns[page.by])} ${sql.raw(dir + nulls)}`)
    .orderBy(sql.ref('id'), dir)
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return { rows: (rows as unknown as Selectable<Database[T]>[]).map(toRecord), total };
}
