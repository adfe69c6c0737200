import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { withStores, type Transactor } from '../store/ports.js';

const injectable = [
  'entities.insert',
  'entities.update',
  'entities.remove',
  'entities.replaceReferences',
  'changes.head',
  'changes.append',
] as const;

type InjectableMethod = (typeof injectable)[number];

interface Injection {
  method: InjectableMethod;
  /** Throw before the real call, or after it has done its work. */
  when: 'before' | 'after';
  /** Throw on this call of the method within the operation (1-based). */
  nth: number;
}

class InjectedFailure extends Error {
  constructor(readonly injection: Injection) {
    super(`injected failure ${injection.when} ${injection.method} #${injection.nth}`);
  }
}

/** Wraps a transactor so that, while armed, the stores a write transaction hands out fail as planned. */
function createInjector() {
  let plan: Injection | null = null;
  let calls = 0;
  let fired = false;

  const wrapGroup = <G extends object>(group: G, name: string): G =>
    new Proxy(group, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function' || !plan || `${name}.${String(prop)}` !== plan.method) return value;
        const active = plan;
        return async (...args: unknown[]) => {
          calls += 1;
          const hit = calls === active.nth;
          if (hit && active.when === 'before') {
            fired = true;
            throw new InjectedFailure(active);
          }
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (hit && active.when === 'after') {
            fired = true;
            throw new InjectedFailure(active);
          }
          return result;
        };
      },
    });

  const wrap = (db: Transactor): Transactor => ({
    read: (fn) => db.read(fn),
    write: (fn) =>
      db.write((stores) =>
        fn(plan ? withStores(stores, { entities: wrapGroup(stores.entities, 'entities'), changes: wrapGroup(stores.changes, 'changes') }) : stores),
      ),
  });

  return {
    wrap,
    arm(injection: Injection | null) {
      plan = injection;
      calls = 0;
      fired = false;
    },
    disarm(): boolean {
      plan = null;
      return fired;
    },
  };
}

type Injector = ReturnType<typeof createInjector>;

