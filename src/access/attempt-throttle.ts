import type { Stores } from '../store/ports.js';

export interface ThrottlePolicy {
  windowMs: number;
  maxFailures: number;
}

/**
 * Counts an attempt against `key` before the credential is checked, so parallel guesses cannot slip past the
 * limit. Returns the milliseconds to wait when the key is throttled, or null when the attempt may proceed.
 */
export async function reserveAttempt(stores: Stores, key: string, now: number, policy: ThrottlePolicy): Promise<number | null> {
  const row = await stores.throttle.get(key);
  const fresh = !row || now - row.windowStart >= policy.windowMs;
  if (!fresh && row.failures >= policy.maxFailures) return row.windowStart + policy.windowMs - now;
  const windowStart = fresh ? now : row.windowStart;
  await stores.throttle.put(key, windowStart, fresh ? 1 : row.failures + 1, windowStart + policy.windowMs);
  return null;
}
