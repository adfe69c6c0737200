import type { Kysely } from 'kysely';

// Single sign-on attempts between the redirect to the identity provider and its callback: keyed by the hash of the
// state, holding the sealed PKCE verifier and the nonce, used once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sso_attempts')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('verifier', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_attempts_expiry').on('sso_attempts').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sso_attempts').execute();
}
