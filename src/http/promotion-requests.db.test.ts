import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, createTestInstance, type TestApp, type TestInstance } from '../../test/support/instance.js';
import { createAgent, type TestAgent } from '../../test/support/principals.js';
import { receive, transferOf } from '../../test/support/sync.js';

/** A clock the test moves: scheduled requests fall due by it. */
function movableClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, forward: (ms: number) => (offset += ms) };
}

describe.each(engines)('promotion requests over the API on %s', (engine) => {
  let source: TestInstance;
  let target: TestApp;
  let approver: TestAgent;
  let plain: TestAgent;
  const clock = movableClock();

  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const res = await target.app.inject({ method, url, headers: { ...target.auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.json() };
  };
  /** A new team on the source, sent to the target as a push: the request it became. */
  const held = async (name: string): Promise<string> => {
    const head = (await source.db.read((stores) => stores.changes.head())).seq;
    await source.services.config.create(source.ctx, 'teams', { name });
    const result = await receive(target, source, await transferOf(source, head), { requester: { name: 'Rita', email: 'rita@example.test' } });
    expect(result.request).toBeDefined();
    return result.request!.id;
  };

  beforeAll(async () => {
    [source, target] = await Promise.all([
      createTestInstance(engine, { name: 'staging', kind: 'staging' }),
      createTestApp(engine, { name: 'production', kind: 'production', clock }),
    ]);
    approver = await createAgent(target, { name: 'Ann', email: 'ann@example.test', roles: [{ configAccess: 'read', canApprovePromotions: true }] });
    plain = await createAgent(target, { name: 'Pat', email: 'pat@example.test', roles: [{ configAccess: 'modify', canPushConfig: true }] });
  });
  afterAll(async () => {
    await Promise.all([source?.close(), target?.close()]);
  });

  it('changes the policy for an administrator only, audited, and names the field at fault', async () => {
    expect((await call('PATCH', '/v1/promotion-policy', { approvalsRequired: 1 }, plain.headers)).status).toBe(403);
    const bad = await call('PATCH', '/v1/promotion-policy', { timeZone: 'Mars/Olympus' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('timeZone');
    const window = await call('PATCH', '/v1/promotion-policy', { windows: [{ days: ['mon'], from: '25:00', to: '10:00' }] });
    expect(window.body.errors[0].path).toBe('windows[0].from');
    expect((await call('GET', '/v1/promotion-policy')).body.approvalsRequired).toBe(0);
    const changed = await call('PATCH', '/v1/promotion-policy', { approvalsRequired: 1, emergencyBypass: true });
    expect(changed.body).toMatchObject({ approvalsRequired: 1, emergencyBypass: true, allowSelfApproval: false });
    const audit = await call('GET', '/v1/audit?kind=settings.promotion-policy-changed');
    expect(audit.body.items[0].details.changed.approvalsRequired).toEqual({ from: 0, to: 1 });
  });

  it('holds an import as a request (202), and refuses a status filter it does not know', async () => {
    const created = await source.services.config.create(source.ctx, 'teams', { name: 'Imported team' });
    const document = await source.services.sync.exportChanges({ changeIds: [created.changeId!] });
    const imported = await call('POST', '/v1/changes/import?description=From%20a%20file', document);
    expect(imported.status).toBe(202);
    expect(imported.body.request).toMatchObject({ status: 'pending', approvalsRequired: 1 });
    const request = await call('GET', `/v1/promotion-requests/${imported.body.request.id}`);
    expect(request.body).toMatchObject({ operation: 'import', description: 'From a file', requester: { name: 'Administrator' } });
    expect((await call('GET', `/v1/config/teams/${created.entity!.id}`)).status).toBe(404);
    const wrong = await call('GET', '/v1/promotion-requests?status=waiting');
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0].path).toBe('status');
    expect((await call('POST', `/v1/promotion-requests/${imported.body.request.id}/cancel`, { reason: 'not needed' })).body.status).toBe('cancelled');
  });

  it('applies a scheduled request when due, by the instance; suspends one whose target moved, never applying it', async () => {
    const due = await held('Scheduled team');
    expect((await call('POST', `/v1/promotion-requests/${due}/approve`, { comment: 'ok' }, approver.headers)).body.status).toBe('approved');
    const at = new Date(clock.now() + 3_600_000).toISOString();
    expect((await call('POST', `/v1/promotion-requests/${due}/schedule`, { at }, approver.headers)).body).toMatchObject({ status: 'scheduled', scheduledAt: at });

    const moving = await held('Team that will move');
    await call('POST', `/v1/promotion-requests/${moving}/approve`, {}, approver.headers);
    await call('POST', `/v1/promotion-requests/${moving}/schedule`, { at }, approver.headers);
    // The team arrives here by another way first: the request's target moved.
    const other = (await call('GET', `/v1/promotion-requests/${moving}`)).body.plan.changes[0];
    await receive(target, source, (await transferOf(source)).filter((c) => c.id === other.id), {});
    // A policy asking for approvals holds that push too: it is applied as its own request.
    const direct = (await call('GET', '/v1/promotion-requests?status=pending')).body.items[0].id as string;
    await call('POST', `/v1/promotion-requests/${direct}/approve`, {}, approver.headers);
    expect((await call('POST', `/v1/promotion-requests/${direct}/apply`, {}, approver.headers)).body.status).toBe('applied');

    expect(await target.services.promotionScheduler.runOnce()).toBe(0);
    clock.forward(2 * 3_600_000);
    expect(await target.services.promotionScheduler.runOnce()).toBe(2);
    const [applied, suspended] = [(await call('GET', `/v1/promotion-requests/${due}`)).body, (await call('GET', `/v1/promotion-requests/${moving}`)).body];
    expect(applied).toMatchObject({ status: 'applied' });
    expect(applied.timeline.at(-1)).toMatchObject({ kind: 'applied', by: { name: 'Shiplog' } });
    expect(suspended).toMatchObject({ status: 'suspended' });
    expect(suspended.reason).toContain('moved');
  });

  it('applies outside the windows only by an emergency bypass with a reason, audited and shown on the request', async () => {
    const id = await held('Bypassed team');
    await call('POST', `/v1/promotion-requests/${id}/approve`, {}, approver.headers);
    const now = new Date(clock.now());
    const hh = (h: number) => `${String((now.getUTCHours() + h + 24) % 24).padStart(2, '0')}:00`;
    await call('PATCH', '/v1/promotion-policy', { freezes: [{ from: new Date(clock.now() - 60_000).toISOString(), to: new Date(clock.now() + 3_600_000).toISOString(), reason: 'Year-end freeze' }], windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: hh(-2), to: hh(2) }] });
    const refused = await call('POST', `/v1/promotion-requests/${id}/apply`, {}, approver.headers);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('OUTSIDE_DEPLOY_WINDOW');
    expect(refused.body.detail).toContain('Year-end freeze');
    // Ann may approve, not bypass.
    expect((await call('POST', `/v1/promotion-requests/${id}/apply`, { bypassReason: 'P1 incident' }, approver.headers)).status).toBe(403);
    const bypassed = await call('POST', `/v1/promotion-requests/${id}/apply`, { bypassReason: 'P1 incident 4711' });
    expect(bypassed.status).toBe(200);
    expect(bypassed.body).toMatchObject({ status: 'applied', bypass: { reason: 'P1 incident 4711', by: { name: 'Administrator' } } });
    const audit = await call('GET', '/v1/audit?kind=promotion.bypass');
    expect(audit.body.items[0].details.reason).toBe('P1 incident 4711');
    await call('PATCH', '/v1/promotion-policy', { freezes: [], windows: [] });
  });
});
