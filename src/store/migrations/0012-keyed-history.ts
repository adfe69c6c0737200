import { sql, type Kysely } from 'kysely';

const receiptColumns = [
  ['received_by_kind', 'text'],
  ['received_by_id', 'text'],
  ['received_by_name', 'text'],
  ['received_operation', 'text'],
  ['received_via', 'text'],
  ['received_at', 'bigint'],
] as const;

// Keyed digests and chain (ADR 12). A change brought from elsewhere records who brought it, how and when. Every row
// written before is in the unkeyed format: the log's legacy segment runs to the head until the instance, started with
// its key, re-keys or seals it.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [column, type] of receiptColumns) await db.schema.alterTable('changes').addColumn(column, type).execute();
  await db.schema
    .alterTable('change_log_head')
    .addColumn('legacy_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('change_log_head').addColumn('legacy_seal', 'text').execute();
  await sql`update change_log_head set legacy_until = seq`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('change_log_head').dropColumn('legacy_seal').execute();
  await db.schema.alterTable('change_log_head').dropColumn('legacy_until').execute();
  for (const [column] of [...receiptColumns].reverse()) await db.schema.alterTable('changes').dropColumn(column).execute();
}
