import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it('gives exactly the text of toISOString for every time from 1970 to 9999 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 5000 },
    );
  });

  it('handles day boundaries and runs of times on one day', () => {
    const midnight = Date.UTC(2026, 10, 23);
    for (const ms of [midnight - 1, midnight, midnight + 1, midnight + 86_399_999, 0, 951_782_400_000]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
