import type { Kysely } from 'kysely';

// A promotion request keeps its batch apart from the rest: lists and timelines never read the changes.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('promotion_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('scheduled_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('batch', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('promotion_requests_status').on('promotion_requests').columns(['status', 'scheduled_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('promotion_requests').execute();
}
