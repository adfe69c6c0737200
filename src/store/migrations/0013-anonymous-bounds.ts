import { sql, type Kysely } from 'kysely';

/** The longest window any throttle has had: rows written before their expiry was kept expire after it. */
const LONGEST_WINDOW_MS = 60 * 60 * 1000;

// What an unauthenticated caller can make an instance store is bounded, and what expires is purged:
// - audit events from a source past its budget coalesce into one row per window (coalesce_key), counted;
// - throttle rows keep when their window ends, so a purge can remove them;
// - single sign-on attempts keep their source, so pending ones can be capped per source;
// - sessions are found by expiry, as access tokens and attempts already are.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('count', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('audit_events').addColumn('last_at', 'bigint').execute();
  await db.schema.alterTable('audit_events').addColumn('coalesce_key', 'text').execute();
  await db.schema.createIndex('audit_events_coalesce_key').on('audit_events').column('coalesce_key').unique().execute();

  await db.schema.alterTable('auth_throttle').addColumn('expires_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await sql`update auth_throttle set expires_at = window_start + ${LONGEST_WINDOW_MS}`.execute(db);
  await db.schema.createIndex('auth_throttle_expiry').on('auth_throttle').column('expires_at').execute();

  await db.schema.alterTable('sso_attempts').addColumn('source', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.createIndex('sso_attempts_source').on('sso_attempts').columns(['source', 'expires_at']).execute();

  await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_expiry').execute();
  await db.schema.dropIndex('sso_attempts_source').execute();
  await db.schema.alterTable('sso_attempts').dropColumn('source').execute();
  await db.schema.dropIndex('auth_throttle_expiry').execute();
  await db.schema.alterTable('auth_throttle').dropColumn('expires_at').execute();
  await db.schema.dropIndex('audit_events_coalesce_key').execute();
  await db.schema.alterTable('audit_events').dropColumn('coalesce_key').execute();
  await db.schema.alterTable('audit_events').dropColumn('last_at').execute();
  await db.schema.alterTable('audit_events').dropColumn('count').execute();
}
