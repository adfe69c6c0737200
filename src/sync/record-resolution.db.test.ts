import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { insertAgent } from '../../test/support/principals.js';
import { receive, tablesOf, transferOf } from '../../test/support/sync.js';
import { newId } from '../shared/ids.js';
import type { CustomerRecord, DeskUserRecord } from '../store/ports.js';
import { describeRecords, type RecordDescription } from './record-descriptions.js';
import type { TransferChange } from './transfer.js';

/**
 * How a receiver takes the customers, users and agents a batch names: each resolves to a record of the receiver (the
 * same global id unless its third-party id says otherwise, else the same third-party id), the entity is stored with the
 * receiver's ids while the change keeps the sender's, and a record it cannot resolve refuses the batch, naming it.
 */
describe.each(engines)('resolving the records a batch names on %s', (engine) => {
  let dev: TestInstance;
  let prod: TestInstance;
  beforeEach(async () => {
    [dev, prod] = await Promise.all([createTestInstance(engine, { name: 'dev' }), createTestInstance(engine, { name: 'prod', kind: 'production' })]);
  });
  afterEach(async () => {
    await Promise.all([dev?.close(), prod?.close()]);
  });

  async function customer(on: TestInstance, name: string, thirdPartyId: string | null, id = newId()): Promise<string> {
    const now = Date.now();
    const record: CustomerRecord = { id, name, thirdPartyId, createdAt: now, updatedAt: now };
    await on.db.write((stores) => stores.desk.insertCustomer(record));
    return id;
  }
  async function user(on: TestInstance, customerId: string, name: string, thirdPartyId: string | null): Promise<string> {
    const now = Date.now();
    const record: DeskUserRecord = { id: newId(), customerId, name, email: null, thirdPartyId, createdAt: now, updatedAt: now };
    await on.db.write((stores) => stores.desk.insertUser(record));
    return record.id;
  }
  const rule = (customerIds: string[]) => ({ name: 'Route', criteria: [{ field: 'customer', operator: 'includes', customerIds }], outcomes: [{ field: 'priority', level: 2 }] });
  /** The descriptions `from` sends with `changes`, made as an export makes them. */
  const describe_ = (from: TestInstance, changes: TransferChange[]): Promise<RecordDescription[]> =>
    from.db.read((stores) => describeRecords(stores, from.services.catalog, changes));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read into bodies freely
  const bodyOn = async (on: TestInstance, id: string): Promise<any> => (await on.db.read((stores) => stores.entities.find(id)))!.body;

  it('resolves by third-party id, stores the receiver’s ids, keeps the sender’s in the change, and remembers the link', async () => {
    const devAcme = await customer(dev, 'Acme', 'CRM-ACME');
    const prodAcme = await customer(prod, 'Acme Corp', 'CRM-ACME');
    const created = await dev.services.config.create(dev.ctx, 'ticket-rules', rule([devAcme]));
    const changes = await transferOf(dev);
    const records = await describe_(dev, changes);
    expect(records).toEqual([{ kind: 'customer', id: devAcme, thirdPartyId: 'CRM-ACME', name: 'Acme' }]);

    const dry = await receive(prod, dev, changes, { records, dryRun: true });
    const real = await receive(prod, dev, changes, { records });
    expect(real.problems).toEqual([]);
    expect({ ...dry, applied: true }).toEqual(real);
    expect((await bodyOn(prod, created.entity!.id)).criteria).toEqual([{ field: 'customer', operator: 'includes', customerIds: [prodAcme] }]);
    expect((await prod.db.read((stores) => stores.changes.findById(created.changeId!)))!.after).toEqual(changes[0]!.after);
    expect(await prod.db.read((stores) => stores.records.links('customer', [devAcme]))).toEqual(new Map([[devAcme, prodAcme]]));
    // The receiver describes the sender's id by the link, from its own side: what it passes on down a pipeline.
    expect(await describe_(prod, changes)).toEqual([{ kind: 'customer', id: devAcme, thirdPartyId: 'CRM-ACME', name: 'Acme Corp' }]);
  });

  it('takes the record with the same global id unless its third-party id says it is someone else', async () => {
    const shared = newId();
    const devAcme = await customer(dev, 'Acme', 'CRM-ACME', shared);
    const devGlobex = await customer(dev, 'Globex', null);
    const prodGlobex = await customer(prod, 'Globex', null, devGlobex);
    // Production's record with dev's Acme id belongs to another customer; production's Acme has another id.
    await customer(prod, 'Initech', 'CRM-INITECH', shared);
    const prodAcme = await customer(prod, 'Acme', 'CRM-ACME');
    const created = await dev.services.config.create(dev.ctx, 'ticket-rules', rule([devAcme, devGlobex]));
    const changes = await transferOf(dev);
    expect((await receive(prod, dev, changes, { records: await describe_(dev, changes) })).problems).toEqual([]);
    expect((await bodyOn(prod, created.entity!.id)).criteria[0].customerIds).toEqual([prodAcme, prodGlobex]);
  });

  it('refuses the batch, naming each record it cannot resolve and writing nothing; without a description, a global id or an earlier link', async () => {
    const devAcme = await customer(dev, 'Acme', 'CRM-ACME');
    const nameless = await customer(dev, 'Nameless', null);
    const pat = await user(dev, nameless, 'Pat', 'USR-PAT');
    const ada = await insertAgent(dev, { name: 'Ada', thirdPartyId: 'EMP-ADA' });
    await dev.db.write((stores) => stores.settings.put('trackServices', true, Date.now()));
    const assetType = await dev.services.config.create(dev.ctx, 'asset-types', { name: 'Service' });
    const asset = await dev.services.config.create(dev.ctx, 'assets', {
      name: 'CRM',
      assetTypeId: assetType.entity!.id,
      serviceClass: 'service',
      customerId: nameless,
      userIds: [pat],
      businessOwnerId: pat,
      technicalOwnerId: ada.id,
    });
    await prod.db.write((stores) => stores.settings.put('trackServices', true, Date.now()));
    const changes = await transferOf(dev);
    const records = await describe_(dev, changes);
    const before = await tablesOf(prod.database);
    const refused = await receive(prod, dev, changes, { records });
    expect(refused.problems).toEqual([
      expect.objectContaining({
        kind: 'record-missing',
        changeId: asset.changeId,
        records: [
          { path: 'customerId', kind: 'customer', id: nameless, name: 'Nameless', thirdPartyId: null },
          { path: 'userIds[0]', kind: 'user', id: pat, name: 'Pat', thirdPartyId: 'USR-PAT' },
          { path: 'businessOwnerId', kind: 'user', id: pat, name: 'Pat', thirdPartyId: 'USR-PAT' },
          { path: 'technicalOwnerId', kind: 'agent', id: ada.id, name: 'Ada', thirdPartyId: 'EMP-ADA' },
        ],
      }),
    ]);
    expect(await tablesOf(prod.database)).toEqual(before);

    // Not described at all, a record resolves only by its global id: the batch names it, unknown.
    const undescribed = await receive(prod, dev, changes);
    expect(undescribed.problems[0]!.records![0]).toEqual({ path: 'customerId', kind: 'customer', id: nameless, name: null, thirdPartyId: null });
    expect(undescribed.problems[0]!.message).toContain('which the sender did not describe');

    // Once production holds them (Nameless by its global id), the asset names production's own; an agent or user is
    // found as the kind the sender said it is.
    const prodAcme = await customer(prod, 'Acme', 'CRM-ACME');
    await customer(prod, 'Nameless', null, nameless);
    const prodPat = await user(prod, nameless, 'Pat', 'USR-PAT');
    const prodAda = await insertAgent(prod, { name: 'Ada', thirdPartyId: 'EMP-ADA' });
    await insertAgent(prod, { name: 'Not Pat', thirdPartyId: 'USR-PAT' });
    expect((await receive(prod, dev, changes, { records })).problems).toEqual([]);
    expect(await bodyOn(prod, asset.entity!.id)).toMatchObject({ customerId: nameless, userIds: [prodPat], businessOwnerId: prodPat, technicalOwnerId: prodAda.id });

    // Sent without descriptions, a later change finds Pat by the link the first batch made.
    const service = { assetTypeId: assetType.entity!.id, serviceClass: 'service' };
    await dev.services.config.replace(dev.ctx, 'assets', asset.entity!.id, { name: 'CRM 2', ...service, customerId: nameless, userIds: [pat] });
    let later = (await transferOf(dev)).slice(-1);
    expect((await receive(prod, dev, later)).problems).toEqual([]);
    expect(await bodyOn(prod, asset.entity!.id)).toMatchObject({ customerId: nameless, userIds: [prodPat] });
    // Acme it never named: without a description the batch names it, with one it resolves to production's.
    await dev.services.config.replace(dev.ctx, 'assets', asset.entity!.id, { name: 'CRM', ...service, customerId: devAcme });
    later = (await transferOf(dev)).slice(-1);
    expect((await receive(prod, dev, later)).problems).toEqual([expect.objectContaining({ kind: 'record-missing', records: [expect.objectContaining({ path: 'customerId' })] })]);
    expect((await receive(prod, dev, later, { records: await describe_(dev, later) })).problems).toEqual([]);
    expect(await bodyOn(prod, asset.entity!.id)).toMatchObject({ customerId: prodAcme, userIds: [] });
  });

  it('asks only the state a batch leaves to resolve, and leaves instance-local fields to the receiver', async () => {
    const gone = await customer(dev, 'Gone', 'CRM-GONE');
    const devAcme = await customer(dev, 'Acme', 'CRM-ACME');
    const prodAcme = await customer(prod, 'Acme', 'CRM-ACME');
    const devAgent = await insertAgent(dev, { name: 'Dev holder' });
    const prodAgent = await insertAgent(prod, { name: 'Prod holder' });
    const created = await dev.services.config.create(dev.ctx, 'ticket-rules', rule([gone]));
    await dev.services.config.replace(dev.ctx, 'ticket-rules', created.entity!.id, rule([devAcme]));
    const role = await dev.services.config.create(dev.ctx, 'roles', { name: 'Partner', customerRestrictions: { allowAllCustomers: false, customerIds: [devAcme] }, agentIds: [devAgent.id] });
    const roleOnProd = { name: 'Partner', customerRestrictions: { allowAllCustomers: false, customerIds: [prodAcme] }, agentIds: [prodAgent.id] };
    const changes = await transferOf(dev);
    // A rule that once named a customer production lacks, but names Acme now: the batch leaves Acme.
    expect((await receive(prod, dev, changes, { records: await describe_(dev, changes) })).problems).toEqual([]);
    expect((await bodyOn(prod, created.entity!.id)).criteria[0].customerIds).toEqual([prodAcme]);
    expect(await bodyOn(prod, role.entity!.id)).toMatchObject({ ...roleOnProd, agentIds: [] });
    await prod.services.config.replace(prod.ctx, 'roles', role.entity!.id, { ...(await bodyOn(prod, role.entity!.id)), agentIds: [prodAgent.id] });
    expect(await bodyOn(prod, role.entity!.id)).toMatchObject(roleOnProd);
  });
});
