import type { Kysely } from 'kysely';

// Customers get a third-party id (their id in another system), unique when set, as users and agents have: configuration
// promoted from another instance names a customer by it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('customers').addColumn('third_party_id', 'text').execute();
  await db.schema.createIndex('customers_third_party_id').on('customers').column('third_party_id').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('customers_third_party_id').execute();
  await db.schema.alterTable('customers').dropColumn('third_party_id').execute();
}
