import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import type { ChangeKey, ChangeRecord } from '../store/ports.js';
import { reconcile } from './reconcile.js';
import { rangesOf } from './summary.js';

const ORIGINS = ['origin-a', 'origin-b', 'origin-c'];
// Sparse sequences up to 1.5 million make trees five levels deep; dense runs fill buckets.
const seq = fc.oneof(fc.integer({ min: 1, max: 1_500_000 }), fc.integer({ min: 1, max: 600 }));
const keys = fc.uniqueArray(fc.record({ origin: fc.constantFrom(...ORIGINS), originSeq: seq }), {
  maxLength: 150,
  selector: (k) => `${k.origin}/${k.originSeq}`,
});
/** Where a key is: on both instances, or on one of them. */
const placement = fc.constantFrom('both', 'both', 'both', 'a', 'b');

const idOf = (k: ChangeKey) => `${k.origin}-${k.originSeq}`;

function changeOf(k: ChangeKey, seq: number): ChangeRecord {
  return {
    seq,
    id: idOf(k),
    origin: k.origin,
    originSeq: k.originSeq,
    type: 'teams',
    entityId: `entity-${k.originSeq % 7}`,
    entityName: 'Team',
    op: 'update',
    before: null,
    after: { name: 'Team' },
    parent: null,
    requires: [],
    actor: { kind: 'system', id: 'system', name: 'System' },
    at: 0,
    request: null,
    changeSet: null,
    revertOf: null,
    appliedFrom: null,
    received: null,
    digest: '0'.repeat(64),
    hash: '0'.repeat(64),
  };
}

describe.each(engines)('reconciliation of two change sets on %s', (engine) => {
  let a: TestInstance;
  let b: TestInstance;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestInstance(engine, { name: 'a' }), createTestInstance(engine, { name: 'b' })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** Appends the keys to the instance's log (after clearing it and its summary when `fresh`). */
  async function append(instance: TestInstance, list: ChangeKey[], fresh: boolean): Promise<void> {
    await instance.db.write(async (stores) => {
      if (fresh) {
        await stores.changes.reset(0);
        await stores.summary.reset();
      }
      const head = (await stores.changes.head()).seq;
      await stores.changes.appendMany(list.map((k, i) => changeOf(k, head + i + 1)));
      await stores.changes.saveHead();
    });
  }

  function expected(here: ChangeKey[], there: ChangeKey[]) {
    const ids = (list: ChangeKey[]) => new Set(list.map(idOf));
    const [inHere, inThere] = [ids(here), ids(there)];
    const ahead = here.filter((k) => !inThere.has(idOf(k)));
    const behind = there.filter((k) => !inHere.has(idOf(k)));
    return { ahead: ahead.length, behind: behind.length, aheadKeys: rangesOf(ahead), behindKeys: rangesOf(behind) };
  }

  it('counts and lists exactly what each side lacks, before and after more changes arrive', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(keys, placement)), keys, keys, async (groups, laterA, laterB) => {
        const onA: ChangeKey[] = [];
        const onB: ChangeKey[] = [];
        const seen = new Set<string>();
        for (const [list, where] of groups) {
          for (const k of list) {
            if (seen.has(idOf(k))) continue;
            seen.add(idOf(k));
            if (where !== 'b') onA.push(k);
            if (where !== 'a') onB.push(k);
          }
        }
        await Promise.all([append(a, onA, true), append(b, onB, true)]);
        const first = await reconcile(a.services.syncReceiver, b.services.syncReceiver, { list: true });
        expect({ ahead: first.ahead, behind: first.behind, aheadKeys: first.aheadKeys, behindKeys: first.behindKeys }).toEqual(expected(onA, onB));

        // Changes appended after the summaries were folded are folded in on the next reconciliation.
        const fresh = (list: ChangeKey[]) => list.filter((k) => !seen.has(idOf(k)) && seen.add(idOf(k)));
        const [moreA, moreB] = [fresh(laterA), fresh(laterB)];
        await Promise.all([append(a, moreA, false), append(b, moreB, false)]);
        const second = await reconcile(a.services.syncReceiver, b.services.syncReceiver, { list: false });
        const want = expected([...onA, ...moreA], [...onB, ...moreB]);
        expect({ ahead: second.ahead, behind: second.behind }).toEqual({ ahead: want.ahead, behind: want.behind });
      }),
      { numRuns: 25 },
    );
  });
});
