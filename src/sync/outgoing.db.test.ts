import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { logOf, writeManyChanges } from '../../test/support/sync.js';
import type { ChangeRecord, StoredChange } from '../store/ports.js';
import { chooseOutgoing, selectOutgoing, type Selection } from './outgoing.js';
import type { KeyRanges } from './summary.js';

const CHANGES = 400;

/** The change as findBySeqs reads it: bodies as their stored JSON texts. */
function stored({ before, after, ...change }: ChangeRecord): StoredChange {
  return { ...change, beforeText: before === null ? null : JSON.stringify(before), afterText: after === null ? null : JSON.stringify(after) };
}

describe.each(engines)('choosing a push by the changes’ links on %s', (engine) => {
  let instance: TestInstance;
  let log: ChangeRecord[];

  beforeAll(async () => {
    instance = await createTestInstance(engine, { name: 'dev' });
    await writeManyChanges(instance, CHANGES);
    log = await logOf(instance.db);
  }, 60_000);

  afterAll(async () => instance?.close());

  /** What the receiver lacks: ranges of origin sequences, narrow and wide, overlapping or not. */
  const lacking = fc
    .array(fc.tuple(fc.integer({ min: 1, max: CHANGES }), fc.integer({ min: 1, max: 120 })), { minLength: 1, maxLength: 5 })
    .map((spans): KeyRanges => ({ [log[0]!.origin]: spans.map(([from, width]) => [from, Math.min(from + width, CHANGES + 1)]) }));
  const someIds = fc.array(fc.nat(CHANGES - 1), { maxLength: 12 }).map((picks) => [...new Set(picks.map((k) => log[k]!.id))]);
  const selection: fc.Arbitrary<Selection> = fc.record(
    {
      cutoff: fc.nat(CHANGES - 1).map((k) => log[k]!.at),
      changeIds: fc.oneof(someIds, someIds.map((ids) => [...ids, '01UNKNOWNCHANGE00000000000'])),
      withDependencies: fc.boolean(),
      allowMissing: someIds,
    },
    { requiredKeys: [] },
  );

  it('chooses exactly what reading the changes whole chooses, and reads back exactly those changes by their places, bodies as stored', async () => {
    await fc.assert(
      fc.asyncProperty(lacking, selection, async (missing, chosenBy) => {
        const [whole, links] = await instance.db.read(async (stores) => [await selectOutgoing(stores, missing, chosenBy), await chooseOutgoing(stores, missing, chosenBy)] as const);
        const { changes: wholeChanges, ...wholeRest } = whole;
        const { changes: linked, ...linksRest } = links;
        expect(linksRest).toEqual(wholeRest);
        expect(linked).toEqual(wholeChanges.map((c) => ({ id: c.id, seq: c.seq, parent: c.parent, requires: c.requires, at: c.at, changeSet: c.changeSet })));
        const read = await instance.db.read((stores) => stores.history.findBySeqs(linked.map((c) => c.seq)));
        expect(read).toEqual(wholeChanges.map(stored));
      }),
      { numRuns: 60 },
    );
  });

  it('reads places as ranges and lists alike, in log order, leaving out places the log lacks', async () => {
    const seqs = [400, 3, 1, 2, ...Array.from({ length: 40 }, (_, i) => 100 + i), 250, 252, 999_999, 2];
    const read = await instance.db.read((stores) => stores.history.findBySeqs(seqs));
    expect(read.map((c) => c.seq)).toEqual([...new Set(seqs)].filter((s) => s <= CHANGES).sort((a, b) => a - b));
    expect(read).toEqual(log.filter((c) => seqs.includes(c.seq)).map(stored));
  });
});
