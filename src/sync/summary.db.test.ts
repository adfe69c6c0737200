import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { keysArb, origins, type IdentifiedKey } from '../../test/support/change-keys.js';
import { appendKeys, clearLog } from '../../test/support/sync.js';
import type { ChangeKey } from '../store/ports.js';
import { bitmapWords } from '../store/schema.js';
import {
  BUCKET_SPAN,
  FANOUT,
  bucketOf,
  countOf,
  decodeMembers,
  fingerprintOf,
  foldSummary,
  keysOf,
  membersOf,
  nodeContents,
  originSummaries,
  rangesOf,
  rootLevel,
  seqRange,
  TOP_LEVEL,
  type SummaryNode,
} from './summary.js';

const FP_MODULUS = 2 ** 48;
/** The summary as it is stored: every bucket and the mark. */
async function storedSummary(instance: TestInstance) {
  const db = instance.database.dialect.db;
  const nodes = await db.selectFrom('summary_nodes').selectAll().orderBy('level').orderBy('origin').orderBy('idx').execute();
  const mark = await instance.db.read((stores) => stores.summary.mark());
  return {
    nodes: nodes.map((b) => ({ level: b.level, origin: b.origin, index: Number(b.idx), n: Number(b.n), fp: Number(b.fp), words: bitmapWords.map((w) => Number(b[w])) })),
    mark,
  };
}

/** Count and fingerprint sum of the keys of one origin within `[from, to)` of origin sequences, computed naively. */
function naiveCell(keys: IdentifiedKey[], origin: string, from: number, to: number): [number, number] {
  let n = 0;
  let fp = 0;
  for (const k of keys) {
    if (k.origin !== origin || k.originSeq < from || k.originSeq >= to) continue;
    n += 1;
    fp = (fp + fingerprintOf(k.id)) % FP_MODULUS;
  }
  return [n, fp];
}

