import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { logOf, receive, transferOf } from '../../test/support/sync.js';
import { isDomainError } from '../shared/errors.js';
import { closedReason, type PromotionPolicy } from './promotion-policy.js';
import { movedSince, type Person } from './promotion-request.js';

/** A clock the test moves: the target's time decides its deploy windows. */
function movableClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, forward: (ms: number) => (offset += ms) };
}

const requester: Person = { agentId: null, name: 'Rita Requester', email: 'rita@example.test' };
const approvers: Person[] = [
  { agentId: 'agent-a', name: 'Ann', email: 'ann@example.test' },
  { agentId: 'agent-b', name: 'Bob', email: 'bob@example.test' },
  { agentId: 'agent-c', name: 'Cid', email: 'cid@example.test' },
  // Rita's own agent here: the same person as the requester, by address.
  { agentId: 'agent-r', name: 'Rita', email: 'rita@example.test' },
];

type Action =
  | { kind: 'write'; team: number }
  | { kind: 'request' }
  | { kind: 'approve'; request: number; agent: number }
  | { kind: 'reject'; request: number; agent: number }
  | { kind: 'edit'; request: number; drop: boolean }
  | { kind: 'direct'; team: number }
  | { kind: 'apply'; request: number; agent: number }
  | { kind: 'tick'; hours: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), team: fc.nat(3) }),
  fc.record({ kind: fc.constant('write' as const), team: fc.nat(3) }),
  fc.record({ kind: fc.constant('request' as const) }),
  fc.record({ kind: fc.constant('request' as const) }),
  fc.record({ kind: fc.constant('approve' as const), request: fc.nat(4), agent: fc.nat(approvers.length - 1) }),
  fc.record({ kind: fc.constant('approve' as const), request: fc.nat(4), agent: fc.nat(approvers.length - 1) }),
  fc.record({ kind: fc.constant('reject' as const), request: fc.nat(4), agent: fc.nat(approvers.length - 1) }),
  fc.record({ kind: fc.constant('edit' as const), request: fc.nat(4), drop: fc.boolean() }),
  fc.record({ kind: fc.constant('direct' as const), team: fc.nat(3) }),
  fc.record({ kind: fc.constant('apply' as const), request: fc.nat(4), agent: fc.nat(approvers.length - 1) }),
  fc.record({ kind: fc.constant('apply' as const), request: fc.nat(4), agent: fc.nat(approvers.length - 1) }),
  fc.record({ kind: fc.constant('tick' as const), hours: fc.integer({ min: 1, max: 30 }) }),
);

