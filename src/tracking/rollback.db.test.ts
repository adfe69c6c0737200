import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { builtinTypes } from '../catalog/builtin/index.js';
import { createCatalog } from '../catalog/catalog.js';
import { defineType, displayName, entityId } from '../catalog/define.js';
import type { WriteContext } from '../shared/actor.js';
import { isDomainError, type DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { ChangeOp } from '../store/ports.js';
import { checkLink } from './change-chain.js';
import { historyKeysOf } from './history-keys.js';
import { maskSecrets } from './secrets.js';

type Kind = 'teams' | 'statuses' | 'ticket-types' | 'ticket-rules' | 'webhooks';
const kinds: Kind[] = ['teams', 'statuses', 'ticket-types', 'ticket-rules', 'webhooks'];

interface Seed {
  name: number;
  a: number;
  b: number;
  c: number;
  flag: boolean;
  secret: number;
  token: number;
  stale: number;
}

type Command = { kind: 'create'; type: Kind; seed: Seed } | { kind: 'update'; pick: number; seed: Seed } | { kind: 'delete'; pick: number };

const seedArb: fc.Arbitrary<Seed> = fc.record({
  name: fc.nat(3),
  a: fc.nat(3),
  b: fc.nat(3),
  c: fc.nat(3),
  flag: fc.boolean(),
  secret: fc.nat(3),
  token: fc.nat(3),
  stale: fc.nat(9),
});
const createArb: fc.Arbitrary<Command> = fc.record({ kind: fc.constant('create' as const), type: fc.constantFrom(...kinds), seed: seedArb });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: createArb, weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), seed: seedArb }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }), weight: 2 },
);
// The first command always succeeds, so every history has at least one change.
const historyArb = fc.tuple(createArb, fc.array(commandArb, { minLength: 4, maxLength: 29, size: 'medium' })).map(([first, rest]) => [first, ...rest]);

interface EntityRow {
  id: string;
  type: string;
  name: string;
  body: Record<string, unknown>;
}

interface State {
  entities: EntityRow[];
  refs: { from_id: string; to_id: string; from_type: string; path: string }[];
}

/** The raw tables: bodies hold the stored secret envelopes. */
async function snapshot(instance: TestInstance): Promise<State> {
  const db = instance.database.dialect.db;
  const entities = await db.selectFrom('entities').select(['id', 'type', 'name', 'body']).orderBy('id').execute();
  const refs = await db.selectFrom('entity_refs').selectAll().orderBy('from_id').orderBy('path').orderBy('to_id').execute();
  return { entities: entities.map((e) => ({ ...e, body: JSON.parse(e.body) as Record<string, unknown> })), refs };
}

async function logHead(instance: TestInstance) {
  return instance.db.read(async (stores) => ({ ...(await stores.changes.head()), count: await stores.changes.countFromSeq(0) }));
}

async function rawChange(instance: TestInstance, id: string) {
  const change = await instance.db.read((stores) => stores.changes.findById(id));
  if (!change) throw new Error(`change ${id} not stored`);
  return change;
}