describe.each(engines)('reconciliation summary on %s', (engine) => {
  let once: TestInstance;
  let stepwise: TestInstance;
  beforeAll(async () => {
    [once, stepwise] = await Promise.all([createTestInstance(engine), createTestInstance(engine)]);
  });
  afterAll(async () => Promise.all([once, stepwise].map((i) => i?.close())));

  it('folds incrementally: folding after each of several appends stores exactly what one fold of everything stores', async () => {
    await fc.assert(
      fc.asyncProperty(keysArb(120), fc.array(fc.nat(), { maxLength: 4 }), async (keys, cuts) => {
        await Promise.all([clearLog(once.db), clearLog(stepwise.db)]);
        const points = [...new Set(cuts.map((c) => c % (keys.length + 1)))].sort((a, b) => a - b);
        let start = 0;
        for (const point of [...points, keys.length]) {
          await appendKeys(stepwise.db, keys.slice(start, point));
          const folded = await stepwise.db.write((stores) => foldSummary(stores));
          expect(folded).toBe(point - start);
          start = point;
        }
        expect(await stepwise.db.write((stores) => foldSummary(stores))).toBe(0);
        await appendKeys(once.db, keys);
        expect(await once.db.write((stores) => foldSummary(stores))).toBe(keys.length);
        const [a, b] = await Promise.all([storedSummary(once), storedSummary(stepwise)]);
        expect(b).toEqual(a);
        expect(a.mark).toBe(keys.length);
      }),
      { numRuns: 40 },
    );
  });

  it('answers per-origin totals, inner-node cells and bucket members exactly as a naive count of the log', async () => {
    await fc.assert(
      fc.asyncProperty(keysArb(150), fc.array(fc.record({ level: fc.integer({ min: 0, max: 5 }), pick: fc.nat() }), { maxLength: 12 }), async (keys, picks) => {
        await clearLog(once.db);
        await appendKeys(once.db, keys);
        const totals = await once.db.write(async (stores) => {
          await foldSummary(stores);
          return originSummaries(stores);
        });
        const expected = origins
          .map((origin) => {
            const mine = keys.filter((k) => k.origin === origin);
            const [n, fp] = naiveCell(keys, origin, 0, Number.MAX_SAFE_INTEGER);
            return { origin, n, fp, maxBucket: Math.max(...mine.map((k) => bucketOf(k.originSeq))) };
          })
          .filter((o) => o.n > 0);
        expect(totals).toEqual(expected);

        // Nodes around the keys (and empty ones), on every level up to the root.
        const nodes: SummaryNode[] = picks.map(({ level, pick }) => {
          const key = keys.length > 0 ? keys[pick % keys.length]! : { origin: origins[0]!, originSeq: pick % 5_000 };
          return { origin: key.origin, level, index: Math.floor(bucketOf(key.originSeq) / FANOUT ** level) + (pick % 3 === 0 ? 1 : 0) };
        });
        const contents = await once.db.read((stores) => nodeContents(stores, nodes));
        for (const [i, node] of nodes.entries()) {
          const content = contents[i]!;
          expect(content.node).toEqual(node);
          const { from, to } = seqRange(node);
          if (node.level === 0) {
            const members = keys.filter((k) => k.origin === node.origin && k.originSeq >= from && k.originSeq < to).map((k) => k.originSeq);
            expect(decodeMembers(content.members!, node.index)).toEqual(members.sort((a, b) => a - b));
            continue;
          }
          const width = (to - from) / FANOUT;
          expect(content.children).toEqual(Array.from({ length: FANOUT }, (_, k) => naiveCell(keys, node.origin, from + k * width, from + (k + 1) * width)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps every node of every level, and each bucket bitmap, equal to a naive count of the log', async () => {
    await fc.assert(
      fc.asyncProperty(keysArb(150), async (keys) => {
        await clearLog(once.db);
        await appendKeys(once.db, keys);
        await once.db.write((stores) => foldSummary(stores));
        const { nodes } = await storedSummary(once);
        const expected = new Map<string, { n: number; fp: number; words: number[] }>();
        for (const k of keys) {
          const bucket = bucketOf(k.originSeq);
          for (let level = 0; level <= TOP_LEVEL; level += 1) {
            const index = Math.floor(bucket / FANOUT ** level);
            const key = `${level}/${k.origin}/${index}`;
            const node = expected.get(key) ?? { n: 0, fp: 0, words: [0, 0, 0, 0, 0, 0, 0, 0] };
            node.n += 1;
            node.fp = (node.fp + fingerprintOf(k.id)) % FP_MODULUS;
            if (level === 0) {
              const bit = k.originSeq % BUCKET_SPAN;
              node.words[bit >> 5] = (node.words[bit >> 5]! | (1 << (bit & 31))) >>> 0;
            }
            expected.set(key, node);
          }
        }
        expect(nodes.length).toBe(expected.size);
        for (const node of nodes) expect({ n: node.n, fp: node.fp, words: node.words }).toEqual(expected.get(`${node.level}/${node.origin}/${node.index}`));
      }),
      { numRuns: 30 },
    );
  });

  it('lists the members of any spans, aligned to buckets or not, exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        keysArb(150),
        fc.array(
          fc.oneof(
            fc.record({ origin: fc.constantFrom(...origins), from: fc.nat({ max: 6_000 }), width: fc.integer({ min: 1, max: 3_000 }) }),
            fc.record({ origin: fc.constantFrom(...origins), from: fc.nat({ max: 2_000_000 }), width: fc.integer({ min: 1, max: 600_000 }) }),
          ),
          { maxLength: 6 },
        ),
        async (keys, picked) => {
          await clearLog(once.db);
          await appendKeys(once.db, keys);
          const spans = picked.map((p) => ({ origin: p.origin, from: p.from, to: p.from + p.width }));
          const members = await once.db.write(async (stores) => {
            await foldSummary(stores);
            return membersOf(stores, spans);
          });
          const inSpans = keys.filter((k) => spans.some((s) => s.origin === k.origin && k.originSeq >= s.from && k.originSeq < s.to));
          expect(members).toEqual(rangesOf(inSpans));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps fingerprint sums exact where many large fingerprints share one bucket', async () => {
    await clearLog(once.db);
    // Keys whose fingerprints are all above 2^47: their sum overflows 48 bits many times over.
    const keys: IdentifiedKey[] = [];
    for (let i = 0; keys.length < 200; i += 1) {
      const id = `BIG-${i}`;
      if (fingerprintOf(id) >= 2 ** 47) keys.push({ origin: origins[0]!, originSeq: keys.length + 1, id });
    }
    await appendKeys(once.db, keys);
    const [total] = await once.db.write(async (stores) => {
      await foldSummary(stores);
      return originSummaries(stores);
    });
    expect(total).toEqual({ origin: origins[0], n: 200, fp: naiveCell(keys, origins[0]!, 0, BUCKET_SPAN)[1], maxBucket: 0 });
    const [root] = await once.db.read((stores) => nodeContents(stores, [{ origin: origins[0]!, level: 1, index: 0 }]));
    expect(root!.children![0]).toEqual([200, total!.fp]);
  });
});

describe('key ranges', () => {
  it('round-trip: ranges of a key set hold exactly those keys, merged and sorted, and count them', () => {
    fc.assert(
      fc.property(keysArb(300), (keys) => {
        const ranges = rangesOf(keys);
        const plain = keys.map(({ origin, originSeq }) => ({ origin, originSeq }));
        const order = (a: ChangeKey, b: ChangeKey) => a.origin.localeCompare(b.origin) || a.originSeq - b.originSeq;
        expect(keysOf(ranges).sort(order)).toEqual(plain.sort(order));
        expect(countOf(ranges)).toBe(keys.length);
        for (const list of Object.values(ranges)) {
          for (const [i, [from, to]] of list.entries()) {
            expect(from).toBeLessThan(to);
            if (i > 0) expect(from).toBeGreaterThan(list[i - 1]![1]);
          }
        }
      }),
    );
  });

  it('gives the root level whose node 0 covers every bucket', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (maxBucket) => {
        const level = rootLevel(maxBucket);
        expect(FANOUT ** level).toBeGreaterThan(maxBucket);
        if (level > 0) expect(FANOUT ** (level - 1)).toBeLessThanOrEqual(maxBucket);
      }),
    );
  });
});
