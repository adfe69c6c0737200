import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { receive, tablesOf, transferOf } from '../../test/support/sync.js';
import { newId } from '../shared/ids.js';
import type { DeskUserRecord } from '../store/ports.js';

/**
 * A received asset is held to the rule a local write is: the users and owners it names are its customer's here.
 * Desk records keep their global ids through a restore from production, so the same ids can name people on both sides.
 */
describe.each(engines)('received customer records on %s', (engine) => {
  let source: TestInstance;
  let target: TestInstance;
  const ids = { acme: newId(), globex: newId(), pat: newId() };

  async function desk(on: TestInstance, patAt: string): Promise<void> {
    const now = Date.now();
    await on.db.write(async (stores) => {
      for (const [id, name] of [[ids.acme, 'Acme'], [ids.globex, 'Globex']] as const) await stores.desk.insertCustomer({ id, name, thirdPartyId: null, createdAt: now, updatedAt: now });
      const pat: DeskUserRecord = { id: ids.pat, customerId: patAt, name: 'Pat', email: null, thirdPartyId: null, createdAt: now, updatedAt: now };
      await stores.desk.insertUser(pat);
    });
  }

  beforeAll(async () => {
    const key = randomBytes(32);
    [source, target] = await Promise.all([
      createTestInstance(engine, { name: 'dev', secretKey: key }),
      createTestInstance(engine, { name: 'staging', kind: 'staging', secretKey: key }),
    ]);
    for (const i of [source, target]) await i.services.settings.update(i.ctx, { trackServices: true }, { isAdministrator: true });
    await desk(source, ids.acme);
    // Here Pat works for Globex.
    await desk(target, ids.globex);
  });
  afterAll(async () => {
    await Promise.all([source, target].map((i) => i?.close()));
  });

  it('refuses an asset whose user is another customer’s on the receiver, writing nothing, and applies it once the user is the customer’s', async () => {
    const head = (await source.db.read((stores) => stores.changes.head())).seq;
    const type = await source.services.config.create(source.ctx, 'asset-types', { name: 'Business service' });
    await source.services.config.create(source.ctx, 'assets', {
      name: 'Payroll',
      assetTypeId: type.entity!.id,
      serviceClass: 'service',
      customerId: ids.acme,
      userIds: [ids.pat],
      businessOwnerId: ids.pat,
    });
    const batch = await transferOf(source, head);
    expect(batch.map((c) => c.type)).toEqual(['asset-types', 'assets']);

    const before = await tablesOf(target.database);
    const refused = await receive(target, source, batch);
    expect(refused.applied).toBe(false);
    expect(refused.problems).toEqual([
      expect.objectContaining({ kind: 'invalid', changeId: batch[1]!.id, message: expect.stringMatching(/userIds\[0\].*businessOwnerId/) }),
    ]);
    expect(await tablesOf(target.database)).toEqual(before);

    await target.db.write(async (stores) => {
      const pat = await stores.desk.findUser(ids.pat);
      await stores.desk.updateUser({ ...pat!, customerId: ids.acme });
    });
    expect(await receive(target, source, batch)).toMatchObject({ applied: true, problems: [] });
  });
});
