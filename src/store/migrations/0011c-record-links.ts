import type { Kysely } from 'kysely';

// A receiver stores configuration with its own records' ids, and remembers which of its records each id of another
// instance's record resolved to: rollback, and changes passed on down a pipeline, read them back.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('record_links')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('foreign_id', 'text', (c) => c.notNull())
    .addColumn('local_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('record_links_pk', ['kind', 'foreign_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('record_links').execute();
}
