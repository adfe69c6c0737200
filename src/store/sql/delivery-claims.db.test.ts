import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, engines, type TestDatabase } from '../../../test/support/databases.js';
import { openDialect } from '../open-database.js';
import type { StoreDialect } from '../dialects/dialect.js';
import type { WebhookDeliveryRecord } from '../ports.js';
import { createTransactor } from './create-stores.js';

function delivery(n: number): WebhookDeliveryRecord {
  return {
    id: `01CLAIM${String(n).padStart(19, '0')}`,
    kind: 'webhook',
    progress: 0,
    webhookId: '01CLAIMWEBHOOK000000000000',
    webhookName: 'hook',
    event: 'ticket.created',
    subjectId: '01CLAIMTICKET0000000000000',
    payload: '{}',
    status: 'pending',
    attempts: 0,
    maxAttempts: 3,
    nextAt: 1000,
    leaseUntil: null,
    responseStatus: null,
    lastError: null,
    createdAt: 1000,
    updatedAt: 1000,
  };
}

describe.each(engines)('claiming outbox deliveries on %s', (engine) => {
  let database: TestDatabase | undefined;
  let second: StoreDialect | undefined;
  afterEach(async () => {
    await second?.close();
    await database?.drop();
    database = second = undefined;
  });

  it('gives each due delivery to one claimer, however many claim at once', async () => {
    database = await createTestDatabase(engine);
    // On PostgreSQL a second pool on the same database, as a second process has; a SQLite file has one serving process.
    second = engine === 'postgres' ? openDialect(database.url) : undefined;
    const processes = [createTransactor(database.dialect), createTransactor(second ?? database.dialect)];
    await processes[0]!.write((stores) => stores.deliveries.insertMany(Array.from({ length: 60 }, (_, n) => delivery(n))));
    const claimed: string[] = [];
    await Promise.all(
      [...processes, ...processes].map(async (db) => {
        for (;;) {
          const batch = await db.write((stores) => stores.deliveries.claimDue(2000, 62_000, 4));
          if (batch.length === 0) return;
          claimed.push(...batch.map((d) => d.id));
        }
      }),
    );
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual(Array.from({ length: 60 }, (_, n) => delivery(n).id).sort());
  });

  it('records a result only while the claim that sent it still holds the delivery', async () => {
    database = await createTestDatabase(engine);
    const db = createTransactor(database.dialect);
    await db.write((stores) => stores.deliveries.insertMany([delivery(1)]));
    const [first] = await db.write((stores) => stores.deliveries.claimDue(2000, 3000, 10));
    expect(first?.leaseUntil).toBe(3000);
    // The lease holds: nobody else takes it.
    expect(await db.write((stores) => stores.deliveries.claimDue(2500, 3500, 10))).toEqual([]);
    // The first sender is slow; its lease runs out and another claims the delivery.
    const [again] = await db.write((stores) => stores.deliveries.claimDue(3001, 4001, 10));
    expect(again?.id).toBe(first!.id);
    const late = await db.write((stores) => stores.deliveries.finish({ ...first!, status: 'failed', attempts: 1, lastError: 'late', leaseUntil: null }, 3000));
    expect(late).toBe(false);
    expect(await db.read((stores) => stores.deliveries.find(first!.id))).toMatchObject({ status: 'sending', leaseUntil: 4001 });
    const done = await db.write((stores) => stores.deliveries.finish({ ...again!, status: 'delivered', attempts: 1, leaseUntil: null }, 4001));
    expect(done).toBe(true);
    expect(await db.read((stores) => stores.deliveries.find(first!.id))).toMatchObject({ status: 'delivered', leaseUntil: null, attempts: 1 });
  });
});
