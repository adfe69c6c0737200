import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../tracking/change-chain.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { createSecretBox } from '../tracking/secret-box.js';
import { isPackedChange, isTransferChange, transferChangeSchema } from './export-document.js';
import { jsonTextOf } from '../shared/body-text.js';
import {
  fromTransfer,
  packBatch,
  packOutcome,
  plannedOf,
  toTransfer,
  transferDigestOf,
  unpackBatch,
  unpackOutcome,
  UnpackError,
  type BatchOutcome,
  type PackedChange,
  type PackedOutcome,
  type PlannedChange,
  type TransferChange,
} from './transfer.js';

const keys = historyKeysOf(createSecretBox([randomBytes(32)]));
const id = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
// An own "__proto__" member is left out by the schema's record, so a body holding one is not accepted as it is.
const body = fc.dictionary(fc.string({ maxLength: 12 }).filter((key) => key !== '__proto__'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

/** Changes as they travel, valid for transferChangeSchema. */
const transferChange: fc.Arbitrary<TransferChange> = fc.record({
  id,
  origin: id,
  originSeq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  type: fc.constantFrom('teams', 'roles', 'ticket-types'),
  entityId: id,
  entityName: fc.string({ maxLength: 40 }),
  op: fc.constantFrom('create', 'update', 'delete'),
  before: fc.option(body, { nil: null }),
  after: fc.option(body, { nil: null }),
  parent: fc.option(id, { nil: null }),
  requires: fc.array(id, { maxLength: 3 }),
  actor: fc.record({ kind: fc.constantFrom('agent', 'application', 'sync', 'system'), id, name: fc.string({ maxLength: 20 }) }),
  at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  request: fc.option(
    fc.record({
      method: fc.constantFrom('POST', 'PUT'),
      path: fc.string(),
      requestId: fc.string(),
      remoteAddress: fc.option(fc.string(), { nil: null }),
      userAgent: fc.option(fc.string(), { nil: null }),
      clientApplication: fc.option(fc.string(), { nil: null }),
    }),
    { nil: null },
  ),
  changeSet: fc.option(fc.string({ maxLength: 100 }), { nil: null }),
  revertOf: fc.option(id, { nil: null }),
  digest: fc.stringMatching(/^[0-9a-f]{64}$/),
}) as fc.Arbitrary<TransferChange>;

/** One edit that may or may not leave the change valid: a member removed, added, or replaced by any JSON value. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('remove' as const), key: fc.constantFrom(...Object.keys(transferChangeSchema.shape)) }),
  fc.record({ kind: fc.constant('add' as const), key: fc.string({ maxLength: 12 }), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({
    kind: fc.constant('replace' as const),
    key: fc.constantFrom(...Object.keys(transferChangeSchema.shape), 'actor.kind', 'actor.extra', 'request.path'),
    value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ minLength: 90, maxLength: 1100 }), fc.integer(), fc.double(), fc.constant(-0)),
  }),
);

function mutate(change: unknown, edit: { kind: string; key: string; value?: unknown }): unknown {
  const copy = JSON.parse(JSON.stringify(change)) as Record<string, Record<string, unknown> | unknown>;
  const [outer, inner] = edit.key.split('.') as [string, string | undefined];
  if (edit.kind === 'remove') delete copy[outer];
  else if (inner) {
    if (copy[outer] && typeof copy[outer] === 'object') (copy[outer] as Record<string, unknown>)[inner] = edit.value;
  } else copy[outer] = edit.value;
  return copy;
}

describe('isTransferChange', () => {
  it('accepts every change the schema accepts as it is', () => {
    fc.assert(
      fc.property(transferChange, (change) => {
        const value = JSON.parse(JSON.stringify(change)) as unknown;
        expect(isTransferChange(value)).toBe(true);
        expect(transferChangeSchema.parse(value)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts nothing the schema refuses or would change', () => {
    fc.assert(
      fc.property(transferChange, fc.array(mutation, { minLength: 1, maxLength: 3 }), (change, edits) => {
        const value = edits.reduce<unknown>((v, edit) => mutate(v, edit), change);
        if (!isTransferChange(value)) return;
        const parsed = transferChangeSchema.safeParse(value);
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(value);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses what is not a plain object', () => {
    for (const value of [null, [], 'change', 1, Object.create(null) as unknown]) expect(isTransferChange(value)).toBe(false);
  });
});

describe('transferDigestOf', () => {
  it('equals digestOf the change without its digest', () => {
    fc.assert(
      fc.property(transferChange, (change) => {
        const { digest: _digest, ...content } = change;
        expect(transferDigestOf(change, keys)).toBe(digestOf({ ...content, seq: 0, appliedFrom: null, received: null }, keys));
      }),
      { numRuns: 300 },
    );
  });
});

describe('transferDigestOf, snapshots already canonicalised', () => {
  it('gives the same digest on a second look, and leaves the snapshots\' JSON texts as JSON.stringify makes them', () => {
    fc.assert(
      fc.property(transferChange, (change) => {
        const first = transferDigestOf(change, keys);
        expect(transferDigestOf(change, keys)).toBe(first);
        for (const snapshot of [change.before, change.after]) if (snapshot) expect(jsonTextOf(snapshot)).toBe(JSON.stringify(snapshot));
      }),
      { numRuns: 200 },
    );
  });
});

describe('fromTransfer', () => {
  it('is the inverse of toTransfer', () => {
    fc.assert(
      fc.property(transferChange, fc.nat(), fc.option(id, { nil: null }), (change, seq, appliedFrom) => {
        const received = appliedFrom === null ? null : { actor: change.actor, operation: 'push' as const, via: 'dev', at: change.at };
        const record = fromTransfer(change, seq, appliedFrom, received);
        expect(record).toEqual({ ...change, seq, appliedFrom, received, hash: '' });
        expect(toTransfer(record)).toEqual(change);
      }),
      { numRuns: 100 },
    );
  });
});

/** A batch whose changes follow one another on a few entities: each `before` is its parent's `after`, as a copy or as the same object, or (rarely) another body. */
const chainedBatch: fc.Arbitrary<TransferChange[]> = fc
  .array(fc.tuple(transferChange, fc.nat(2), fc.constantFrom('same', 'copy', 'copy', 'other'), fc.option(body, { nil: null })), { minLength: 1, maxLength: 25 })
  .map((steps) => {
    const last = new Map<number, TransferChange>();
    return steps.map(([change, entity, how, other], i) => {
      const parent = last.get(entity);
      const made: TransferChange = { ...change, id: `${change.id.slice(0, 22)}${String(i).padStart(4, '0')}`, entityId: `entity-${entity}`, parent: parent?.id ?? null };
      if (parent) made.before = how === 'same' ? parent.after : how === 'copy' ? (JSON.parse(JSON.stringify(parent.after)) as TransferChange['before']) : other;
      last.set(entity, made);
      return made;
    });
  });

describe('packBatch and unpackBatch', () => {
  it('leave out exactly the befores that parents earlier in the batch give, and put them back as they were', () => {
    fc.assert(
      fc.property(chainedBatch, (batch) => {
        const afters = new Map(batch.map((c) => [c.id, c.after]));
        const packed = packBatch(batch);
        packed.forEach((wire, i) => {
          const change = batch[i]!;
          const parentAfter = change.parent === null ? undefined : afters.get(change.parent);
          const given = parentAfter !== undefined && JSON.stringify(parentAfter) === JSON.stringify(change.before);
          expect(wire.before === undefined).toBe(given);
          expect(isPackedChange(JSON.parse(JSON.stringify(wire)))).toBe(true);
        });
        // Through the wire and back: the same changes, with the same digests.
        const unpacked = unpackBatch(JSON.parse(JSON.stringify(packed)) as PackedChange[]);
        expect(unpacked).toEqual(JSON.parse(JSON.stringify(batch)));
        unpacked.forEach((change, i) => expect(transferDigestOf(change, keys)).toBe(transferDigestOf(batch[i]!, keys)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a change that leaves out a before its batch cannot give, naming it', () => {
    fc.assert(
      fc.property(chainedBatch, fc.nat(), (batch, pick) => {
        const packed = JSON.parse(JSON.stringify(packBatch(batch))) as PackedChange[];
        const change = packed[pick % packed.length]!;
        delete change.before;
        // Its parent, if the batch has it, comes only after it (its one child in these chains).
        const parentAt = packed.findIndex((c) => c.id === change.parent);
        if (parentAt >= 0) {
          const [parent] = packed.splice(parentAt, 1);
          packed.splice(packed.indexOf(change) + 1, 0, parent!);
        }
        let refused: unknown;
        try {
          unpackBatch(packed);
        } catch (error) {
          refused = error;
        }
        expect(refused).toBeInstanceOf(UnpackError);
        expect((refused as UnpackError).index).toBe(packed.indexOf(change));
        expect((refused as UnpackError).message).toContain(change.id);
      }),
      { numRuns: 200 },
    );
  });
});

describe('packOutcome and unpackOutcome', () => {
  const actions = fc.constantFrom<PlannedChange['action']>('apply', 'present', 'refused');

  it('carry a receiver’s answer as one letter a change and make it again from the batch', () => {
    fc.assert(
      fc.property(chainedBatch, fc.array(actions, { minLength: 25, maxLength: 25 }), (batch, chosen) => {
        const outcome: BatchOutcome = {
          changes: batch.map((c, i) => plannedOf(c, chosen[i]!)),
          entities: [],
          problems: [],
          skippedDependencies: [],
          counts: { received: batch.length, toApply: 0, alreadyPresent: 0, refused: 0, entities: 0, problems: 0 },
          applied: false,
        };
        const packed = JSON.parse(JSON.stringify(packOutcome(batch, outcome))) as PackedOutcome<BatchOutcome>;
        expect(packed).not.toHaveProperty('changes');
        expect((packed as { actions: string }).actions).toHaveLength(batch.length);
        expect(unpackOutcome(batch, packed)).toEqual(outcome);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps an answer whole when its changes are not the batch’s, and refuses letters that do not fit the batch', () => {
    fc.assert(
      fc.property(chainedBatch, chainedBatch, (sent, answered) => {
        fc.pre(sent.length !== answered.length || sent.some((c, i) => c.id !== answered[i]!.id));
        const outcome: BatchOutcome = {
          changes: answered.map((c) => plannedOf(c, 'present')),
          entities: [],
          problems: [],
          skippedDependencies: [],
          counts: { received: answered.length, toApply: 0, alreadyPresent: answered.length, refused: 0, entities: 0, problems: 0 },
          applied: true,
        };
        const packed = packOutcome(sent, outcome);
        expect(packed).toEqual(outcome);
        expect(unpackOutcome(sent, packed)).toEqual(outcome);
      }),
      { numRuns: 100 },
    );
    const [change] = fc.sample(chainedBatch, 1)[0]!;
    const base = { entities: [], problems: [], skippedDependencies: [], counts: { received: 1, toApply: 1, alreadyPresent: 0, refused: 0, entities: 0, problems: 0 }, applied: true };
    expect(() => unpackOutcome([change!], { ...base, actions: 'aa' })).toThrow(/2 actions for a batch of 1/);
    expect(() => unpackOutcome([change!], { ...base, actions: 'x' })).toThrow(/unknown action "x"/);
  });
});
