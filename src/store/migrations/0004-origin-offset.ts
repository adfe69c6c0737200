import type { Kysely } from 'kysely';

// A local change's origin sequence is its log seq plus this offset. A restore replaces the log, and raises the
// offset so that origin sequences this instance gave out before are never given out again.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('change_log_head')
    .addColumn('origin_offset', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('change_log_head').dropColumn('origin_offset').execute();
}
