import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysArb, type IdentifiedKey } from '../../test/support/change-keys.js';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { appendKeys, clearLog } from '../../test/support/sync.js';
import { reconcile, type SummarySource } from './reconcile.js';
import { bucketOf, rangesOf, rootLevel } from './summary.js';

type Side = 'here' | 'there' | 'both';

/** Counts what one side is asked: summary nodes and spans. */
function counted(source: SummarySource): SummarySource & { asked: { nodes: number; spans: number } } {
  const asked = { nodes: 0, spans: 0 };
  return {
    asked,
    exchange: (request) => {
      asked.nodes += (request.nodes?.length ?? 0) + (request.descend?.length ?? 0);
      return source.exchange(request);
    },
    members: (spans) => {
      asked.spans += spans.length;
      return source.members(spans);
    },
  };
}

const caseArb = keysArb(160).chain((keys) =>
  fc.record({
    keys: fc.constant(keys),
    sides: fc.array(fc.constantFrom<Side>('both', 'both', 'both', 'here', 'there'), { minLength: keys.length, maxLength: keys.length }),
    // Where each side's appends pause for a reconciliation (which folds), and the order each side appends in.
    pause: fc.nat(),
    hereOrder: fc.array(fc.nat(), { minLength: keys.length, maxLength: keys.length }),
    thereOrder: fc.array(fc.nat(), { minLength: keys.length, maxLength: keys.length }),
  }),
);

function ordered(keys: IdentifiedKey[], weights: number[]): IdentifiedKey[] {
  return keys.map((k, i) => [k, weights[i]!] as const).sort((a, b) => a[1] - b[1]).map(([k]) => k);
}

describe.each(engines)('reconciliation (Invariant 7) on %s', (engine) => {
  let here: TestInstance;
  let there: TestInstance;
  beforeAll(async () => {
    [here, there] = await Promise.all([createTestInstance(engine), createTestInstance(engine)]);
  });
  afterAll(async () => Promise.all([here, there].map((i) => i?.close())));

  it('gives exactly the set differences of two change sets, asking only about nodes on the paths to differences', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ keys, sides, pause, hereOrder, thereOrder }) => {
        await Promise.all([clearLog(here.db), clearLog(there.db)]);
        const mine = ordered(keys.filter((_, i) => sides[i] !== 'there'), hereOrder);
        const theirs = ordered(keys.filter((_, i) => sides[i] !== 'here'), thereOrder);
        const cut = (list: IdentifiedKey[]) => pause % (list.length + 1);
        await appendKeys(here.db, mine.slice(0, cut(mine)));
        await appendKeys(there.db, theirs.slice(0, cut(theirs)));
        await reconcile(here.services.syncReceiver, there.services.syncReceiver, { list: true });
        await appendKeys(here.db, mine.slice(cut(mine)));
        await appendKeys(there.db, theirs.slice(cut(theirs)));

        const onlyHere = keys.filter((_, i) => sides[i] === 'here');
        const onlyThere = keys.filter((_, i) => sides[i] === 'there');
        const local = counted(here.services.syncReceiver);
        const remote = counted(there.services.syncReceiver);
        const listed = await reconcile(local, remote, { list: true });
        expect(listed).toMatchObject({ ahead: onlyHere.length, behind: onlyThere.length });
        expect(listed.aheadKeys).toEqual(rangesOf(onlyHere));
        expect(listed.behindKeys).toEqual(rangesOf(onlyThere));

        // The work: per origin, at most one node per level for each difference, plus the root guessed per origin
        // with the first exchange, and no span without a difference.
        const differences = onlyHere.length + onlyThere.length;
        const depth = rootLevel(Math.max(0, ...keys.map((k) => bucketOf(k.originSeq)))) + 1;
        const origins = new Set(keys.map((k) => k.origin)).size;
        expect(local.asked.nodes).toBeLessThanOrEqual(differences * depth + origins);
        expect(remote.asked.nodes).toBeLessThanOrEqual(differences * depth + origins);
        expect(local.asked.spans + remote.asked.spans).toBeLessThanOrEqual(differences);
        expect(listed.rounds).toBeLessThanOrEqual(depth + 2);

        const counts = await reconcile(there.services.syncReceiver, here.services.syncReceiver, { list: false });
        expect(counts).toEqual({ ahead: onlyThere.length, behind: onlyHere.length, rounds: expect.any(Number) });
      }),
      { numRuns: 50 },
    );
  });
});
