import { sql, type Kysely } from 'kysely';

/** Words of a bucket's member bitmap: bit j of word w is origin sequence 256 * bucket + 32 * w + j. */
const BITMAP_WORDS = ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7'] as const;

// The reconciliation summary keeps every node of each origin's tree, not only the buckets: a node is read as its
// sixteen children's rows, so a comparison reads rows in proportion to the differences, never to the log. Buckets
// (level 0) also keep the bitmap of their members. Fingerprints change to a cheaper hash of the change id, so the
// summary starts empty: it is derived from the log and folded again on first use.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('change_buckets').execute();
  let table = db.schema
    .createTable('summary_nodes')
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('idx', 'bigint', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addColumn('fp', 'bigint', (c) => c.notNull());
  for (const word of BITMAP_WORDS) table = table.addColumn(word, 'bigint', (c) => c.notNull().defaultTo(0));
  await table.addPrimaryKeyConstraint('summary_nodes_pk', ['level', 'origin', 'idx']).execute();
  await sql`delete from change_buckets_mark`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('summary_nodes').execute();
  await db.schema
    .createTable('change_buckets')
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addColumn('fp', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('change_buckets_pk', ['origin', 'bucket'])
    .execute();
  await sql`delete from change_buckets_mark`.execute(db);
}
