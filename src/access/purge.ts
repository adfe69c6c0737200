import type { Clock } from '../shared/clock.js';
import { repeatingTask, type RepeatingTask } from '../shared/repeating-task.js';
import type { Stores, Transactor } from '../store/ports.js';

export interface PurgeOptions {
  /** How often a serving instance purges. */
  intervalMs: number;
  /** Rows removed per transaction, so a purge never holds the write lock for long. */
  batch: number;
}

export const defaultPurgeOptions: PurgeOptions = { intervalMs: 5 * 60 * 1000, batch: 1_000 };

/** How many rows of each kind a purge removed. */
export interface PurgeCounts {
  sessions: number;
  accessTokens: number;
  throttle: number;
  ssoAttempts: number;
}

/** Removes what has expired: console sessions, access tokens, throttle counts and single sign-on attempts, a batch per transaction. */
export type Purger = RepeatingTask<PurgeCounts>;

const kinds: { [K in keyof PurgeCounts]: (stores: Stores, now: number, limit: number) => Promise<number> } = {
  sessions: (stores, now, limit) => stores.sessions.removeExpired(now, limit),
  accessTokens: (stores, now, limit) => stores.accessTokens.removeExpired(now, limit),
  throttle: (stores, now, limit) => stores.throttle.removeExpired(now, limit),
  ssoAttempts: (stores, now, limit) => stores.ssoAttempts.removeExpired(now, limit),
};

/**
 * The purge of expired records. Each process serving a database may run it: deleting what has expired is the same
 * whoever does it, and every statement uses the rows' expiry index, so a purge costs what it removes.
 */
export function createPurger(deps: { db: Transactor; clock: Clock; options?: PurgeOptions }): Purger {
  const { db, clock } = deps;
  const { intervalMs, batch } = deps.options ?? defaultPurgeOptions;

  async function purge(): Promise<PurgeCounts> {
    const now = clock.now();
    const counts: PurgeCounts = { sessions: 0, accessTokens: 0, throttle: 0, ssoAttempts: 0 };
    for (const [kind, remove] of Object.entries(kinds) as [keyof PurgeCounts, (typeof kinds)[keyof PurgeCounts]][]) {
      for (let removed = batch; removed === batch; counts[kind] += removed) removed = await db.write((stores) => remove(stores, now, batch));
    }
    return counts;
  }

  return repeatingTask(purge, intervalMs);
}
