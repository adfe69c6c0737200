import type { FastifyRequest } from 'fastify';
import { sourceOf } from '../access/source-budget.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';

/** Requests a minute each principal may make of a serving instance by default (documented in docs/api.md). */
export const DEFAULT_RATE_LIMIT = 600;

/** Buckets kept at most; full ones (which say nothing) go first, then those used longest ago. */
const MAX_KEYS = 10_000;

export interface RateLimiter {
  /** Takes one request from `key`'s bucket: null when it may go on, else the milliseconds until one is there. */
  take(key: string): number | null;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key: up to `perMinute` requests at once, refilled at `perMinute` a minute. It lives in this
 * process's memory: several processes serving one database each count their own requests.
 */
export function createRateLimiter(perMinute: number, clock: Clock): RateLimiter {
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, Bucket>();

  function evict(now: number): void {
    for (const [key, bucket] of buckets) if (bucket.tokens + (now - bucket.at) * perMs >= perMinute) buckets.delete(key);
    for (const key of buckets.keys()) {
      if (buckets.size <= MAX_KEYS) break;
      buckets.delete(key);
    }
  }

  return {
    take(key) {
      const now = clock.now();
      const bucket = buckets.get(key);
      const tokens = bucket ? Math.min(perMinute, bucket.tokens + (now - bucket.at) * perMs) : perMinute;
      if (tokens < 1) return Math.ceil((1 - tokens) / perMs);
      // Re-inserted, so the map's order is the order of last use.
      buckets.delete(key);
      buckets.set(key, { tokens: tokens - 1, at: now });
      if (buckets.size > MAX_KEYS) evict(now);
      return null;
    },
  };
}

/**
 * The limit of requests per principal: per API application, per agent (its tokens and console sessions together), and
 * per source address for requests without valid credentials. The peer protocol (`/v1/sync/*`) of an authenticated
 * caller is not counted: a push or pull is a bounded run of those requests, started by one that was counted, and
 * limiting its parts would fail it half way.
 */
export function rateLimit(perMinute: number, clock: Clock): (request: FastifyRequest) => void {
  const limiter = createRateLimiter(perMinute, clock);
  return (request) => {
    const principal = request.principal;
    if (principal && request.routeOptions.url?.startsWith('/v1/sync/')) return;
    const key = principal ? (principal.application ? `application:${principal.application.id}` : `agent:${principal.agent.id}`) : `source:${sourceOf(request.ip)}`;
    const waitMs = limiter.take(key);
    if (waitMs === null) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new DomainError('RATE_LIMITED', `Too many requests: at most ${perMinute} a minute; wait ${retryAfterSeconds} s.`, { retryAfterSeconds, limit: perMinute });
  };
}
