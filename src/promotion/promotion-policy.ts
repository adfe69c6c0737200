import { z } from 'zod';
import type { Stores } from '../store/ports.js';

const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof days)[number];

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00–23:59');

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const deployWindowSchema = z
  .strictObject({
    days: z.array(z.enum(days)).min(1).max(7).describe('Days of the week the window opens on (in the policy’s time zone)'),
    from: clockTime.describe('Opens at (HH:MM, inclusive)'),
    to: clockTime.describe('Closes at (HH:MM, exclusive); before `from`, the window runs past midnight'),
  })
  .refine((w) => w.from !== w.to, { message: 'a window opens and closes at different times', path: ['to'] });

export const freezePeriodSchema = z
  .strictObject({
    from: z.iso.datetime({ offset: true }).describe('Start (ISO 8601, inclusive)'),
    to: z.iso.datetime({ offset: true }).describe('End (ISO 8601, exclusive)'),
    reason: z.string().min(1).max(200),
  })
  .refine((f) => Date.parse(f.from) < Date.parse(f.to), { message: 'a freeze ends after it starts', path: ['to'] });

/** What this instance asks before a push, pull or import is applied here. Instance-local, never synced. */
export const promotionPolicySchema = z.strictObject({
  approvalsRequired: z.number().int().min(0).max(10).describe('Distinct approvals needed before anything is applied here; 0 turns requests off'),
  allowSelfApproval: z.boolean().describe('Whether the requester may approve their own request (default no)'),
  lastApproverMayApply: z.boolean().describe('Whether the agent whose approval completes the count may also apply'),
  timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone name, such as Europe/London').describe('The IANA time zone the windows are read in'),
  windows: z.array(deployWindowSchema).max(50).describe('When requests may apply; none means at any time'),
  freezes: z.array(freezePeriodSchema).max(100).describe('Periods in which nothing applies, windows or not'),
  emergencyBypass: z.boolean().describe('Whether an agent with promotions:bypass may apply outside the windows and freezes, giving a reason'),
});

export type PromotionPolicy = z.infer<typeof promotionPolicySchema>;
export type DeployWindow = z.infer<typeof deployWindowSchema>;

export const defaultPromotionPolicy: PromotionPolicy = {
  approvalsRequired: 0,
  allowSelfApproval: false,
  lastApproverMayApply: true,
  timeZone: 'UTC',
  windows: [],
  freezes: [],
  emergencyBypass: false,
};

export const promotionPolicyPatchSchema = promotionPolicySchema.partial();

/** The settings key the policy is kept under (beside the instance's other settings, never synced). */
export const POLICY_KEY = 'promotionPolicy';

export async function readPolicy(stores: Stores): Promise<PromotionPolicy> {
  const stored = (await stores.settings.all())[POLICY_KEY];
  const parsed = promotionPolicySchema.safeParse({ ...defaultPromotionPolicy, ...(typeof stored === 'object' && stored !== null ? stored : {}) });
  return parsed.success ? parsed.data : defaultPromotionPolicy;
}

const weekdayIndex: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** The weekday and minute of the day at `at` in `timeZone`. */
export function localTime(at: number, timeZone: string): { day: Weekday; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { day: days[weekdayIndex[part('weekday')] ?? 0]!, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function inWindow(window: DeployWindow, local: { day: Weekday; minute: number }): boolean {
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  if (from < to) return window.days.includes(local.day) && local.minute >= from && local.minute < to;
  // Past midnight: the evening part on the window's day, the morning part on the day after.
  const yesterday = days[(days.indexOf(local.day) + 6) % 7]!;
  return (window.days.includes(local.day) && local.minute >= from) || (window.days.includes(yesterday) && local.minute < to);
}

/** Why nothing may apply at `at` under `policy`, or null when it may. */
export function closedReason(policy: PromotionPolicy, at: number): string | null {
  const freeze = policy.freezes.find((f) => at >= Date.parse(f.from) && at < Date.parse(f.to));
  if (freeze) return `a freeze is on from ${freeze.from} to ${freeze.to}: ${freeze.reason}`;
  if (policy.windows.length === 0) return null;
  const local = localTime(at, policy.timeZone);
  if (policy.windows.some((w) => inWindow(w, local))) return null;
  return `outside every deploy window (${policy.windows.map((w) => `${w.days.join(',')} ${w.from}–${w.to}`).join('; ')}, ${policy.timeZone})`;
}
