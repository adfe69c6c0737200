import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { logOf, receive, senderOf, tablesOf, transferOf } from '../../test/support/sync.js';
import { digestOf } from '../tracking/change-chain.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { createSecretBox } from '../tracking/secret-box.js';
import type { ReceiveResult } from './peer-client.js';
import { toTransfer, type TransferChange } from './transfer.js';

/** The pipeline key of dev and staging. */
const key = randomBytes(32);

/** Recomputes the digest under the pipeline's key, as a sender that made the change this way would have. */
function resealed(change: TransferChange): TransferChange {
  const { digest: _digest, ...content } = change;
  return { ...content, digest: digestOf({ ...content, seq: 0, appliedFrom: null, received: null }, historyKeysOf(createSecretBox([key]))) };
}

const kindsOf = (result: ReceiveResult) => result.problems.map((p) => [p.kind, p.changeId ?? null]);
const actionsOf = (result: ReceiveResult) => result.changes.map((c) => [c.id, c.action]);

describe.each(engines)('applying a batch (Invariants 3, 4, 6) on %s', (engine) => {
  let source: TestInstance;
  let target: TestInstance;
  let stranger: TestInstance;

  beforeAll(async () => {
    [source, target, stranger] = await Promise.all([
      createTestInstance(engine, { name: 'dev', secretKey: key }),
      createTestInstance(engine, { name: 'staging', kind: 'staging', secretKey: key }),
      createTestInstance(engine, { name: 'sandbox', kind: 'sandbox' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([source, target, stranger].map((i) => i?.close()));
  });

  /** Writes on the source and returns the changes written, as they travel. */
  async function onSource(write: (s: TestInstance) => Promise<unknown>): Promise<TransferChange[]> {
    const head = (await source.db.read((stores) => stores.changes.head())).seq;
    await write(source);
    return transferOf(source, head);
  }

  async function team(on: TestInstance, name: string): Promise<{ id: string; changeId: string }> {
    const outcome = await on.services.config.create(on.ctx, 'teams', { name });
    return { id: outcome.entity!.id, changeId: outcome.changeId! };
  }

  /** Sends `changes` and checks that the target's tables did not move. */
  async function refused(changes: TransferChange[], options: Parameters<typeof receive>[3] = {}): Promise<ReceiveResult> {
    const before = await tablesOf(target.database);
    const result = await receive(target, source, changes, options);
    expect(result.applied).toBe(false);
    expect(result.problems.length).toBeGreaterThan(0);
    expect(await tablesOf(target.database)).toEqual(before);
    return result;
  }

  it('applies a batch in order, keeping id, origin, actor and digest, and records where it came from', async () => {
    const batch = await onSource(async (s) => {
      const network = await team(s, 'Network');
      await s.services.config.create(s.ctx, 'ticket-types', { name: 'Outage', defaultTeamId: network.id });
      await s.services.config.replace(s.ctx, 'teams', network.id, { name: 'Network and Telephony' });
    });
    const result = await receive(target, source, batch);
    expect(result).toMatchObject({ applied: true, replayed: false, problems: [], counts: { received: 3, toApply: 3, alreadyPresent: 0, refused: 0, entities: 2 } });
    expect(actionsOf(result)).toEqual(batch.map((c) => [c.id, 'apply']));

    const stored = (await logOf(target.db)).filter((c) => batch.some((b) => b.id === c.id));
    expect(stored.map(toTransfer)).toEqual(batch);
    expect(stored.every((c) => c.appliedFrom === source.services.instance.id)).toBe(true);
    for (const change of batch) {
      const here = await target.db.read((stores) => stores.entities.find(change.entityId));
      const there = await source.db.read((stores) => stores.entities.find(change.entityId));
      expect(here).toMatchObject({ body: there!.body, head: there!.head, name: there!.name });
    }
    expect(await target.services.changeLog.verify()).toMatchObject({ ok: true });
  });

  it('applies a change at most once: a re-sent batch is all present and writes nothing (Invariant 3)', async () => {
    const batch = await onSource(async (s) => {
      const t = await team(s, 'Desk');
      await s.services.config.replace(s.ctx, 'teams', t.id, { name: 'Service Desk' });
    });
    await receive(target, source, batch);
    const before = await tablesOf(target.database);
    const again = await receive(target, source, batch);
    expect(again).toMatchObject({ applied: true, problems: [], counts: { received: 2, toApply: 0, alreadyPresent: 2, refused: 0, entities: 0 } });
    expect(actionsOf(again)).toEqual(batch.map((c) => [c.id, 'present']));
    expect(await tablesOf(target.database)).toEqual(before);

    // A change twice in one batch is written once; present changes mixed with new ones are skipped.
    const more = await onSource(async (s) => team(s, 'Field Services'));
    const mixed = await receive(target, source, [...batch, more[0]!, more[0]!]);
    expect(actionsOf(mixed)).toEqual([...batch.map((c) => [c.id, 'present']), [more[0]!.id, 'apply'], [more[0]!.id, 'present']]);
    const log = await logOf(target.db);
    expect(log.filter((c) => c.id === more[0]!.id)).toHaveLength(1);
    expect(log.length).toBe(before.changes.length + 1);
  });

  it('refuses a change whose parent is not the head here, showing both versions, and writes nothing (Invariant 4)', async () => {
    const created = await onSource(async (s) => team(s, 'Change Board'));
    await receive(target, source, created);
    const id = created[0]!.entityId;
    const local = await target.services.config.replace(target.ctx, 'teams', id, { name: 'CAB (production hotfix)' });
    const update = await onSource(async (s) => s.services.config.replace(s.ctx, 'teams', id, { name: 'Change Advisory Board' }));
    const result = await refused(update);
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'conflict',
        changeId: update[0]!.id,
        entity: { type: 'teams', id, name: 'Change Advisory Board' },
        receiver: { head: local.changeId, body: expect.objectContaining({ name: 'CAB (production hotfix)' }) },
        incoming: { parent: created[0]!.id, before: expect.objectContaining({ name: 'Change Board' }), after: expect.objectContaining({ name: 'Change Advisory Board' }) },
      }),
    ]);
    expect(actionsOf(result)).toEqual([[update[0]!.id, 'refused']]);

    // A create of an entity that exists here, and a change of one deleted here, conflict too.
    const gone = await onSource(async (s) => team(s, 'Old team'));
    await receive(target, source, gone);
    await target.services.config.remove(target.ctx, 'teams', gone[0]!.entityId);
    const rename = await onSource(async (s) => s.services.config.replace(s.ctx, 'teams', gone[0]!.entityId, { name: 'Renamed' }));
    const recreate = resealed({ ...created[0]!, id: `${created[0]!.id.slice(0, -4)}ZZZZ`, originSeq: 999_999 });
    const both = await refused([...rename, recreate]);
    expect(kindsOf(both)).toEqual([
      ['conflict', rename[0]!.id],
      ['conflict', recreate.id],
    ]);
  });

  it('lists every problem of a batch, in batch order, and writes none of its good changes', async () => {
    const good = await onSource(async (s) => team(s, 'Good team'));
    const conflicting = await onSource(async (s) => team(s, 'Contested'));
    await receive(target, source, conflicting);
    await target.services.config.replace(target.ctx, 'teams', conflicting[0]!.entityId, { name: 'Contested (here)' });
    const conflict = await onSource(async (s) => s.services.config.replace(s.ctx, 'teams', conflicting[0]!.entityId, { name: 'Contested (there)' }));
    const orphanParent = await onSource(async (s) => team(s, 'Never sent'));
    const orphan = await onSource(async (s) => s.services.config.replace(s.ctx, 'teams', orphanParent[0]!.entityId, { name: 'Sent without its parent' }));
    const tamperedSource = await onSource(async (s) => team(s, 'Honest name'));
    const tampered = { ...tamperedSource[0]!, after: { ...tamperedSource[0]!.after, name: 'Forged name' } };
    const unknownType = resealed({ ...tamperedSource[0]!, id: `${tamperedSource[0]!.id.slice(0, -4)}YYYY`, originSeq: 888_888, type: 'no-such-type', entityId: 'X1' });
    const localType = resealed({ ...tamperedSource[0]!, id: `${tamperedSource[0]!.id.slice(0, -4)}XXXX`, originSeq: 777_777, type: 'tax-rates', entityId: 'X2' });
    const batch = [good[0]!, ...conflict, ...orphan, tampered, unknownType, localType];

    for (const dryRun of [true, false]) {
      const result = await refused(batch, { dryRun });
      expect(kindsOf(result)).toEqual([
        ['conflict', conflict[0]!.id],
        ['missing-dependency', orphan[0]!.id],
        ['tampered', tampered.id],
        ['unknown-type', unknownType.id],
        ['unknown-type', localType.id],
      ]);
      expect(result.problems[1]!.missing).toEqual([orphanParent[0]!.id]);
      expect(actionsOf(result)).toEqual([[good[0]!.id, 'apply'], ...batch.slice(1).map((c) => [c.id, 'refused'])]);
      expect(result.counts).toEqual({ received: 6, toApply: 1, alreadyPresent: 0, refused: 5, entities: 1, problems: 5 });
    }

    // Gate problems (version, pushes refused) come first, beside the batch's own; pulls ignore the pull-only setting.
    await target.services.settings.update(target.ctx, { refusePushes: true }, { isAdministrator: true });
    try {
      const gated = await refused(batch, { sender: senderOf(source, { version: '9.9.9' }) });
      expect(gated.problems.map((p) => p.kind)).toEqual(['version-mismatch', 'pushes-refused', 'conflict', 'missing-dependency', 'tampered', 'unknown-type', 'unknown-type']);
      expect(await receive(target, source, [good[0]!], { operation: 'pull' })).toMatchObject({ applied: true, counts: { toApply: 1 } });
    } finally {
      await target.services.settings.update(target.ctx, { refusePushes: false }, { isAdministrator: true });
    }
  });

  it('needs every required change present or earlier in the batch; a later one is named as later', async () => {
    const batch = await onSource(async (s) => {
      const t = await team(s, 'Hardware');
      await s.services.config.create(s.ctx, 'ticket-types', { name: 'Laptop request', defaultTeamId: t.id });
    });
    const [teamChange, typeChange] = batch as [TransferChange, TransferChange];
    expect(typeChange.requires).toEqual([teamChange.id]);

    const alone = await refused([typeChange]);
    expect(alone.problems).toEqual([expect.objectContaining({ kind: 'missing-dependency', changeId: typeChange.id, missing: [teamChange.id] })]);
    expect(alone.problems[0]!.message).toContain('does not bring');

    const reversed = await refused([typeChange, teamChange]);
    expect(kindsOf(reversed)).toEqual([['missing-dependency', typeChange.id]]);
    expect(reversed.problems[0]!.message).toContain('later in the batch');
    expect(actionsOf(reversed)).toEqual([
      [typeChange.id, 'refused'],
      [teamChange.id, 'apply'],
    ]);

    // Present from an earlier batch counts as much as earlier in this one.
    expect((await receive(target, source, [teamChange])).applied).toBe(true);
    expect((await receive(target, source, [typeChange])).applied).toBe(true);
    expect(await target.db.read((stores) => stores.entities.referrers(teamChange.entityId, 10))).toEqual([
      expect.objectContaining({ fromId: typeChange.entityId, path: 'defaultTeamId' }),
    ]);
  });

  it('refuses a change whose digest does not match its content, whatever field was altered', async () => {
    const [change] = (await onSource(async (s) => team(s, 'Integrity'))) as [TransferChange];
    const alterations: Partial<TransferChange>[] = [
      { after: { ...change.after, name: 'Altered' } },
      { actor: { ...change.actor, name: 'Someone else' } },
      { origin: target.services.instance.id },
      { originSeq: change.originSeq + 1 },
      { at: change.at + 1 },
      { changeSet: 'smuggled' },
      { requires: [change.id] },
      { digest: change.digest.replace(/^./, (c) => (c === '0' ? '1' : '0')) },
    ];
    for (const alteration of alterations) {
      const result = await refused([{ ...change, ...alteration }]);
      expect(kindsOf(result), JSON.stringify(alteration)).toEqual([['tampered', change.id]]);
    }
    expect((await receive(target, source, [change])).applied).toBe(true);
  });

  it('refuses deleting an entity that is still referenced here, or by an earlier change of the batch', async () => {
    const created = await onSource(async (s) => team(s, 'Facilities'));
    const teamId = created[0]!.entityId;
    await receive(target, source, created);
    const localType = await target.services.config.create(target.ctx, 'ticket-types', { name: 'Broken chair', defaultTeamId: teamId });
    const deletion = await onSource(async (s) => s.services.config.remove(s.ctx, 'teams', teamId));
    const result = await refused(deletion);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'still-referenced', changeId: deletion[0]!.id })]);
    expect(result.problems[0]!.message).toContain(localType.entity!.id);

    // A reference made earlier in the batch holds; one removed earlier in the batch does not.
    const inBatch = await onSource(async (s) => {
      const t = await team(s, 'Temporary');
      const tt = await s.services.config.create(s.ctx, 'ticket-types', { name: 'Temporary type', defaultTeamId: t.id });
      await s.services.config.replace(s.ctx, 'ticket-types', tt.entity!.id, { name: 'Temporary type' });
      await s.services.config.remove(s.ctx, 'teams', t.id);
    });
    const [makeTeam, makeType, dropReference, dropTeam] = inBatch as [TransferChange, TransferChange, TransferChange, TransferChange];
    const early = await refused([makeTeam, makeType, resealed({ ...dropTeam, parent: makeTeam.id })]);
    expect(kindsOf(early)).toEqual([['still-referenced', dropTeam.id]]);
    // The referrer stored here, then a batch that first drops the reference and then deletes.
    expect((await receive(target, source, [makeTeam, makeType])).applied).toBe(true);
    const applied = await receive(target, source, [dropReference, dropTeam]);
    expect(applied).toMatchObject({ applied: true, problems: [] });
    expect(await target.db.read((stores) => stores.entities.find(makeTeam.entityId))).toBeUndefined();
    expect(await target.db.read((stores) => stores.entities.referrers(makeTeam.entityId, 10))).toEqual([]);
  });

  it('refuses a reference to an entity this instance lacks although the change that wrote it is present', async () => {
    const created = await onSource(async (s) => team(s, 'Security'));
    await receive(target, source, created);
    await target.services.config.remove(target.ctx, 'teams', created[0]!.entityId);
    const referring = await onSource(async (s) => s.services.config.create(s.ctx, 'ticket-types', { name: 'Phishing', defaultTeamId: created[0]!.entityId }));
    const result = await refused(referring);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'reference-missing', changeId: referring[0]!.id, missing: [created[0]!.entityId] })]);
  });

  it('refuses secrets sealed with a key this instance does not hold', async () => {
    const head = (await stranger.db.read((stores) => stores.changes.head())).seq;
    await stranger.services.config.create(stranger.ctx, 'webhooks', {
      name: 'Deploy hook',
      url: 'https://hooks.example.com/deploy',
      events: ['ticket.created'],
      signingSecret: 'sealed-elsewhere',
    });
    const batch = await transferOf(stranger, head);
    const before = await tablesOf(target.database);
    const result = await receive(target, stranger, batch);
    expect(kindsOf(result)).toEqual([['secret-key-unknown', batch[0]!.id]]);
    expect(result.problems[0]!.message).not.toContain('sealed-elsewhere');
    expect(await tablesOf(target.database)).toEqual(before);
  });

  it('applies past a missing parent or requirement only when the caller accepts it as missing, and says so', async () => {
    const batch = await onSource(async (s) => {
      const t = await team(s, 'Skipped');
      await s.services.config.replace(s.ctx, 'teams', t.id, { name: 'Arrives alone' });
      await s.services.config.create(s.ctx, 'ticket-types', { name: 'Depends on skipped' });
    });
    const [skipped, update] = batch as [TransferChange, TransferChange];
    const refusedAlone = await refused([update]);
    expect(kindsOf(refusedAlone)).toEqual([['missing-dependency', update.id]]);
    const accepted = await receive(target, source, [update], { allowMissing: [skipped.id] });
    expect(accepted).toMatchObject({ applied: true, problems: [], skippedDependencies: [skipped.id] });
    expect(await target.db.read((stores) => stores.entities.find(update.entityId))).toMatchObject({ name: 'Arrives alone', head: update.id });
  });

  it('replays the first result for a repeated idempotency key, writing nothing more', async () => {
    const first = await onSource(async (s) => team(s, 'Idempotent'));
    const key = `push-${randomBytes(6).toString('hex')}`;
    const applied = await receive(target, source, first, { idempotencyKey: key });
    expect(applied).toMatchObject({ applied: true, replayed: false });
    const before = await tablesOf(target.database);
    const other = await onSource(async (s) => team(s, 'Sent under a used key'));
    const replay = await receive(target, source, other, { idempotencyKey: key });
    expect(replay).toEqual({ ...applied, replayed: true });
    expect(await tablesOf(target.database)).toEqual(before);

    // A refused request leaves its key unused, and a dry run never takes one.
    const refusedKey = `push-${randomBytes(6).toString('hex')}`;
    await refused([{ ...other[0]!, digest: '0'.repeat(64) }], { idempotencyKey: refusedKey });
    expect((await receive(target, source, other, { idempotencyKey: refusedKey, dryRun: true })).applied).toBe(false);
    expect((await tablesOf(target.database)).syncRequests).toEqual(before.syncRequests);
    expect(await receive(target, source, other, { idempotencyKey: refusedKey })).toMatchObject({ applied: true, replayed: false, counts: { toApply: 1 } });
  });

  it('plans exactly what the real run does, writing nothing, for any selection and order of changes (Invariant 6)', async () => {
    const history = await onSource(async (s) => {
      const a = await team(s, 'Alpha');
      const b = await team(s, 'Bravo');
      const open = await s.services.config.create(s.ctx, 'statuses', { name: 'Open', kind: 'ticket' });
      const tt = await s.services.config.create(s.ctx, 'ticket-types', { name: 'Request', defaultTeamId: a.id, defaultStatusId: open.entity!.id });
      await s.services.config.replace(s.ctx, 'teams', a.id, { name: 'Alpha 2' });
      await s.services.config.replace(s.ctx, 'ticket-types', tt.entity!.id, { name: 'Request', defaultTeamId: b.id });
      await s.services.config.remove(s.ctx, 'teams', a.id);
      await s.services.config.replace(s.ctx, 'statuses', open.entity!.id, { name: 'Open', kind: 'ticket', isClosed: false, sequence: 2 });
      await s.services.config.replace(s.ctx, 'ticket-types', tt.entity!.id, { name: 'Request' });
      await s.services.config.remove(s.ctx, 'teams', b.id);
    });
    // Runs share the target, so later runs also meet changes an earlier run applied.
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(history, { minLength: 1 }), fc.boolean(), async (batch, sorted) => {
        const order = sorted ? [...batch].sort((x, y) => history.indexOf(x) - history.indexOf(y)) : batch;
        const before = await tablesOf(target.database);
        const dry = await receive(target, source, order, { dryRun: true });
        expect(await tablesOf(target.database)).toEqual(before);
        const real = await receive(target, source, order);
        expect({ ...dry, applied: real.applied }).toEqual(real);
        expect(dry.applied).toBe(false);
        const after = await tablesOf(target.database);
        if (real.applied) expect(after.changes.length).toBe(before.changes.length + real.counts.toApply);
        else expect(after).toEqual(before);
      }),
      { numRuns: 40 },
    );
    expect(await target.services.changeLog.verify()).toMatchObject({ ok: true });
  });
});