async function snapshot(instance: TestInstance) {
  const db = instance.database.dialect.db;
  return {
    entities: await db.selectFrom('entities').selectAll().orderBy('id').execute(),
    refs: await db.selectFrom('entity_refs').selectAll().orderBy('from_id').orderBy('path').execute(),
    changes: await db.selectFrom('changes').selectAll().orderBy('seq').execute(),
    head: await db.selectFrom('change_log_head').selectAll().execute(),
  };
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

const ruleBody = (name: string, teamId: string) => ({
  name,
  criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
  outcomes: [{ field: 'team', teamId }],
});

/**
 * Invariant 1: runs `write` with `injection` armed and checks that either the entity changed together with exactly
 * one new change whose `after` is the stored body, or nothing changed at all.
 */
async function checkAtomic(
  instance: TestInstance,
  injector: Injector,
  injection: Injection | null,
  write: () => Promise<{ changeId: string | null }>,
): Promise<{ outcome: 'written' | 'refused' | 'injected'; entityId?: string }> {
  const before = await snapshot(instance);
  injector.arm(injection);
  let error: unknown = null;
  let result: { changeId: string | null } | null = null;
  try {
    result = await write();
  } catch (caught) {
    error = caught;
  }
  const fired = injector.disarm();
  const after = await snapshot(instance);

  if (fired) expect(error).toBeInstanceOf(InjectedFailure);
  if (error !== null) {
    if (!(error instanceof InjectedFailure)) {
      expect(error).toBeInstanceOf(DomainError);
      expect(['ENTITY_REFERENCED', 'REFERENCE_NOT_FOUND'], JSON.stringify([(error as DomainError).message, (error as DomainError).details])).toContain((error as DomainError).code);
    }
    expect(after).toEqual(before);
    return { outcome: error instanceof InjectedFailure ? 'injected' : 'refused' };
  }

  expect(after.changes).toHaveLength(before.changes.length + 1);
  expect(after.changes.slice(0, -1)).toEqual(before.changes);
  const change = after.changes.at(-1)!;
  expect(change.id).toBe(result!.changeId);
  expect(after.head).toEqual([{ singleton: 1, seq: change.seq, hash: change.hash, origin_offset: 0, legacy_until: 0, legacy_seal: null }]);
  const stored = after.entities.find((e) => e.id === change.entity_id);
  if (change.op === 'delete') {
    expect(stored).toBeUndefined();
    expect(change.after).toBeNull();
  } else {
    expect(stored).toBeDefined();
    expect(JSON.parse(change.after!)).toEqual(JSON.parse(stored!.body));
    expect(stored!.head).toBe(change.id);
  }
  const untouched = (s: Snapshot) => s.entities.filter((e) => e.id !== change.entity_id);
  expect(untouched(after)).toEqual(untouched(before));
  expect(after.entities).not.toEqual(before.entities);
  return { outcome: 'written', entityId: change.entity_id };
}

describe.each(engines)('tracked writes are atomic on %s', (engine) => {
  describe('with a failure injected at each step of a write', () => {
    const injector = createInjector();
    let instance: TestInstance;
    beforeAll(async () => {
      instance = await createTestInstance(engine, { wrap: injector.wrap });
    });
    afterAll(async () => instance?.close());

    const cases: [string, Injection][] = injectable.flatMap((method) =>
      (['before', 'after'] as const).map((when): [string, Injection] => [`${when} ${method}`, { method, when, nth: 1 }]),
    );

    it.each(cases)('create, update and delete leave nothing behind when failing %s', async (_name, injection) => {
      const { services, ctx } = instance;
      const team = (await services.config.create(ctx, 'teams', { name: 'Hardware' })).entity!.id;
      const other = (await services.config.create(ctx, 'teams', { name: 'Software' })).entity!.id;
      const rule = (await services.config.create(ctx, 'ticket-rules', ruleBody('Printers', team))).entity!.id;
      const spare = (await services.config.create(ctx, 'teams', { name: 'Spare' })).entity!.id;

      const steps: { does: string; write: () => Promise<{ changeId: string | null }> }[] = [
        { does: 'entities.insert changes.head changes.append entities.replaceReferences', write: () => services.config.create(ctx, 'ticket-rules', ruleBody('New rule', team)) },
        { does: 'entities.update changes.head changes.append entities.replaceReferences', write: () => services.config.replace(ctx, 'ticket-rules', rule, ruleBody('Printers', other)) },
        { does: 'entities.remove changes.head changes.append', write: () => services.config.remove(ctx, 'teams', spare) },
      ];
      for (const step of steps) {
        const expectFailure = step.does.split(' ').includes(injection.method);
        const { outcome } = await checkAtomic(instance, injector, injection, step.write);
        expect(outcome, step.does).toBe(expectFailure ? 'injected' : 'written');
      }
      expect((await services.changeLog.verify()).ok).toBe(true);
    });

    it('a failed write can be retried and then commits once', async () => {
      const { services, ctx } = instance;
      const team = (await services.config.create(ctx, 'teams', { name: 'Hardware' })).entity!.id;
      const write = () => services.config.create(ctx, 'ticket-rules', ruleBody('Retried rule', team));
      expect((await checkAtomic(instance, injector, { method: 'changes.append', when: 'after', nth: 1 }, write)).outcome).toBe('injected');
      const retried = await checkAtomic(instance, injector, null, write);
      expect(retried.outcome).toBe('written');
      expect((await services.changeLog.list({ limit: 10, type: 'ticket-rules', nameContains: 'Retried rule' })).items).toHaveLength(1);
      expect((await services.changeLog.verify()).ok).toBe(true);
    });
  });

  describe('for random histories and injection points (property)', () => {
    const injector = createInjector();
    let instance: TestInstance;
    let counter = 0;
    const tally = { written: 0, refused: 0, injected: 0 };

    beforeAll(async () => {
      instance = await createTestInstance(engine, { wrap: injector.wrap });
    });
    afterAll(async () => instance?.close());

    type Kind = 'teams' | 'statuses' | 'ticket-types' | 'ticket-rules';
    type Op =
      | { op: 'create'; type: Kind; pick: number; missingRef: boolean; inject: Injection | null }
      | { op: 'update'; pick: number; refPick: number; inject: Injection | null }
      | { op: 'delete'; pick: number; inject: Injection | null };

    const injection = fc.option(
      fc.record({ method: fc.constantFrom(...injectable), when: fc.constantFrom('before' as const, 'after' as const), nth: fc.integer({ min: 1, max: 2 }) }),
      { freq: 2 },
    );
    const kinds = ['teams', 'statuses', 'ticket-types', 'ticket-rules'] as const;
    const kind = fc.constantFrom<Kind>(...kinds);
    const operation: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ op: fc.constant('create' as const), type: kind, pick: fc.nat(), missingRef: fc.integer({ min: 0, max: 4 }).map((n) => n === 0), inject: injection }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('update' as const), pick: fc.nat(), refPick: fc.nat(), inject: injection }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat(), inject: injection }) },
    );

    /** A body for `type` whose references point at existing entities chosen by `pick` (or at a missing one). */
    function bodyFor(type: string, existing: Snapshot['entities'], pick: number, missingRef: boolean): Record<string, unknown> {
      counter += 1;
      const name = `${type} ${counter}`;
      const of = (t: string) => existing.filter((e) => e.type === t).map((e) => e.id);
      const choose = (ids: string[]) => (missingRef ? newId() : ids.length > 0 ? ids[pick % ids.length] : undefined);
      switch (type) {
        case 'teams':
          return { name };
        case 'statuses':
          return { name, kind: 'ticket' };
        case 'ticket-types': {
          const team = choose(of('teams'));
          const status = choose(of('statuses'));
          return { name, ...(team ? { defaultTeamId: team } : {}), ...(status ? { defaultStatusId: status } : {}) };
        }
        default: {
          const team = choose(of('teams'));
          const status = choose(of('statuses'));
          const outcomes = [...(team ? [{ field: 'team', teamId: team }] : []), ...(status ? [{ field: 'status', statusId: status }] : [])];
          return { name, criteria: [{ field: 'summary', operator: 'contains', value: 'x' }], outcomes: outcomes.length > 0 ? outcomes : [{ field: 'priority', level: 3 }] };
        }
      }
    }

    it('every write either commits with exactly one matching change or changes nothing', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 6 }), async (ops) => {
          const { services, ctx } = instance;
          for (const op of ops) {
            // Only the kinds under test: the built-in Administrator role is not one of them.
            const existing = (await snapshot(instance)).entities.filter((e) => (kinds as readonly string[]).includes(e.type));
            let write: () => Promise<{ changeId: string | null }>;
            if (op.op === 'create') {
              const body = bodyFor(op.type, existing, op.pick, op.missingRef);
              write = () => services.config.create(ctx, op.type, body);
            } else {
              if (existing.length === 0) continue;
              const target = existing[op.pick % existing.length]!;
              if (op.op === 'update') {
                const body = bodyFor(target.type, existing, op.refPick, false);
                write = () => services.config.replace(ctx, target.type, target.id, body);
              } else {
                write = () => services.config.remove(ctx, target.type, target.id);
              }
            }
            const { outcome } = await checkAtomic(instance, injector, op.inject, write);
            tally[outcome] += 1;
          }
          expect((await services.changeLog.verify()).ok).toBe(true);
        }),
        { numRuns: 40 },
      );
      expect(tally.written).toBeGreaterThan(0);
      expect(tally.injected).toBeGreaterThan(0);
    });
  });
});