async function rawChanges(instance: TestInstance, ids: string[]) {
  const found = await instance.db.read((stores) => Promise.all(ids.map((id) => stores.changes.findById(id))));
  return new Map(found.filter((c) => c !== undefined).map((c) => [c.id, c]));
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

const inverse: Record<ChangeOp, ChangeOp> = { create: 'delete', delete: 'create', update: 'update' };

class History {
  readonly live: { id: string; type: Kind }[] = [];
  readonly deleted: { id: string; type: Kind }[] = [];

  private ref(target: Kind, pick: number, stale: boolean): string | undefined {
    const gone = this.deleted.filter((e) => e.type === target);
    if (stale && gone.length > 0) return gone[pick % gone.length]!.id;
    const candidates = this.live.filter((e) => e.type === target);
    if (pick === 0 || candidates.length === 0) return undefined;
    return candidates[(pick - 1) % candidates.length]!.id;
  }

  body(type: Kind, seed: Seed): Record<string, unknown> {
    const name = `${type} ${seed.name}`;
    const stale = seed.stale === 0;
    switch (type) {
      case 'teams':
        return { name, isCoManaged: seed.flag };
      case 'statuses':
        return { name, kind: 'ticket', isClosed: seed.flag };
      case 'ticket-types': {
        const team = this.ref('teams', seed.a, stale);
        const status = this.ref('statuses', seed.b, false);
        return { name, ...(team ? { defaultTeamId: team } : {}), ...(status ? { defaultStatusId: status } : {}) };
      }
      case 'ticket-rules': {
        const team = this.ref('teams', seed.a, false);
        const status = this.ref('statuses', seed.b, stale);
        const ticketType = this.ref('ticket-types', seed.c, false);
        const outcomes: Record<string, unknown>[] = [];
        if (team) outcomes.push({ field: 'team', teamId: team });
        if (status) outcomes.push({ field: 'status', statusId: status });
        if (outcomes.length === 0) outcomes.push({ field: 'priority', level: seed.name + 1 });
        const criteria = ticketType
          ? [{ field: 'ticket-type', operator: 'is', ticketTypeIds: [ticketType] }]
          : [{ field: 'summary', operator: 'contains', value: `v${seed.c}` }];
        return { name, stopWhenMatched: seed.flag, criteria, outcomes };
      }
      case 'webhooks': {
        const signingSecret = [undefined, null, 'alpha-signing-secret', 'beta-signing-secret'][seed.secret];
        const authentication = [undefined, { type: 'bearer', token: 'token-one' }, { type: 'bearer' }, { type: 'none' }][seed.token];
        return {
          name,
          url: 'https://hooks.example.com/shiplog',
          events: ['ticket.created'],
          enabled: seed.flag,
          ...(signingSecret !== undefined ? { signingSecret } : {}),
          ...(authentication ? { authentication } : {}),
        };
      }
    }
  }

  /** Runs one command; returns the recorded change id, or null when the service refused it or nothing changed. */
  async run(instance: TestInstance, command: Command): Promise<string | null> {
    const { services, ctx } = instance;
    const refused = async (write: () => Promise<{ changeId: string | null; entity: { id: string } | null }>, allowed: string) => {
      try {
        return await write();
      } catch (error) {
        if (isDomainError(error) && error.code === allowed) return null;
        throw error;
      }
    };
    if (command.kind === 'create') {
      const outcome = await refused(() => services.config.create(ctx, command.type, this.body(command.type, command.seed)), 'REFERENCE_NOT_FOUND');
      if (!outcome) return null;
      this.live.push({ id: outcome.entity!.id, type: command.type });
      return outcome.changeId;
    }
    if (this.live.length === 0) return null;
    const index = command.pick % this.live.length;
    const target = this.live[index]!;
    if (command.kind === 'update') {
      const outcome = await refused(() => services.config.replace(ctx, target.type, target.id, this.body(target.type, command.seed)), 'REFERENCE_NOT_FOUND');
      return outcome?.changeId ?? null;
    }
    const outcome = await refused(() => services.config.remove(ctx, target.type, target.id), 'ENTITY_REFERENCED');
    if (!outcome) return null;
    this.live.splice(index, 1);
    this.deleted.push(target);
    return outcome.changeId;
  }
}

describe.each(engines)('rollback (Invariant 2) on %s', (engine) => {
  describe('for random histories', () => {
    let instance: TestInstance;
    beforeAll(async () => {
      instance = await createTestInstance(engine);
    });
    afterAll(async () => instance?.close());

    it('rolling back before a random change restores the state just before it, and the dry run lists exactly what the real run reverts', async () => {
      await fc.assert(
        fc.asyncProperty(historyArb, fc.nat(), async (commands, pick) => {
          const { services, ctx } = instance;
          const catalog = services.catalog;
          const start = await snapshot(instance);
          const history = new History();
          const changes: { id: string; before: State }[] = [];
          let current = start;
          for (const command of commands) {
            const changeId = await history.run(instance, command);
            if (changeId === null) continue;
            changes.push({ id: changeId, before: current });
            current = await snapshot(instance);
          }
          const final = current;
          const index = pick % changes.length;
          const target = changes[index]!;
          const revertedIds = changes.slice(index).map((c) => c.id).reverse();

          // (a) the dry run writes nothing
          const headBefore = await logHead(instance);
          const dry = await services.rollback.rollbackBefore(ctx, target.id, { dryRun: true });
          expect(await snapshot(instance)).toEqual(final);
          expect(await logHead(instance)).toEqual(headBefore);
          expect(dry.dryRun).toBe(true);
          expect(dry.reverted.every((r) => r.revertedBy === null)).toBe(true);

          // (b) the real run restores every entity as it was just before the target change
          const real = await services.rollback.rollbackBefore(ctx, target.id, { dryRun: false });
          expect(await snapshot(instance)).toEqual(target.before);

          // (c) the preview is the real run: same changes, same order (newest first), same outcome per entity
          expect(real.reverted.map((r) => r.changeId)).toEqual(revertedIds);
          expect(dry.reverted.map((r) => r.changeId)).toEqual(revertedIds);
          expect(dry.reverted).toEqual(real.reverted.map((r) => ({ ...r, revertedBy: null })));
          expect(dry.entities).toEqual(real.entities);
          expect(dry.counts).toEqual(real.counts);
          expect(real.counts).toEqual({ changes: revertedIds.length, entities: real.entities.length, written: revertedIds.length });
          const touched = new Set(real.reverted.map((r) => r.entityId));
          expect(new Set(real.entities.map((e) => e.id))).toEqual(touched);
          for (const outcome of real.entities) {
            const row = target.before.entities.find((e) => e.id === outcome.id);
            expect(outcome.state).toEqual(row ? maskSecrets(catalog.get(outcome.type), row.body) : null);
          }
          const stored = await rawChanges(instance, real.reverted.flatMap((r) => [r.changeId, r.revertedBy ?? r.changeId]));
          for (const step of real.reverted) {
            expect(step.revertedBy).not.toBeNull();
            const written = stored.get(step.revertedBy!)!;
            const original = stored.get(step.changeId)!;
            expect(written).toMatchObject({ revertOf: step.changeId, op: inverse[original.op], type: original.type, entityId: original.entityId });
            expect(written.after).toEqual(original.before);
            expect(step.revertOp).toBe(inverse[original.op]);
          }

          // (d) the reverting changes are ordinary changes at the top of the list, and the chain still verifies
          const writtenIds = real.reverted.map((r) => r.revertedBy!);
          const page = await services.changeLog.list({ limit: writtenIds.length + 1 });
          expect(page.items.slice(0, writtenIds.length).map((c) => c.id)).toEqual([...writtenIds].reverse());
          expect(page.items[writtenIds.length]?.id).toBe(changes.at(-1)!.id);
          for (const [i, item] of page.items.slice(0, writtenIds.length).reverse().entries()) {
            const step = real.reverted[i]!;
            expect(item).toMatchObject({ revertOf: step.changeId, op: step.revertOp, entityId: step.entityId, actor: ctx.actor, changeSet: null });
          }
          // The new rows chain onto the head; the whole log is verified once after all runs.
          const appended = await instance.db.read((stores) => stores.changes.scan(headBefore.seq, writtenIds.length + 1));
          expect(appended.map((c) => c.id)).toEqual(writtenIds);
          let previous: { seq: number; hash: string } = headBefore;
          for (const row of appended) {
            expect(checkLink(historyKeysOf(instance.box), previous, row)).toBeNull();
            previous = row;
          }
          expect(await logHead(instance)).toMatchObject({ seq: appended.at(-1)!.seq, hash: appended.at(-1)!.hash, count: headBefore.count + writtenIds.length });

          // (e) the rollback is itself revertable
          const undo = await services.rollback.rollbackBefore(ctx, writtenIds[0]!, { dryRun: false });
          expect(undo.reverted.map((r) => r.changeId)).toEqual([...writtenIds].reverse());
          expect(await snapshot(instance)).toEqual(final);

          // Leaves the shared database as this run found it (and checks rollback to the very start).
          await services.rollback.rollbackBefore(ctx, changes[0]!.id, { dryRun: false });
          expect(await snapshot(instance)).toEqual(start);
        }),
        { numRuns: 40 },
      );
      const verified = await instance.services.changeLog.verify();
      expect(verified).toMatchObject({ ok: true, failure: null });
      expect(verified.checked).toBe((await logHead(instance)).count);
    });
  });

  describe('examples', () => {
    let instance: TestInstance;
    afterEach(async () => instance?.close());

    async function expectNothingWritten(run: () => Promise<unknown>, code: string): Promise<DomainError> {
      const state = await snapshot(instance);
      const head = await logHead(instance);
      const error = await caught(run());
      expect(error.code).toBe(code);
      expect(await snapshot(instance)).toEqual(state);
      expect(await logHead(instance)).toEqual(head);
      return error;
    }

    it('answers CHANGE_NOT_FOUND for an unknown change id', async () => {
      instance = await createTestInstance(engine);
      const { services, ctx } = instance;
      await services.config.create(ctx, 'teams', { name: 'Service Desk' });
      const unknown = newId();
      for (const dryRun of [true, false]) {
        const error = await expectNothingWritten(() => services.rollback.rollbackBefore(ctx, unknown, { dryRun }), 'CHANGE_NOT_FOUND');
        expect(error.details).toMatchObject({ id: unknown });
      }
    });

    it('answers TRACKING_DISABLED when config change tracking is off', async () => {
      instance = await createTestInstance(engine);
      const { services, ctx } = instance;
      const created = await services.config.create(ctx, 'teams', { name: 'Service Desk' });
      await services.config.replace(ctx, 'teams', created.entity!.id, { name: '1st Line' });
      await services.settings.update(ctx, { configTracking: false }, { isAdministrator: true });
      for (const dryRun of [true, false]) {
        await expectNothingWritten(() => services.rollback.rollbackBefore(ctx, created.changeId!, { dryRun }), 'TRACKING_DISABLED');
      }
      expect((await services.config.get('teams', created.entity!.id)).name).toBe('1st Line');
    });

    it('records the reverting changes with the actor, request and change set of the caller', async () => {
      instance = await createTestInstance(engine);
      const { services, ctx } = instance;
      const team = await services.config.create(ctx, 'teams', { name: 'Service Desk' });
      const renamed = await services.config.replace(ctx, 'teams', team.entity!.id, { name: '1st Line' });
      const status = await services.config.create(ctx, 'statuses', { name: 'Open', kind: 'ticket' });
      const caller: WriteContext = {
        actor: { kind: 'application', id: 'app-7', name: 'Release bot' },
        request: { method: 'POST', path: '/v1/changes/x/rollback-before', requestId: 'req-1', remoteAddress: '10.0.0.9', userAgent: 'test', clientApplication: 'app-7' },
        changeSet: 'CS-ROLLBACK',
        authority: { permissions: new Set(['config:edit', 'changes:rollback']), ticketPermissions: new Set(), isAdministrator: false, viaApplication: true },
      };
      const result = await services.rollback.rollbackBefore(caller, renamed.changeId!, { dryRun: false });
      expect(result.reverted.map((r) => [r.changeId, r.revertOp])).toEqual([
        [status.changeId, 'delete'],
        [renamed.changeId, 'update'],
      ]);
      for (const step of result.reverted) {
        const written = await rawChange(instance, step.revertedBy!);
        expect(written).toMatchObject({ actor: caller.actor, request: caller.request, changeSet: 'CS-ROLLBACK', revertOf: step.changeId });
      }
      const bySet = await services.changeLog.list({ limit: 10, changeSet: 'CS-ROLLBACK' });
      expect(bySet.items.map((c) => c.id)).toEqual(result.reverted.map((r) => r.revertedBy).reverse());
      expect((await services.config.get('teams', team.entity!.id)).name).toBe('Service Desk');
      await expect(services.config.get('statuses', status.entity!.id)).rejects.toMatchObject({ code: 'ENTITY_NOT_FOUND' });
    });

    it('restores secret envelopes that still open to the old values', async () => {
      instance = await createTestInstance(engine);
      const { services, ctx } = instance;
      const hook = await services.config.create(ctx, 'webhooks', {
        name: 'Deploy hook',
        url: 'https://hooks.example.com/a',
        events: ['ticket.created'],
        signingSecret: 'first-secret',
        authentication: { type: 'bearer', token: 'first-token' },
      });
      const id = hook.entity!.id;
      const changed = await services.config.replace(ctx, 'webhooks', id, {
        name: 'Deploy hook',
        url: 'https://hooks.example.com/a',
        events: ['ticket.created'],
        signingSecret: 'second-secret',
        authentication: { type: 'bearer', token: null },
      });
      expect(await services.config.readSecret('webhooks', id, 'authentication.token')).toBeNull();
      const result = await services.rollback.rollbackBefore(ctx, changed.changeId!, { dryRun: false });
      expect(result.entities).toEqual([
        { type: 'webhooks', id, name: 'Deploy hook', state: expect.objectContaining({ signingSecret: { set: true }, authentication: { type: 'bearer', token: { set: true } } }) },
      ]);
      expect(await services.config.readSecret('webhooks', id, 'signingSecret')).toBe('first-secret');
      expect(await services.config.readSecret('webhooks', id, 'authentication.token')).toBe('first-token');
    });

    it('is ROLLBACK_BLOCKED, writing nothing, when a revert would delete an entity a local-type entity references', async () => {
      const teamNotes = defineType({
        key: 'team-notes',
        label: 'Team notes',
        area: 'local',
        tracking: { kind: 'local' },
        schema: z.strictObject({ name: displayName(), teamId: entityId() }),
        references: [{ path: 'teamId', target: 'teams' }],
      });
      instance = await createTestInstance(engine, { catalog: createCatalog([...builtinTypes, teamNotes]) });
      const { services, ctx } = instance;
      const team = await services.config.create(ctx, 'teams', { name: 'Service Desk' });
      const note = await services.config.create(ctx, 'team-notes', { name: 'Rota', teamId: team.entity!.id });
      expect(note.changeId).toBeNull();
      for (const dryRun of [true, false]) {
        const error = await expectNothingWritten(() => services.rollback.rollbackBefore(ctx, team.changeId!, { dryRun }), 'ROLLBACK_BLOCKED');
        expect(error.details).toMatchObject({
          changeId: team.changeId,
          cause: { code: 'ENTITY_REFERENCED', referencedBy: [{ type: 'team-notes', id: note.entity!.id, name: 'Rota', path: 'teamId' }] },
        });
      }
    });

    it('is ROLLBACK_BLOCKED, writing nothing, when a revert would delete an entity referenced by one written while tracking was off', async () => {
      instance = await createTestInstance(engine);
      const { services, ctx } = instance;
      const team = await services.config.create(ctx, 'teams', { name: 'Service Desk' });
      const status = await services.config.create(ctx, 'statuses', { name: 'Open', kind: 'ticket' });
      await services.settings.update(ctx, { configTracking: false }, { isAdministrator: true });
      const untracked = await services.config.create(ctx, 'ticket-types', { name: 'Incident', defaultTeamId: team.entity!.id });
      expect(untracked.changeId).toBeNull();
      await services.settings.update(ctx, { configTracking: true }, { isAdministrator: true });
      for (const dryRun of [true, false]) {
        const error = await expectNothingWritten(() => services.rollback.rollbackBefore(ctx, team.changeId!, { dryRun }), 'ROLLBACK_BLOCKED');
        expect(error.details).toMatchObject({
          changeId: team.changeId,
          cause: { code: 'ENTITY_REFERENCED', referencedBy: [{ type: 'ticket-types', id: untracked.entity!.id, path: 'defaultTeamId' }] },
        });
      }
      // Reverting only the later change is not blocked.
      const result = await services.rollback.rollbackBefore(ctx, status.changeId!, { dryRun: false });
      expect(result.reverted.map((r) => r.changeId)).toEqual([status.changeId]);
    });
  });
});
