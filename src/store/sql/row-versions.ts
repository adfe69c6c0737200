import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Tables whose counts are kept between writes; each write to one moves its version (migration 0016). */
export type VersionedTable = 'tickets';

// Per database (a Kysely's adapter is its own): `table:version:filter` → count. A moved version leaves old keys unread.
const counts = new WeakMap<object, Map<string, number>>();
const COUNTS_KEPT = 1000;

/** Moves the table's version: in the transaction of the write, so the two commit together. */
export async function moveVersion(db: Kysely<Database>, table: VersionedTable): Promise<void> {
  await db.updateTable('row_versions').set({ version: sql`version + 1` }).where('name', '=', table).execute();
}

/**
 * The count of a table's rows under a filter, counted once per version of the table: read in the same snapshot as the
 * version, so a count kept under a version is the count of every snapshot with that version, in any process.
 */
export async function countOnce(db: Kysely<Database>, table: VersionedTable, filterKey: string, count: () => Promise<number>): Promise<number> {
  const row = await db.selectFrom('row_versions').select('version').where('name', '=', table).executeTakeFirst();
  if (!row) return count();
  const adapter = db.getExecutor().adapter;
  let kept = counts.get(adapter);
  if (!kept) counts.set(adapter, (kept = new Map()));
  const key = `${table}:${String(row.version)}:${filterKey}`;
  const known = kept.get(key);
  if (known !== undefined) return known;
  const total = await count();
  if (kept.size >= COUNTS_KEPT) kept.clear();
  kept.set(key, total);
  return total;
}
