import type { Kysely } from 'kysely';

// Halo clients address records by integer: each global id gets a per-instance alias, assigned once and never reused.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('id_aliases')
    .addColumn('alias', 'integer', (c) => c.primaryKey())
    .addColumn('global_id', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('id_aliases').execute();
}
