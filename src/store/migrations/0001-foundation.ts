import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('instance_info')
    .addColumn('singleton', 'integer', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('api_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('third_party_id', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('client_restrictions', 'text', (c) => c.notNull())
    .addColumn('co_managed_customer_id', 'text')
    .addColumn('customer_group_override_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('entities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('head', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('entities_type_id').on('entities').columns(['type', 'id']).execute();

  await db.schema
    .createTable('entity_refs')
    .addColumn('from_id', 'text', (c) => c.notNull())
    .addColumn('to_id', 'text', (c) => c.notNull())
    .addColumn('from_type', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('entity_refs_pk', ['from_id', 'path'])
    .execute();
  await db.schema.createIndex('entity_refs_to').on('entity_refs').column('to_id').execute();

  // seq is allocated from change_log_head inside the appending transaction, never by the engine.
  await db.schema
    .createTable('changes')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('origin_seq', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('entity_name', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('parent', 'text')
    .addColumn('requires', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('actor_name', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('request', 'text')
    .addColumn('change_set', 'text')
    .addColumn('revert_of', 'text')
    .addColumn('applied_from', 'text')
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addUniqueConstraint('changes_origin_seq', ['origin', 'origin_seq'])
    .execute();
  // Only what the queries need: type filter, entity history, time range, change-set filter.
  await db.schema.createIndex('changes_type_seq').on('changes').columns(['type', 'seq']).execute();
  await db.schema.createIndex('changes_entity_seq').on('changes').columns(['entity_id', 'seq']).execute();
  await db.schema.createIndex('changes_at').on('changes').column('at').execute();
  // Type + time range: reads the range of one type instead of walking the type's whole history.
  await db.schema.createIndex('changes_type_at').on('changes').columns(['type', 'at']).execute();
  await db.schema
    .createIndex('changes_change_set')
    .on('changes')
    .columns(['change_set', 'seq'])
    .where(sql.ref('change_set'), 'is not', null)
    .execute();

  await db.schema
    .createTable('change_log_head')
    .addColumn('singleton', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
}
