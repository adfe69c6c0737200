import type { Kysely } from 'kysely';

// A table's version moves with every write to it, so a count of its rows can be kept until the next write.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('row_versions')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await (db as Kysely<{ row_versions: { name: string; version: number } }>).insertInto('row_versions').values({ name: 'tickets', version: 0 }).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('row_versions').execute();
}
