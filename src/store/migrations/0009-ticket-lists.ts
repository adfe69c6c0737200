import type { Kysely } from 'kysely';

// Saved ticket lists: an agent's named filters over the tickets it may see, its own or shared with every agent.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ticket_lists')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('filters', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ticket_lists_agent').on('ticket_lists').columns(['agent_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ticket_lists').execute();
}
