import { CompiledQuery } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, engines, type TestDatabase } from '../../../test/support/databases.js';
import { onOneConnection } from './transaction.js';

describe.each(engines)('transactions on %s', (engine) => {
  let database: TestDatabase;
  afterEach(async () => database?.drop());

  it('leaves no transaction open when a statement after BEGIN fails, so the connection stays usable', async () => {
    database = await createTestDatabase(engine);
    const db = database.dialect.db;
    const failingBegin = [CompiledQuery.raw('begin'), CompiledQuery.raw('select * from no_such_table')];
    await expect(onOneConnection(db, failingBegin, async () => 'unreachable')).rejects.toThrow();
    // The next transaction on the (single or pooled) connection must start cleanly and commit.
    await database.dialect.writeTransaction(async (trx) => {
      await trx.insertInto('settings').values({ key: 'probe', value: 'true', updated_at: 1 }).execute();
    });
    const row = await db.selectFrom('settings').select('value').where('key', '=', 'probe').executeTakeFirst();
    expect(row?.value).toBe('true');
  });

  it('rolls back everything when the work fails', async () => {
    database = await createTestDatabase(engine);
    await expect(
      database.dialect.writeTransaction(async (trx) => {
        await trx.insertInto('settings').values({ key: 'half', value: 'true', updated_at: 1 }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await database.dialect.db.selectFrom('settings').selectAll().where('key', '=', 'half').execute()).toEqual([]);
  });
});
