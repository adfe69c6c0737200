import fc from 'fast-check';
import type { ChangeKey } from '../../src/store/ports.js';

/** Three origins, as instance ids look. */
export const origins = ['01ORIGINAAAAAAAAAAAAAAAAAA', '01ORIGINBBBBBBBBBBBBBBBBBB', '01ORIGINCCCCCCCCCCCCCCCCCC'];

/** Origin sequences near the edges of buckets and of the summary tree's levels, and anywhere below them. */
export const originSeqArb = fc.oneof(
  fc.integer({ min: 1, max: 600 }),
  fc.constantFrom(255, 256, 257, 4095, 4096, 4097, 65_535, 65_536, 65_537, 1_048_575, 1_048_576),
  fc.integer({ min: 1, max: 2_000_000 }),
);

export type IdentifiedKey = ChangeKey & { id: string };

/** The id of the change with this key: one key, one change, on every instance. */
export const keyId = (key: ChangeKey) => `K-${key.origin}-${key.originSeq}`;

/** Distinct change keys, each with its id. */
export const keysArb = (maxLength: number): fc.Arbitrary<IdentifiedKey[]> =>
  fc
    .uniqueArray(fc.record({ origin: fc.constantFrom(...origins), originSeq: originSeqArb }), {
      maxLength,
      selector: (k) => `${k.origin}:${k.originSeq}`,
    })
    .map((keys) => keys.map((k) => ({ ...k, id: keyId(k) })));
