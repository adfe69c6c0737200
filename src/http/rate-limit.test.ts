import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.js';

describe('createRateLimiter', () => {
  it('lets through at most the limit in any minute, and the limit at once after a quiet minute, for all request times', () => {
    const perMinute = 7;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 200 }), (gaps) => {
        let now = 0;
        const limiter = createRateLimiter(perMinute, { now: () => now });
        const passed: number[] = [];
        for (const gap of gaps) {
          now += gap;
          if (limiter.take('k') === null) passed.push(now);
        }
        // A bucket of `perMinute`, refilled at `perMinute` a minute: at most twice the limit within any minute.
        for (const at of passed) expect(passed.filter((t) => t > at - 60_000 && t <= at).length).toBeLessThanOrEqual(2 * perMinute);
        now += 60_000;
        for (let i = 0; i < perMinute; i++) expect(limiter.take('k')).toBeNull();
        expect(limiter.take('k')).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('says how long until the next request may go', () => {
    let now = 0;
    const limiter = createRateLimiter(2, { now: () => now });
    expect([limiter.take('k'), limiter.take('k')]).toEqual([null, null]);
    expect(limiter.take('k')).toBe(30_000);
    now += 29_000;
    expect(limiter.take('k')).toBe(1_000);
    now += 1_000;
    expect(limiter.take('k')).toBeNull();
  });

  it('keeps a bounded number of buckets: among many callers, those used longest ago are forgotten first', () => {
    const now = 0;
    const limiter = createRateLimiter(1, { now: () => now });
    expect(limiter.take('first')).toBeNull();
    expect(limiter.take('first')).toBeGreaterThan(0);
    for (let i = 0; i < 10_000; i++) limiter.take(`caller-${i}`);
    expect(limiter.take('caller-9999')).toBeGreaterThan(0);
    // Forgotten: its bucket is full again.
    expect(limiter.take('first')).toBeNull();
  });
});
