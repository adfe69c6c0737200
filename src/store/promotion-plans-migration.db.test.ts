import { Migrator, sql, type MigrationProvider } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, engines, type TestDatabase } from '../../test/support/databases.js';
import { migrations } from './migrations/index.js';
import { migrateToLatest } from './open-database.js';
import { createTransactor } from './sql/create-stores.js';

const provider: MigrationProvider = { getMigrations: async () => migrations };
const open: TestDatabase[] = [];
afterAll(async () => {
  for (const database of open) await database.drop();
});

const plan = { changes: [{ changeId: 'c1', entityId: 'e1' }], entities: [], problems: [], counts: { toApply: 1, entities: 1 }, skippedDependencies: [] };
const document = { id: 'r1', status: 'approved', description: 'moved by 0018', heads: { e1: null } };
const batch = { changes: [{ id: 'c1', digest: 'd1' }], allowMissing: [] };

describe.each(engines)('migration 0018 on %s', (engine) => {
  it('moves the plan and batch of a request written under 0017 to their own table, and back down', async () => {
    const database = await createTestDatabase(engine, { migrate: false });
    open.push(database);
    const migrator = new Migrator({ db: database.dialect.db, provider, migrationTableName: 'shiplog_migrations', migrationLockTableName: 'shiplog_migrations_lock', allowUnorderedMigrations: true });
    expect((await migrator.migrateTo('0017-promotion-requests')).error).toBeUndefined();
    await sql`insert into promotion_requests (id, status, scheduled_at, created_at, updated_at, document, batch)
      values ('r1', 'approved', null, 1, 2, ${JSON.stringify({ ...document, plan })}, ${JSON.stringify(batch)})`.execute(database.dialect.db);

    await migrateToLatest(database.dialect);
    const db = createTransactor(database.dialect);
    const row = await db.read((stores) => stores.promotionRequests.find('r1'));
    expect(row).toEqual({ id: 'r1', status: 'approved', scheduledAt: null, createdAt: 1, updatedAt: 2, document, plan });
    expect(await db.read((stores) => stores.promotionRequests.batchOf('r1'))).toEqual(batch);

    expect((await migrator.migrateTo('0017-promotion-requests')).error).toBeUndefined();
    const { rows } = await sql<{ document: string; batch: string }>`select document, batch from promotion_requests where id = 'r1'`.execute(database.dialect.db);
    expect(rows.map((r) => ({ document: JSON.parse(r.document) as unknown, batch: JSON.parse(r.batch) as unknown }))).toEqual([{ document: { ...document, plan }, batch }]);
  });
});
