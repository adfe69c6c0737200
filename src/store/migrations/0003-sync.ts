import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('peers')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text')
    .addColumn('is_source', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_push_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_pull_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_sync_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // Instances that named this one as their source: their existence puts this instance in pipeline mode.
  await db.schema
    .createTable('downstream_instances')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('registered_at', 'bigint', (c) => c.notNull())
    .execute();

  // The reconciliation summary: per origin and bucket of 256 origin sequences, a count and a sum of fingerprints.
  await db.schema
    .createTable('change_buckets')
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addColumn('fp', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('change_buckets_pk', ['origin', 'bucket'])
    .execute();

  // The last change seq folded into change_buckets.
  await db.schema
    .createTable('change_buckets_mark')
    .addColumn('singleton', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();

  // Results of applied batches by idempotency key, so a retry answers what the first attempt did.
  await db.schema
    .createTable('sync_requests')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['sync_requests', 'change_buckets_mark', 'change_buckets', 'downstream_instances', 'peers']) {
    await db.schema.dropTable(table).execute();
  }
}
