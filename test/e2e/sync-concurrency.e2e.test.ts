import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeRecord } from '../../src/store/ports.js';
import { engines } from '../support/databases.js';
import { link, startLiveInstance, type LiveInstance } from '../support/pipeline.js';
import { denseAndUnique, entityStates, logOf, writeManyChanges } from '../support/sync.js';

const types = ['teams', 'ticket-types'];

/** The entity state a log leads to when its changes are applied one after another, in its order. */
function replay(log: ChangeRecord[]): Map<string, { type: string; body: Record<string, unknown>; head: string | null }> {
  const state = new Map<string, { type: string; body: Record<string, unknown>; head: string | null }>();
  for (const change of log) {
    if (change.after) state.set(change.entityId, { type: change.type, body: change.after, head: change.id });
    else state.delete(change.entityId);
  }
  return state;
}

/** The receiver's log has no gap, repeat or duplicate, its chain verifies, and its entities are what its log leads to. */
async function expectSerial(receiver: LiveInstance): Promise<ChangeRecord[]> {
  const log = await logOf(receiver.db);
  expect(denseAndUnique(log)).toBe(true);
  expect(await receiver.services.changeLog.verify()).toMatchObject({ ok: true, checked: log.length });
  expect(await entityStates(receiver.db, types)).toEqual(replay(log));
  return log;
}

describe.each(engines)('concurrent sync on %s', (engine) => {
  let sender: LiveInstance;
  let sentLog: ChangeRecord[];
  let contested: { id: string; created: string; updated: string };
  const receivers: LiveInstance[] = [];
  /** How long a whole push took (from the first test), to spread edits over. */
  let pushTook = 1_000;

  /** A fresh receiver that the sender is linked to (no pipeline: any linked instance may push). */
  async function receiver(): Promise<LiveInstance> {
    const live = await startLiveInstance(engine, { name: `staging-${receivers.length + 1}`, kind: 'staging' });
    receivers.push(live);
    await link(sender, live);
    return live;
  }

  const push = (to: LiveInstance, body: Record<string, unknown> = {}) => sender.call('POST', `/v1/instances/${to.name}/push`, body);

  beforeAll(async () => {
    sender = await startLiveInstance(engine, { name: 'dev', kind: 'development' });
    const team = await sender.services.config.create(sender.ctx, 'teams', { name: 'Contested team' });
    await writeManyChanges(sender, 1_000);
    const update = await sender.services.config.replace(sender.ctx, 'teams', team.entity!.id, { name: 'Contested team (from dev)' });
    contested = { id: team.entity!.id, created: team.changeId!, updated: update.changeId! };
    sentLog = await logOf(sender.db);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([sender, ...receivers].map((i) => i?.close()));
  });

  it('applies two pushes from one sender at once exactly once each change, as one serial order', async () => {
    const target = await receiver();
    const started = performance.now();
    const answers = await Promise.all([push(target), push(target)]);
    pushTook = performance.now() - started;
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    // Whichever went second found everything present (or nothing left to send).
    expect(answers.map((a) => a.body.counts.toApply).sort((a, b) => a - b)).toEqual([0, sentLog.length]);
    const log = await expectSerial(target);
    expect(log.map((c) => c.id)).toEqual(sentLog.map((c) => c.id));
    expect(await entityStates(target.db, types)).toEqual(await entityStates(sender.db, types));
  });

  it('applies two cherry-picked pushes with overlapping closures at once, each change once', async () => {
    const target = await receiver();
    // A ticket type and the team it names share a closure: the team's create.
    const typeChange = sentLog.find((c) => c.type === 'ticket-types' && c.op === 'update' && c.requires.length > 0)!;
    const teamChange = sentLog.find((c) => c.id === typeChange.requires[0])!;
    const teamLater = sentLog.filter((c) => c.entityId === teamChange.entityId).at(-1)!;
    const answers = await Promise.all([push(target, { changeIds: [typeChange.id] }), push(target, { changeIds: [teamLater.id] })]);
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const log = await expectSerial(target);
    const wanted = new Set(answers.flatMap((a) => a.body.changes.map((c: { id: string }) => c.id)));
    expect(new Set(log.map((c) => c.id))).toEqual(wanted);
    expect(log.map((c) => c.id)).toContain(teamChange.id);
    expect(answers.reduce((n, a) => n + a.body.counts.toApply, 0)).toBe(log.length);
  });

  it('serialises a push with a direct edit made during it: the edit comes after the whole batch, or the push is refused', async () => {
    const orders: string[] = [];
    for (const delay of [0, 0.2, 0.4, 0.7]) {
      const target = await receiver();
      expect((await push(target, { changeIds: [contested.created] })).status).toBe(200);
      const pushed = push(target);
      // Delays spread over the time a push has been seen to take; either order must be serial.
      await new Promise((r) => setTimeout(r, delay * pushTook));
      const [edit, created] = await Promise.all([
        target.call('PUT', `/v1/config/teams/${contested.id}`, { name: 'Contested team (edited on staging)' }),
        target.call('POST', '/v1/config/teams', { name: 'Made on staging' }),
      ]);
      const answer = await pushed;
      expect(edit.status, JSON.stringify(edit.body)).toBe(200);
      expect(created.status, JSON.stringify(created.body)).toBe(201);

      const log = await expectSerial(target);
      const ids = log.map((c) => c.id);
      const editAt = ids.indexOf(edit.body.changeId);
      const batch = sentLog.filter((c) => c.id !== contested.created).map((c) => c.id);
      if (answer.status === 200) {
        orders.push('push, then edit');
        // The batch is one block in the sender's order, and the edit builds on its last change of the team.
        const start = ids.indexOf(batch[0]!);
        expect(ids.slice(start, start + batch.length)).toEqual(batch);
        expect(editAt).toBeGreaterThan(start + batch.length - 1);
        expect(log[editAt]!.parent).toBe(contested.updated);
      } else {
        orders.push('edit, then push (refused)');
        expect(answer.body.code).toBe('SYNC_CONFLICT');
        expect(answer.body.problems).toEqual([expect.objectContaining({ kind: 'conflict', changeId: contested.updated })]);
        expect(ids.filter((id) => batch.includes(id))).toEqual([]);
        expect(log[editAt]!.parent).toBe(contested.created);
      }
      expect(ids).toContain(created.body.changeId);
      expect(log).toHaveLength(answer.status === 200 ? batch.length + 3 : 3);
    }
    console.info(`${engine}: ${orders.join('; ')}`);
  });

});
