import type { Stores } from '../store/ports.js';
import { reserveAttempt, type ThrottlePolicy } from './attempt-throttle.js';
import type { AuditEntry, AuditLog } from './audit-log.js';

/**
 * What one source may make an instance record of its failed unauthenticated requests (sign-ins, token requests,
 * single sign-on) in a window: past it, every refusal from the source is 429 and counted in one audit event.
 */
export const SOURCE_BUDGET: ThrottlePolicy = { windowMs: 10 * 60 * 1000, maxFailures: 30 };

/**
 * Where a request comes from, as far as counting goes: an IPv4 address, or the /64 network of an IPv6 address (one
 * host is given a whole /64, so counting its addresses one by one would count nothing).
 */
export function sourceOf(address: string | null): string {
  if (!address) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An IPv4 address at the end stands for two groups.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

const budgetKey = (source: string) => `source:${source}`;

export interface SpentBudget {
  windowStart: number;
  retryAfterSeconds: number;
}

async function spentBudget(stores: Stores, source: string, now: number, policy: ThrottlePolicy): Promise<SpentBudget | null> {
  const row = await stores.throttle.get(budgetKey(source));
  if (!row || now - row.windowStart >= policy.windowMs || row.failures < policy.maxFailures) return null;
  return { windowStart: row.windowStart, retryAfterSeconds: Math.max(1, Math.ceil((row.windowStart + policy.windowMs - now) / 1000)) };
}

/**
 * When `source` has spent its budget: the refusal is counted in the one audit event of its kind for the source and
 * window (reason `flooding`, with `count` and `lastAt`), and the answer is how long to wait. Null while budget is left.
 */
export async function refusedForFlooding(stores: Stores, audit: AuditLog, entry: AuditEntry, source: string, now: number, policy = SOURCE_BUDGET): Promise<SpentBudget | null> {
  const spent = await spentBudget(stores, source, now, policy);
  if (!spent) return null;
  const flood: AuditEntry = { kind: entry.kind, outcome: 'failure', actor: null, request: entry.request, subject: null, details: { reason: 'flooding', source } };
  await audit.coalesceIn(stores, flood, `${entry.kind}:flooding:${source}:${spent.windowStart}`);
  return spent;
}

/**
 * Records the refusal of an unauthenticated request within its source's budget: as its own audit event, counted
 * against the source, while budget is left; else as `refusedForFlooding` does. So a flood from one source adds at most
 * `maxFailures` events (and throttle rows) and one counted event per kind and window, however many requests it sends.
 */
export async function recordAnonymousRefusal(stores: Stores, audit: AuditLog, entry: AuditEntry, source: string, now: number, policy = SOURCE_BUDGET): Promise<SpentBudget | null> {
  const spent = await refusedForFlooding(stores, audit, entry, source, now, policy);
  if (spent) return spent;
  await reserveAttempt(stores, budgetKey(source), now, policy);
  await audit.recordIn(stores, entry);
  return null;
}
