import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import type { ReceiveRequest } from './peer-client.js';
import { entityDigests, typeDigests } from './state.js';
import type { TransferChange } from './transfer.js';

// More changes than one multi-row statement holds (256), so that batches are written in several.
const TEAMS = 150;
const TICKET_TYPES = 100;
const UPDATES = 400;

describe.each(engines)('applying a batch of changes on %s', (engine) => {
  let sender: TestInstance;
  let receiver: TestInstance;
  let batch: TransferChange[];
  let request: ReceiveRequest;

  const headOf = (instance: TestInstance) => instance.db.read(async (stores) => (await stores.changes.head()).seq);
  // The types the batch carries (each instance has its own administrator role).
  const types = ['teams', 'ticket-types'];
  const stateOf = (instance: TestInstance) =>
    instance.db.read(async (stores) => ({
      types: (await typeDigests(stores, instance.services.catalog)).filter((t) => types.includes(t.type)),
      entities: await entityDigests(stores, instance.services.catalog, types),
      // Outgoing references of every entity, as the store keeps them.
      references: (
        await Promise.all(
          (await stores.entities.listAll('teams')).map(async (team) => ({ team: team.id, referrers: await stores.entities.referrers(team.id, 1000) })),
        )
      ).filter((t) => t.referrers.length > 0),
    }));

  beforeAll(async () => {
    const secretKey = randomBytes(32);
    [sender, receiver] = await Promise.all([
      createTestInstance(engine, { name: 'dev', secretKey }),
      createTestInstance(engine, { name: 'staging', kind: 'staging', secretKey }),
    ]);
    const { config } = sender.services;
    const teams: string[] = [];
    for (let i = 0; i < TEAMS; i += 1) teams.push((await config.create(sender.ctx, 'teams', { name: `Team ${i}`, description: `Team number ${i}` })).entity!.id);
    const ticketTypes: string[] = [];
    for (let i = 0; i < TICKET_TYPES; i += 1) {
      const body = { name: `Type ${i}`, defaultTeamId: teams[i % TEAMS], fieldGroupIds: [] };
      ticketTypes.push((await config.create(sender.ctx, 'ticket-types', body)).entity!.id);
    }
    for (let i = 0; i < UPDATES; i += 1) {
      if (i % 2 === 0) await config.replace(sender.ctx, 'teams', teams[i % TEAMS]!, { name: `Team ${i % TEAMS}`, description: `Revision ${i}` });
      else await config.replace(sender.ctx, 'ticket-types', ticketTypes[i % TICKET_TYPES]!, { name: `Type ${i}`, defaultTeamId: teams[(i * 7) % TEAMS], fieldGroupIds: [] });
    }
    // A delete, and an entity created and deleted within the batch.
    await config.remove(sender.ctx, 'ticket-types', ticketTypes[0]!);
    const shortLived = (await config.create(sender.ctx, 'teams', { name: 'Short-lived' })).entity!.id;
    await config.remove(sender.ctx, 'teams', shortLived);

    const head = await headOf(sender);
    const out = await sender.services.syncReceiver.outgoing({ [sender.services.instance.id]: [[1, head + 1]] }, {});
    batch = out.changes.map(({ seq: _seq, ...change }) => change);
    request = {
      sender: { instanceId: sender.services.instance.id, name: 'dev', kind: 'development', version: sender.services.instance.version, inPipeline: false },
      operation: 'push',
      changes: batch,
      dryRun: false,
      allowMissing: [],
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([sender?.close(), receiver?.close()]);
  });

  it('reads every lacking change once, in log order, whether its keys come as ranges, single keys or overlapping spans', async () => {
    const head = await headOf(sender);
    expect(batch).toHaveLength(head);
    expect(batch.map((c) => c.originSeq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    const origin = sender.services.instance.id;
    const out = await sender.services.syncReceiver.outgoing({ [origin]: [[3, 5], [4, 60], [100, 101], [120, 122], [700, 2000]] }, { withDependencies: false });
    const expected = [...Array.from({ length: 57 }, (_, i) => i + 3), 100, 120, 121, ...Array.from({ length: Math.max(0, head - 699) }, (_, i) => i + 700)];
    expect(out.changes.map((c) => c.originSeq)).toEqual(expected);
    expect(out.changes.map((c) => c.seq)).toEqual([...out.changes.map((c) => c.seq)].sort((a, b) => a - b));
  });

  it('writes nothing when one change in the middle is refused, and lists it', async () => {
    const tampered = batch.map((c, i) => (i === 300 ? { ...c, entityName: `${c.entityName} (edited)` } : c));
    const outcome = await receiver.services.syncReceiver.receive(receiver.ctx, { ...request, changes: tampered });
    expect(outcome.applied).toBe(false);
    expect(outcome.problems[0]).toMatchObject({ kind: 'tampered', changeId: batch[300]!.id });
    // Later changes of that entity no longer follow from what is here.
    const later = new Set(batch.slice(301).map((c) => c.id));
    expect(outcome.problems.slice(1).every((p) => later.has(p.changeId!) && ['missing-dependency', 'conflict'].includes(p.kind))).toBe(true);
    expect(await headOf(receiver)).toBe(0);
    expect((await stateOf(receiver)).types).toEqual([]);
  });

  it('plans in a dry run exactly what the real run then applies, and the dry run writes nothing', async () => {
    const planned = await receiver.services.syncReceiver.receive(receiver.ctx, { ...request, dryRun: true });
    expect(planned.problems).toEqual([]);
    expect(planned.counts.toApply).toBe(batch.length);
    expect(await headOf(receiver)).toBe(0);
    const applied = await receiver.services.syncReceiver.receive(receiver.ctx, request);
    expect(applied.applied).toBe(true);
    expect({ ...planned, applied: true }).toEqual(applied);
    expect(await headOf(receiver)).toBe(batch.length);
  });

  it('leaves a log that verifies, with the same changes, entities and references as the sender', async () => {
    expect(await receiver.services.changeLog.verify()).toMatchObject({ ok: true, checked: batch.length });
    const log = await receiver.db.read((stores) => stores.changes.scan(0, batch.length + 1));
    expect(log.map((c) => [c.id, c.digest, c.appliedFrom])).toEqual(batch.map((c) => [c.id, c.digest, sender.services.instance.id]));
    const [here, there] = await Promise.all([stateOf(receiver), stateOf(sender)]);
    expect(here).toEqual(there);
    expect(here.references.length).toBeGreaterThan(0);
  });

  it('treats the same batch sent again as already present', async () => {
    const again = await receiver.services.syncReceiver.receive(receiver.ctx, request);
    expect(again.counts).toMatchObject({ toApply: 0, alreadyPresent: batch.length, problems: 0 });
    expect(await headOf(receiver)).toBe(batch.length);
  });
});