const policyArb: fc.Arbitrary<Partial<PromotionPolicy>> = fc.record({
  approvalsRequired: fc.integer({ min: 1, max: 2 }),
  allowSelfApproval: fc.boolean(),
  windows: fc.constantFrom<PromotionPolicy['windows']>([], [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' }]),
});

describe.each(engines)('promotion requests (Invariant 12) on %s', (engine) => {
  let source: TestInstance;
  let target: TestInstance;
  const clock = movableClock();
  /** Teams both instances hold, by index: what the source's writes change. */
  const teams: string[] = [];
  /** The department each team names: what direct changes on the target change (a batch reads it, never writes it). */
  const departments: string[] = [];

  beforeAll(async () => {
    [source, target] = await Promise.all([
      createTestInstance(engine, { name: 'staging', kind: 'staging' }),
      createTestInstance(engine, { name: 'production', kind: 'production', clock }),
    ]);
    for (let i = 0; i < 4; i += 1) {
      const department = await source.services.config.create(source.ctx, 'departments', { name: `Department ${i}` });
      departments.push(department.entity!.id);
      const created = await source.services.config.create(source.ctx, 'teams', { name: `Team ${i}`, departmentId: department.entity!.id });
      teams.push(created.entity!.id);
    }
    // Both start alike: the teams arrive before any policy asks for approvals.
    const first = await receive(target, source, await transferOf(source));
    expect(first.applied).toBe(true);
  });
  afterAll(async () => {
    await Promise.all([source, target].map((i) => i?.close()));
  });

  const codeOf = async (run: Promise<unknown>): Promise<string | null> => {
    try {
      await run;
      return null;
    } catch (error) {
      if (!isDomainError(error)) throw error;
      return error.code;
    }
  };

  it('applies exactly the approved plan or nothing, never short of approvals, self-approved, outside a window or after its target moved; an edit revokes every earlier approval', async () => {
    let serial = 0;
    const seen = { requested: 0, applied: 0, stale: 0, edited: 0, selfRefused: 0 };
    await fc.assert(
      fc.asyncProperty(policyArb, fc.array(action, { minLength: 10, maxLength: 30 }), async (policy, actions) => {
        const requests: string[] = [];
        await target.services.promotions.updatePolicy(target.ctx, { ...policy, timeZone: 'Europe/London' });
        for (const step of actions) {
          const promotions = target.services.promotions;
          const pick = (i: number) => requests[i % Math.max(requests.length, 1)];
          switch (step.kind) {
            case 'write': {
              serial += 1;
              const id = teams[step.team]!;
              const current = await source.services.config.get('teams', id);
              await source.services.config.replace(source.ctx, 'teams', id, { ...current.body, name: `Team ${step.team} v${serial}` });
              break;
            }
            case 'request': {
              const result = await receive(target, source, await transferOf(source), { requester: { name: requester.name, email: requester.email } });
              // A batch whose changes are all here, or that has problems, is no request.
              if (result.request) {
                expect(result.applied).toBe(false);
                requests.push(result.request.id);
                seen.requested += 1;
              }
              break;
            }
            case 'approve':
            case 'reject': {
              const id = pick(step.request);
              if (!id) break;
              const by = approvers[step.agent]!;
              const before = await promotions.get(id);
              const code = await codeOf(step.kind === 'approve' ? promotions.approve(target.ctx, by, id, 'ok') : promotions.reject(target.ctx, by, id, 'no'));
              if (by.email === requester.email && !policy.allowSelfApproval && ['pending', 'approved', 'scheduled'].includes(before.status)) {
                expect(code).toBe('SELF_APPROVAL_REFUSED');
                seen.selfRefused += 1;
              }
              break;
            }
            case 'edit': {
              const id = pick(step.request);
              if (!id) break;
              const before = await promotions.get(id);
              const drop = step.drop && before.plan.changes.length > 1 ? [before.plan.changes.at(-1)!.id] : [];
              const code = await codeOf(promotions.replan(target.ctx, requester, id, { removeChangeIds: drop }));
              const after = await promotions.get(id);
              if (code === null) {
                // Every verdict given before the edit is revoked, and none counts.
                expect(after.reviews.every((r) => r.revoked && !r.counts)).toBe(true);
                expect(after.approvals).toBe(0);
                expect(after.revision).toBe(before.revision + 1);
                seen.edited += 1;
              } else {
                expect(after).toEqual(before);
              }
              break;
            }
            case 'direct': {
              serial += 1;
              const id = departments[step.team]!;
              const current = await target.services.config.get('departments', id);
              await target.services.config.replace(target.ctx, 'departments', id, { ...current.body, name: `Hotfix ${step.team} v${serial}` });
              break;
            }
            case 'apply': {
              const id = pick(step.request);
              if (!id) break;
              const before = await promotions.get(id);
              const logBefore = await logOf(target.db);
              const moved = await target.db.read((stores) => movedSince(stores, Object.fromEntries(before.heads.map((h) => [h.entityId, h.head]))));
              const closed = closedReason((await promotions.policy()), clock.now());
              const code = await codeOf(promotions.apply(target.ctx, approvers[step.agent]!, id, {}));
              const after = await promotions.get(id);
              const logAfter = await logOf(target.db);
              if (code === null) {
                expect(after.status).toBe('applied');
                // Exactly the approved plan: its changes, in its order, and nothing else.
                const added = logAfter.slice(logBefore.length).map((c) => c.id);
                expect(added).toEqual(before.plan.changes.filter((c) => c.action === 'apply').map((c) => c.id));
                expect(after.planDigest).toBe(before.planDigest);
                // Never short of distinct approvals of this plan, never the requester's own when that is off.
                const counted = before.reviews.filter((r) => r.counts);
                expect(new Set(counted.map((r) => r.by.email)).size).toBeGreaterThanOrEqual(policy.approvalsRequired!);
                expect(counted.every((r) => r.planDigest === before.planDigest && !r.revoked)).toBe(true);
                if (!policy.allowSelfApproval) expect(counted.some((r) => r.by.email === requester.email)).toBe(false);
                // Never outside a window, never after its target moved.
                expect(closed).toBeNull();
                expect(moved).toEqual([]);
                seen.applied += 1;
              } else {
                // Nothing of the batch was written.
                expect(logAfter.map((c) => c.id)).toEqual(logBefore.map((c) => c.id));
                if (code === 'REQUEST_STALE') {
                  expect(moved.length).toBeGreaterThan(0);
                  expect(after.status).toBe('stale');
                  seen.stale += 1;
                }
              }
              break;
            }
            case 'tick':
              clock.forward(step.hours * 3_600_000);
              break;
          }
        }
        // Whatever was left open is closed, so the next run starts on requests of its own.
        for (const id of requests) await codeOf(target.services.promotions.cancel(target.ctx, requester, id, 'run over'));
      }),
      {
        numRuns: 25,
        // One run that reaches every outcome, whatever the seed: a self-approval refused, an edit, a request gone stale, one applied.
        examples: [
          [
            { approvalsRequired: 1, allowSelfApproval: false, windows: [] },
            [
              { kind: 'write', team: 0 },
              { kind: 'request' },
              { kind: 'approve', request: 0, agent: 3 },
              { kind: 'approve', request: 0, agent: 0 },
              { kind: 'edit', request: 0, drop: false },
              { kind: 'approve', request: 0, agent: 0 },
              { kind: 'direct', team: 0 },
              { kind: 'apply', request: 0, agent: 1 },
              { kind: 'write', team: 1 },
              { kind: 'request' },
              { kind: 'approve', request: 1, agent: 1 },
              { kind: 'apply', request: 1, agent: 2 },
            ],
          ],
        ],
      },
    );
    // The runs reached every outcome the properties speak of.
    expect(seen).toEqual({ requested: expect.any(Number), applied: expect.any(Number), stale: expect.any(Number), edited: expect.any(Number), selfRefused: expect.any(Number) });
    for (const [outcome, count] of Object.entries(seen)) expect(count, outcome).toBeGreaterThan(0);
  }, 600_000);
});
