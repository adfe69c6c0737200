import type { Kysely } from 'kysely';

// The log of mail read from this instance's mailboxes: one row per message, keyed by mailbox and message, written in
// the transaction that logged its ticket or added its note, so a message read twice is acted on once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('inbound_mail')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('mailbox_id', 'text', (c) => c.notNull())
    .addColumn('mailbox_name', 'text', (c) => c.notNull())
    .addColumn('message_key', 'text', (c) => c.notNull())
    .addColumn('from_address', 'text')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('ticket_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inbound_mail_message').on('inbound_mail').columns(['mailbox_id', 'message_key']).unique().execute();
  await db.schema.createIndex('inbound_mail_key').on('inbound_mail').column('message_key').execute();
  // Senders are matched to users by address.
  await db.schema.createIndex('desk_users_email').on('desk_users').column('email').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('desk_users_email').execute();
  await db.schema.dropTable('inbound_mail').execute();
}
