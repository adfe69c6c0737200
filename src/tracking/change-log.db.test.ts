import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { noAuthority, type WriteContext } from '../shared/actor.js';
import { fixedClock } from '../shared/clock.js';
import { isDomainError, type DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { ChangeOp } from '../store/ports.js';
import type { ChangeListItem, ChangeListQuery } from './change-log.js';
import { encodeCursor } from './cursor.js';

interface Made {
  id: string;
  type: string;
  entityId: string;
  op: ChangeOp;
  actorId: string;
  actorName: string;
  changeSet: string | null;
  name: string;
}

async function caught(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (isDomainError(error)) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe.each(engines)('change log on %s', (engine) => {
  let instance: TestInstance;
  const made: Made[] = [];
  const ids: Record<string, string> = {};
  let all: ChangeListItem[];
  const app: WriteContext = { actor: { kind: 'application', id: 'app-1', name: 'Deploy bot' }, request: null, changeSet: 'CS-1', authority: noAuthority };

  beforeAll(async () => {
    instance = await createTestInstance(engine, { clock: fixedClock(Date.UTC(2025, 0, 1), 60_000) });
    const { services, ctx } = instance;
    const admin2: WriteContext = { ...ctx, changeSet: 'CS-2' };
    const record = (key: string, ctxUsed: WriteContext, type: string, entityId: string, op: ChangeOp, name: string, changeId: string | null) => {
      if (!changeId) throw new Error(`${key} recorded no change`);
      ids[key] = changeId;
      made.push({ id: changeId, type, entityId, op, actorId: ctxUsed.actor.id, actorName: ctxUsed.actor.name, changeSet: ctxUsed.changeSet, name });
    };
    const create = async (key: string, c: WriteContext, type: string, body: Record<string, unknown>) => {
      const outcome = await services.config.create(c, type, body);
      ids[`${key}:entity`] = outcome.entity!.id;
      record(key, c, type, outcome.entity!.id, 'create', outcome.entity!.name, outcome.changeId);
    };
    const replace = async (key: string, c: WriteContext, type: string, entity: string, body: Record<string, unknown>) => {
      const outcome = await services.config.replace(c, type, ids[`${entity}:entity`]!, body);
      record(key, c, type, outcome.entity!.id, 'update', outcome.entity!.name, outcome.changeId);
    };

    await create('alpha', ctx, 'teams', { name: 'Alpha Team' });
    await create('beta', ctx, 'teams', { name: 'Beta_Team' });
    await create('betax', ctx, 'teams', { name: 'BetaXTeam' });
    await create('done', app, 'statuses', { name: '100% Done', kind: 'ticket' });
    await create('donex', app, 'statuses', { name: '100X Done', kind: 'ticket' });
    await create('rule', admin2, 'ticket-rules', {
      name: 'Route alpha',
      criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
      outcomes: [
        { field: 'team', teamId: ids['alpha:entity'] },
        { field: 'status', statusId: ids['done:entity'] },
      ],
    });
    await replace('alpha-renamed', ctx, 'teams', 'alpha', { name: 'ALPHA Core' });
    await create('hook', app, 'webhooks', { name: 'Notify', url: 'https://hooks.example.com/n', events: ['ticket.created'], signingSecret: 'super-secret-value' });
    await replace('hook-rekeyed', app, 'webhooks', 'hook', {
      name: 'Notify',
      url: 'https://hooks.example.com/n',
      events: ['ticket.created'],
      signingSecret: 'another-secret-value',
    });
    const removed = await services.config.remove(admin2, 'teams', ids['betax:entity']!);
    record('betax-deleted', admin2, 'teams', ids['betax:entity']!, 'delete', 'BetaXTeam', removed.changeId);
    await replace('donex-closed', ctx, 'statuses', 'donex', { name: '100X Done', kind: 'ticket', isClosed: true });
    all = (await services.changeLog.list({ limit: 100 })).items;
  });
  afterAll(async () => instance?.close());

  async function expectFilter(query: Omit<ChangeListQuery, 'limit'>, wanted: (m: Made, item: ChangeListItem) => boolean, size?: number) {
    const byId = new Map(all.map((item) => [item.id, item]));
    const expected = made.filter((m) => wanted(m, byId.get(m.id)!)).map((m) => m.id).reverse();
    if (size !== undefined) expect(expected).toHaveLength(size);
    const page = await instance.services.changeLog.list({ limit: 100, ...query });
    expect(page.items.map((item) => item.id)).toEqual(expected);
    expect(page.nextCursor).toBeNull();
  }

  describe('list', () => {
    it('lists every change newest first, without snapshots', () => {
      expect(all.map((item) => item.id)).toEqual(made.map((m) => m.id).reverse());
      for (const [i, item] of all.entries()) {
        const next = all[i + 1];
        if (next) {
          expect(item.seq).toBeGreaterThan(next.seq);
          expect(Date.parse(item.at)).toBeGreaterThan(Date.parse(next.at));
        }
        expect(item).not.toHaveProperty('before');
        expect(item).not.toHaveProperty('after');
      }
      expect(all.find((item) => item.id === ids['alpha-renamed'])).toMatchObject({
        op: 'update',
        type: 'teams',
        entityName: 'ALPHA Core',
        parent: ids.alpha,
        origin: instance.services.instance.id,
        actor: instance.ctx.actor,
        changeSet: null,
        revertOf: null,
      });
    });

    it('filters by type, entity, operation, origin and change set', async () => {
      await expectFilter({ type: 'teams' }, (m) => m.type === 'teams', 5);
      await expectFilter({ type: 'webhooks' }, (m) => m.type === 'webhooks', 2);
      await expectFilter({ entityId: ids['alpha:entity']! }, (m) => m.entityId === ids['alpha:entity'], 2);
      await expectFilter({ op: 'create' }, (m) => m.op === 'create', 7);
      await expectFilter({ op: 'update' }, (m) => m.op === 'update', 3);
      await expectFilter({ op: 'delete' }, (m) => m.op === 'delete', 1);
      await expectFilter({ origin: instance.services.instance.id }, () => true, made.length);
      await expectFilter({ origin: newId() }, () => false, 0);
      await expectFilter({ changeSet: 'CS-1' }, (m) => m.changeSet === 'CS-1', 4);
      await expectFilter({ changeSet: 'CS-2' }, (m) => m.changeSet === 'CS-2', 2);
      await expectFilter({ changeSet: 'CS-3' }, () => false, 0);
    });

    it('filters by actor id or actor name', async () => {
      const admin = instance.ctx.actor;
      await expectFilter({ actor: 'app-1' }, (m) => m.actorId === 'app-1', 4);
      await expectFilter({ actor: 'Deploy bot' }, (m) => m.actorName === 'Deploy bot', 4);
      await expectFilter({ actor: admin.id }, (m) => m.actorId === admin.id, 7);
      await expectFilter({ actor: admin.name }, (m) => m.actorName === admin.name, 7);
      await expectFilter({ actor: 'deploy' }, () => false, 0);
    });

    it("filters by text in the entity's name, case-insensitively, with % and _ taken literally", async () => {
      const contains = (needle: string) => (m: Made) => m.name.toLowerCase().includes(needle.toLowerCase());
      await expectFilter({ nameContains: 'alpha' }, contains('alpha'), 3);
      await expectFilter({ nameContains: 'ALPHA CORE' }, contains('alpha core'), 1);
      await expectFilter({ nameContains: 'a_t' }, contains('a_t'), 1);
      await expectFilter({ nameContains: '0% d' }, contains('0% d'), 1);
      await expectFilter({ nameContains: '%' }, contains('%'), 1);
      await expectFilter({ nameContains: '_' }, contains('_'), 1);
      await expectFilter({ nameContains: 'no such name' }, () => false, 0);
    });

    it('filters by a time range, bounds included', async () => {
      const at = (key: string) => all.find((item) => item.id === ids[key])!.at;
      const from = at('done');
      const to = at('hook');
      const within = (_m: Made, item: ChangeListItem) => item.at >= from && item.at <= to;
      await expectFilter({ from, to }, within, 5);
      await expectFilter({ from }, (_m, item) => item.at >= from, 8);
      await expectFilter({ to }, (_m, item) => item.at <= to, 8);
      // Another notation of the same instant selects the same rows.
      const offset = new Date(Date.parse(from) + 3_600_000).toISOString().replace('Z', '+01:00');
      await expectFilter({ from: offset, to }, within, 5);
      await expectFilter({ from: to, to: from }, () => false, 0);
    });

    it('combines filters', async () => {
      const admin = instance.ctx.actor;
      await expectFilter({ type: 'teams', op: 'create', actor: admin.id }, (m) => m.type === 'teams' && m.op === 'create', 3);
      const from = all.find((item) => item.id === ids.hook)!.at;
      await expectFilter({ changeSet: 'CS-1', op: 'update', from }, (m) => m.changeSet === 'CS-1' && m.op === 'update', 1);
      await expectFilter({ type: 'teams', nameContains: 'beta', op: 'delete' }, (m) => m.id === ids['betax-deleted'], 1);
      await expectFilter({ type: 'statuses', actor: 'app-1', to: all.find((item) => item.id === ids.done)!.at }, (m) => m.id === ids.done, 1);
    });

    it('walks every row exactly once with a cursor', async () => {
      for (const query of [{}, { type: 'teams' }, { op: 'update' as const }]) {
        const expected = (await instance.services.changeLog.list({ limit: 100, ...query })).items.map((item) => item.id);
        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await instance.services.changeLog.list({ limit: 3, ...query, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((item) => item.id));
          sizes.push(page.items.length);
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect(seen).toEqual(expected);
        expect(new Set(seen).size).toBe(seen.length);
        expect(sizes).toEqual(Array.from({ length: Math.ceil(expected.length / 3) }, (_, i) => Math.min(3, expected.length - i * 3)));
      }
    });

    it('refuses a cursor it did not hand out and a date that is not one', async () => {
      const { changeLog } = instance.services;
      for (const cursor of ['not a cursor', encodeCursor('01ABC'), Buffer.from('{"seq":3}').toString('base64url')]) {
        const error = await caught(changeLog.list({ limit: 3, cursor }));
        expect(error.code).toBe('INVALID_CURSOR');
      }
      const from = await caught(changeLog.list({ limit: 3, from: 'yesterday' }));
      expect(from.code).toBe('VALIDATION_FAILED');
      expect(from.details.errors).toEqual([expect.objectContaining({ path: 'from' })]);
      const to = await caught(changeLog.list({ limit: 3, from: '2025-01-01T00:00:00Z', to: '2025-13-45' }));
      expect(to.code).toBe('VALIDATION_FAILED');
      expect(to.details.errors).toEqual([expect.objectContaining({ path: 'to' })]);
    });
  });

  describe('detail', () => {
    it('shows an update with its diff and the rollback script that undoes it', async () => {
      const detail = await instance.services.changeLog.detail(ids['alpha-renamed']!);
      expect(detail).toMatchObject({
        id: ids['alpha-renamed'],
        op: 'update',
        parent: ids.alpha,
        before: { name: 'Alpha Team', isCoManaged: false },
        after: { name: 'ALPHA Core', isCoManaged: false },
        requires: [],
        secretsChanged: [],
      });
      expect(detail.diff).toEqual([{ path: 'name', before: 'Alpha Team', after: 'ALPHA Core' }]);
      expect(detail.rollbackScript).toEqual([
        {
          op: 'update',
          type: 'teams',
          entityId: ids['alpha:entity'],
          body: { name: 'Alpha Team', isCoManaged: false },
          fields: [{ path: 'name', before: 'ALPHA Core', after: 'Alpha Team' }],
        },
      ]);
      expect(detail.dependents).toEqual({ items: [], more: false });
    });

    it('derives delete for a create and create with the before body for a delete', async () => {
      const created = await instance.services.changeLog.detail(ids.beta!);
      expect(created.before).toBeNull();
      expect(created.rollbackScript).toEqual([expect.objectContaining({ op: 'delete', type: 'teams', entityId: ids['beta:entity'], body: null })]);
      const deleted = await instance.services.changeLog.detail(ids['betax-deleted']!);
      expect(deleted).toMatchObject({ op: 'delete', parent: ids.betax, after: null, before: { name: 'BetaXTeam', isCoManaged: false } });
      expect(deleted.diff).toEqual([
        { path: 'isCoManaged', before: false, after: null },
        { path: 'name', before: 'BetaXTeam', after: null },
      ]);
      expect(deleted.rollbackScript).toEqual([
        {
          op: 'create',
          type: 'teams',
          entityId: ids['betax:entity'],
          body: { name: 'BetaXTeam', isCoManaged: false },
          fields: [
            { path: 'isCoManaged', before: null, after: false },
            { path: 'name', before: null, after: 'BetaXTeam' },
          ],
        },
      ]);
    });

    it('lists the later changes that depend on a change: its successor and the changes that require it', async () => {
      const { changeLog } = instance.services;
      const team = await changeLog.detail(ids.alpha!);
      expect(team.dependents.items.map((item) => item.id)).toEqual([ids.rule, ids['alpha-renamed']]);
      expect(team.dependents.more).toBe(false);
      const status = await changeLog.detail(ids.done!);
      expect(status.dependents.items.map((item) => item.id)).toEqual([ids.rule]);
      const rule = await changeLog.detail(ids.rule!);
      expect([...rule.requires].sort()).toEqual([ids.alpha, ids.done].sort());
      expect(rule.dependents.items).toEqual([]);
      const hook = await changeLog.detail(ids.hook!);
      expect(hook.dependents.items.map((item) => item.id)).toEqual([ids['hook-rekeyed']]);
      expect((await changeLog.detail(ids.betax!)).dependents.items.map((item) => item.id)).toEqual([ids['betax-deleted']]);
    });

    it('masks secrets as { set: true } and names the secrets a change set', async () => {
      const { changeLog } = instance.services;
      const created = await changeLog.detail(ids.hook!);
      expect(created.after).toMatchObject({ signingSecret: { set: true } });
      expect(created.secretsChanged).toEqual(['signingSecret']);
      expect(created.diff).toContainEqual({ path: 'signingSecret', before: null, after: { set: true } });
      const rekeyed = await changeLog.detail(ids['hook-rekeyed']!);
      expect(rekeyed.before).toMatchObject({ signingSecret: { set: true } });
      expect(rekeyed.after).toMatchObject({ signingSecret: { set: true } });
      expect(rekeyed.secretsChanged).toEqual(['signingSecret']);
      expect(rekeyed.diff).toEqual([]);
      expect(rekeyed.rollbackScript[0]).toMatchObject({ op: 'update', body: { signingSecret: { set: true } }, fields: [] });
      for (const detail of [created, rekeyed]) {
        const text = JSON.stringify(detail);
        expect(text).not.toContain('super-secret-value');
        expect(text).not.toContain('another-secret-value');
        expect(text).not.toContain('enc:v1:');
      }
      // The stored change does hold the envelopes, so the masking above is doing the work.
      const stored = await instance.db.read((stores) => stores.changes.findById(ids['hook-rekeyed']!));
      expect(String(stored!.before!.signingSecret)).toMatch(/^enc:v1:/);
    });

    it('answers CHANGE_NOT_FOUND for an unknown id', async () => {
      for (const id of [newId(), 'nope']) {
        const error = await caught(instance.services.changeLog.detail(id));
        expect(error.code).toBe('CHANGE_NOT_FOUND');
        expect(error.details).toMatchObject({ id });
      }
    });
  });
});
