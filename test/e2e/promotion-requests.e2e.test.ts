import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { settleDeliveries } from '../support/deliveries.js';
import { HaloClient } from '../support/halo-client.js';
import { applicationFor, ok, startPipeline, type Answer, type Pipeline } from '../support/pipeline.js';
import { createAgent, type TestAgent } from '../support/principals.js';

/** A local receiver of webhook posts: records each body by path. */
async function startReceiver(): Promise<{ url: string; received: { path: string; body: Answer }[]; close(): Promise<void> }> {
  const received: { path: string; body: Answer }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const everyDay = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** A window of every day around now (UTC), and one that closed an hour ago. */
const openWindow = () => [{ days: everyDay, from: hhmm(Date.now() - 3_600_000), to: hhmm(Date.now() + 3_600_000) }];
const closedWindow = () => [{ days: everyDay, from: hhmm(Date.now() - 3 * 3_600_000), to: hhmm(Date.now() - 3_600_000) }];

describe.each(engines)('promotion requests over a real pipeline on %s', (engine) => {
  let pipeline: Pipeline;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let ann: TestAgent;
  let bob: TestAgent;
  let departmentId: string;
  let teamId: string;
  let requestId: string;

  const production = () => pipeline.production;
  const requestNow = async (): Promise<Answer> => ok(production(), 'GET', `/v1/promotion-requests/${requestId}`);
  /** A verdict given on production by `agent`, or by production's administrator. */
  const verdict = (agent: TestAgent | null, kind: 'approve' | 'reject', comment: string) =>
    production().call('POST', `/v1/promotion-requests/${requestId}/${kind}`, { comment }, agent?.headers ?? {});

  beforeAll(async () => {
    receiver = await startReceiver();
    pipeline = await startPipeline(engine);
    const { dev, staging } = pipeline;
    // Staging's administrator asks; production's administrator has the same address: the same person, who may approve anything else.
    const approver = { configAccess: 'read' as const, canApprovePromotions: true };
    ann = await createAgent(pipeline.production, { name: 'Ann Approver', email: 'ann@example.test', roles: [approver] });
    bob = await createAgent(pipeline.production, { name: 'Bob Approver', email: 'bob@example.test', roles: [approver] });
    // Production tells a local receiver of every step of a request, by webhook and by a Slack-style notification.
    await ok(pipeline.production, 'POST', '/v1/config/webhooks', {
      name: 'Promotion feed',
      url: `${receiver.url}/hooks`,
      events: ['promotion.requested', 'promotion.approved', 'promotion.rejected', 'promotion.applied', 'promotion.failed', 'promotion.stale'],
      enabledInstances: ['production'],
    });
    await ok(pipeline.production, 'POST', '/v1/config/notifications', {
      name: 'Promotion gone stale',
      event: 'promotion.stale',
      channel: 'slack',
      webhookUrl: `${receiver.url}/slack`,
      enabledInstances: ['production'],
    });
    // A department all three hold; then production asks for two approvals.
    departmentId = (await ok(dev, 'POST', '/v1/config/departments', { name: 'Operations' })).entity.id;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
    await ok(staging, 'POST', '/v1/instances/production/push', {});
    await ok(pipeline.production, 'PATCH', '/v1/promotion-policy', { approvalsRequired: 2, timeZone: 'UTC', windows: closedWindow() });
    // Dev's next change reaches staging at once (staging asks for nothing).
    teamId = (await ok(dev, 'POST', '/v1/config/teams', { name: 'Night shift', departmentId })).entity.id;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
  }, 180_000);
  afterAll(async () => {
    await pipeline?.close();
    await receiver?.close();
  });

  it("staging's push into production creates a request: nothing applied, 202 with the request", async () => {
    const dryRun = await ok(pipeline.staging, 'POST', '/v1/instances/production/push?dryRun=true', {});
    expect(dryRun.approvalsRequired).toBe(2);
    const pushed = await pipeline.staging.call('POST', '/v1/instances/production/push', { description: 'Night shift team for the Q1 rota' });
    expect(pushed.status).toBe(202);
    expect(pushed.body.applied).toBe(false);
    expect(pushed.body.request).toMatchObject({ status: 'pending', approvalsRequired: 2 });
    requestId = pushed.body.request.id;
    expect((await production().call('GET', `/v1/config/teams/${teamId}`)).status).toBe(404);
    const request = await requestNow();
    expect(request).toMatchObject({
      status: 'pending',
      operation: 'push',
      from: { name: 'staging' },
      description: 'Night shift team for the Q1 rota',
      requester: { name: 'Administrator', email: 'admin@shiplog.local' },
      approvals: 0,
      approvalsRequired: 2,
    });
    expect(request.plan.changes.map((c: Answer) => c.entityId)).toContain(teamId);
    expect(request.heads).toContainEqual({ entityId: departmentId, head: expect.any(String) });
    // Entity by entity, as the console shows it side by side: the team did not exist here.
    const diffs = await ok(production(), 'GET', `/v1/promotion-requests/${requestId}/diffs`);
    expect(diffs.items).toEqual([expect.objectContaining({ type: 'teams', entityId: teamId, before: null, after: expect.objectContaining({ name: 'Night shift', departmentId }), secretsChanged: [] })]);
    expect(diffs.items[0].diff).toContainEqual({ path: 'name', before: null, after: 'Night shift' });
    const listed = await ok(production(), 'GET', '/v1/promotion-requests?status=pending');
    expect(listed.items.map((r: Answer) => r.id)).toEqual([requestId]);
  });

  it("one approval is not enough, the requester's own is refused, a second approver's completes it", async () => {
    expect((await verdict(ann, 'approve', 'Looks right')).status).toBe(200);
    const early = await production().call('POST', `/v1/promotion-requests/${requestId}/apply`, {}, ann.headers);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('NOT_APPROVED');
    const own = await verdict(null, 'approve', 'Mine, and fine');
    expect(own.status).toBe(403);
    expect(own.body.code).toBe('SELF_APPROVAL_REFUSED');
    // One agent counts once.
    expect((await verdict(ann, 'approve', 'Again')).body.code).toBe('ALREADY_REVIEWED');
    const second = await verdict(bob, 'approve', 'Agreed');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'approved', approvals: 2 });
  });

  it('a direct hotfix in production makes it stale: nothing written, the requester told why', async () => {
    await ok(production(), 'PUT', `/v1/config/departments/${departmentId}`, { name: 'Operations (hotfix)' });
    await ok(production(), 'PATCH', '/v1/promotion-policy', { windows: openWindow() });
    const applied = await production().call('POST', `/v1/promotion-requests/${requestId}/apply`, {}, ann.headers);
    expect(applied.status).toBe(409);
    expect(applied.body.code).toBe('REQUEST_STALE');
    expect(applied.body.moved).toEqual([departmentId]);
    expect((await production().call('GET', `/v1/config/teams/${teamId}`)).status).toBe(404);
    const request = await requestNow();
    expect(request.status).toBe('stale');
    expect(request.reason).toContain(departmentId);
  });

  it('a re-plan revokes every approval; approved again, it applies only inside a window, exactly as approved', async () => {
    const replanned = await ok(production(), 'POST', `/v1/promotion-requests/${requestId}/replan`, {});
    expect(replanned).toMatchObject({ status: 'pending', revision: 2, approvals: 0 });
    expect(replanned.reviews.every((r: Answer) => r.revoked && !r.counts)).toBe(true);
    expect((await verdict(ann, 'approve', 'Still right')).status).toBe(200);
    expect((await verdict(bob, 'approve', 'Still agreed')).body).toMatchObject({ status: 'approved', approvals: 2 });

    await ok(production(), 'PATCH', '/v1/promotion-policy', { windows: closedWindow() });
    const outside = await production().call('POST', `/v1/promotion-requests/${requestId}/apply`, {}, ann.headers);
    expect(outside.status).toBe(409);
    expect(outside.body.code).toBe('OUTSIDE_DEPLOY_WINDOW');

    await ok(production(), 'PATCH', '/v1/promotion-policy', { windows: openWindow() });
    const before = await requestNow();
    const applied = await production().call('POST', `/v1/promotion-requests/${requestId}/apply`, {}, ann.headers);
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ status: 'applied', planDigest: before.planDigest });
    const team = await ok(production(), 'GET', `/v1/config/teams/${teamId}`);
    expect(team.body).toMatchObject({ name: 'Night shift', departmentId });
    expect(applied.body.timeline.map((e: Answer) => e.kind)).toEqual(['requested', 'approved', 'approved', 'stale', 'replanned', 'approvals-revoked', 'approved', 'approved', 'applied']);
    // Staging and production are in step again.
    const status = await ok(pipeline.staging, 'GET', '/v1/instances/production/status');
    expect(status.ahead).toBe(0);
  });

  it('the notifications arrived at the local receiver: requested, approved, stale and applied', async () => {
    await settleDeliveries(production());
    const events = receiver.received.filter((r) => r.path === '/hooks').map((r) => r.body.event as string);
    expect(events).toEqual(expect.arrayContaining(['promotion.requested', 'promotion.approved', 'promotion.stale', 'promotion.applied']));
    const applied = receiver.received.find((r) => r.body.event === 'promotion.applied')!.body;
    expect(applied.promotion).toMatchObject({ id: requestId, status: 'applied', from: { name: 'staging' } });
    expect(applied.recipients).toEqual(expect.arrayContaining(['admin@shiplog.local', 'ann@example.test', 'bob@example.test']));
    const slack = receiver.received.find((r) => r.path === '/slack');
    expect(slack?.body.text).toContain('promotion.stale');
  });

  it("the Halo API's _push_to_instance_id answers with the request it created", async () => {
    const blue = (await ok(pipeline.dev, 'POST', '/v1/config/teams', { name: 'Blue team', departmentId })).entity.id as string;
    await ok(pipeline.dev, 'POST', '/v1/instances/staging/push', {});
    const credentials = await applicationFor(pipeline.staging, 'halo tooling');
    const halo = new HaloClient(pipeline.staging.url.replace(/\/$/, ''), credentials.clientId, credentials.clientSecret);
    await halo.authenticate('all');
    const productionId = ((await halo.get('Instance')).instances as Answer[]).find((i) => i.envname === 'production').id as number;
    const lacking = (await halo.get(`ConfigCommit?notin_instance_id=${productionId}`)).configcommits as Answer[];
    const commit = lacking.find((c) => c.object_guid === blue);
    const pushed = await halo.save('ConfigCommit', { id: commit.id, _push_to_instance_id: productionId });
    expect(pushed._promotion_request).toMatchObject({ status: 'pending', approvals_required: 2 });
    expect(pushed._warning).toContain(pushed._promotion_request.id);
    expect((await ok(production(), 'GET', `/v1/promotion-requests/${pushed._promotion_request.id}`)).plan.changes.map((c: Answer) => c.entityId)).toEqual([blue]);
    expect((await production().call('GET', `/v1/config/teams/${blue}`)).status).toBe(404);
  });

  it("a request's entity diffs never show a secret: masked, and named as changed", async () => {
    const secretUrl = 'https://hooks.example.test/services/T000/never-shown-7f3a';
    const created = await ok(pipeline.dev, 'POST', '/v1/config/notifications', { name: 'Promotions to chat', event: 'promotion.applied', channel: 'slack', webhookUrl: secretUrl, enabledInstances: ['production'] });
    await ok(pipeline.dev, 'POST', '/v1/instances/staging/push', {});
    const pushed = await pipeline.staging.call('POST', '/v1/instances/production/push', { changeIds: [created.changeId], description: 'Chat on applied promotions' });
    expect(pushed.status).toBe(202);
    const diffs = await ok(production(), 'GET', `/v1/promotion-requests/${pushed.body.request.id}/diffs`);
    expect(diffs.items).toHaveLength(1);
    expect(diffs.items[0]).toMatchObject({ type: 'notifications', before: null, after: { webhookUrl: { set: true } } });
    expect(diffs.items[0].secretsChanged).toContain('webhookUrl');
    expect(JSON.stringify(diffs)).not.toContain('never-shown-7f3a');
  });
});
