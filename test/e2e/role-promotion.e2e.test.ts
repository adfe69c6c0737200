import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../../src/access/administrator-role.js';
import { permissions } from '../../src/access/permissions.js';
import { engines } from '../support/databases.js';
import { applicationFor, ok, startLiveInstance, trackedState, type Answer, type LiveInstance } from '../support/pipeline.js';
import { createAgent, type TestAgent } from '../support/principals.js';

/** What a receiver's administrators give the application a source logs in as, when they delegate nothing of access. */
const SYNC_ONLY = ['config:read', 'config:edit', 'config:push', 'changes:rollback'];

/**
 * Promotion never grants a right the receiving instance's own administrators did not grant. Eve administers dev;
 * on production she only edits configuration. Roles she gives herself on dev travel (linked by third-party id), but
 * applying them needs, on production, the authority of whoever applies the batch there: the application dev logs in
 * as for a push, the local caller for a pull or an import. The Administrator role's holders never travel at all.
 */
describe.each(engines)('role holders along a pipeline on %s', (engine) => {
  let dev: LiveInstance;
  let production: LiveInstance;
  let eve: TestAgent;
  let bob: TestAgent;
  let linkApplication: string;
  let powerRole: string;

  const call = (on: LiveInstance, as: TestAgent | null, method: string, path: string, body?: unknown) => on.call(method, path, body, as ? as.headers : {});
  const myRights = async (as: TestAgent) => (await call(production, as, 'GET', '/v1/agents/me')).body as { permissions: string[]; isAdministrator: boolean };
  const problemsOf = (answer: Answer) => (answer.problems ?? answer.plan?.problems ?? []) as { kind: string; entity?: { id: string }; message: string }[];

  beforeAll(async () => {
    const secretKey = randomBytes(32);
    dev = await startLiveInstance(engine, { name: 'dev', kind: 'development', secretKey });
    production = await startLiveInstance(engine, { name: 'production', kind: 'production', secretKey });
    const credentials = await applicationFor(production, 'dev', SYNC_ONLY);
    linkApplication = (await ok(production, 'GET', '/v1/applications?q=Sync%20from%20dev')).items[0].id;
    await ok(dev, 'POST', '/v1/instances', { name: 'production', url: production.url, ...credentials });
    await ok(production, 'POST', '/v1/instances', { name: 'dev', url: dev.url, ...(await applicationFor(dev, 'production')), source: true });
    for (const instance of [dev, production]) await ok(instance, 'PATCH', '/v1/settings', { useThirdPartyIds: true });

    eve = await createAgent(production, { name: 'Eve', thirdPartyId: 'EMP-EVE', roles: [{ name: 'Editors', configAccess: 'modify', canPushConfig: true }] });
    bob = await createAgent(production, { name: 'Bob', thirdPartyId: 'EMP-BOB' });
    await createAgent(dev, { name: 'Eve on dev', thirdPartyId: 'EMP-EVE' });
    await createAgent(dev, { name: 'Bob on dev', thirdPartyId: 'EMP-BOB' });

    // On dev, where she may: Eve made administrator, and a role that gives her production's keys.
    const admin = (await ok(dev, 'GET', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`)).body;
    await ok(dev, 'PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...admin, agentThirdPartyIds: ['EMP-EVE'] });
    powerRole = (
      await ok(dev, 'POST', '/v1/config/roles', { name: 'Production power', configAccess: 'modify', canPushConfig: true, ticketAccess: 'modify', agentThirdPartyIds: ['EMP-EVE'] })
    ).entity.id;
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), production?.close()]);
  });

  it('refuses a push that would give production agents a role, when the application dev logs in as may not manage access', async () => {
    const before = await trackedState(production, ['roles']);
    const planned = await dev.call('POST', '/v1/instances/production/push?dryRun=true', {});
    expect(planned.status, JSON.stringify(planned.body)).toBe(200);
    const pushed = await dev.call('POST', '/v1/instances/production/push', {});
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(403);
    expect(pushed.body.code).toBe('FORBIDDEN');
    // The dry run names the same problem the real run refuses with.
    expect(problemsOf(pushed.body)).toEqual(problemsOf(planned.body));
    expect(problemsOf(pushed.body)).toEqual([
      expect.objectContaining({ kind: 'forbidden', entity: expect.objectContaining({ id: powerRole }), message: expect.stringContaining('"Production power"') }),
    ]);
    expect(problemsOf(pushed.body)[0]!.message).toEqual(expect.stringContaining('tickets:edit'));
    expect(await trackedState(production, ['roles'])).toEqual(before);
    expect(await myRights(eve)).toMatchObject({ isAdministrator: false, permissions: ['changes:rollback', 'config:edit', 'config:push', 'config:read'] });
    const denials = await production.services.audit.list({ kind: 'access.denied', limit: 50 });
    expect(denials.some((e) => e.subject === 'sync.push from dev')).toBe(true);
  });

  it('refuses the same changes pulled or imported by Eve on production, where she may not manage access', async () => {
    const before = await trackedState(production, ['roles']);
    const planned = await call(production, eve, 'POST', '/v1/instances/dev/pull?dryRun=true', {});
    expect(planned.status, JSON.stringify(planned.body)).toBe(200);
    const pulled = await call(production, eve, 'POST', '/v1/instances/dev/pull', {});
    expect(pulled.status, JSON.stringify(pulled.body)).toBe(403);
    expect(problemsOf(pulled.body)).toEqual(problemsOf(planned.body));
    expect(problemsOf(pulled.body).map((p) => p.kind)).toEqual(['forbidden']);

    const changes = (await ok(dev, 'GET', '/v1/changes?type=roles&limit=50')).items.map((c: Answer) => c.id);
    const exported = await ok(dev, 'POST', '/v1/changes/export', { changeIds: changes });
    const imported = await call(production, eve, 'POST', '/v1/changes/import', exported);
    expect(imported.status, JSON.stringify(imported.body)).toBe(403);
    const importPlan = await call(production, eve, 'POST', '/v1/changes/import?dryRun=true', exported);
    expect(problemsOf(importPlan.body)).toEqual(problemsOf(imported.body));
    expect(await trackedState(production, ['roles'])).toEqual(before);
    expect((await myRights(eve)).isAdministrator).toBe(false);
  });

  it("applies them when production's administrator pulls, and never carries dev's administrators along", async () => {
    const adminHere = (await ok(production, 'GET', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`)).body;
    const pulled = await ok(production, 'POST', '/v1/instances/dev/pull', {});
    expect(pulled.counts.refused).toBe(0);
    const adminAfter = (await ok(production, 'GET', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`)).body;
    expect(adminAfter.agentThirdPartyIds).toEqual(adminHere.agentThirdPartyIds);
    expect(adminAfter.agentIds).toEqual(adminHere.agentIds);
    const rights = await myRights(eve);
    expect(rights.isAdministrator).toBe(false);
    expect(rights.permissions).toContain('tickets:edit');
  });

  it('promotes a role with holders once production lets the application manage access and grant what the role gives', async () => {
    const role = (await ok(dev, 'GET', `/v1/config/roles/${powerRole}`)).body;
    await ok(dev, 'PUT', `/v1/config/roles/${powerRole}`, { ...role, agentThirdPartyIds: ['EMP-EVE', 'EMP-BOB'] });
    expect((await dev.call('POST', '/v1/instances/production/push', {})).status).toBe(403);
    await ok(production, 'PATCH', `/v1/applications/${linkApplication}`, { permissions });
    // A token keeps the scope it was issued with: turning the application off and on revokes the old ones.
    await ok(production, 'PATCH', `/v1/applications/${linkApplication}`, { enabled: false });
    await ok(production, 'PATCH', `/v1/applications/${linkApplication}`, { enabled: true });
    const pushed = await ok(dev, 'POST', '/v1/instances/production/push', {});
    expect(pushed.applied).toBe(true);
    expect((await myRights(bob)).permissions).toContain('tickets:edit');
  });

  it('never lets a push change who may sign in: single sign-on connections apply when the receiver\'s administrator pulls them', async () => {
    const connection = await ok(dev, 'POST', '/v1/config/sso-connections', {
      name: 'Dev login',
      protocol: 'oidc',
      issuer: 'https://idp.example.test',
      clientId: 'shiplog',
      instances: ['dev', 'production'],
    });
    // The application dev logs in as now holds every permission there, and still may not.
    const pushed = await dev.call('POST', '/v1/instances/production/push', {});
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(403);
    expect(problemsOf(pushed.body)).toEqual([expect.objectContaining({ kind: 'forbidden', entity: expect.objectContaining({ id: connection.entity.id }) })]);
    expect((await production.call('GET', `/v1/config/sso-connections/${connection.entity.id}`)).status).toBe(404);
    expect((await call(production, eve, 'POST', '/v1/instances/dev/pull', {})).status).toBe(403);
    const pulled = await ok(production, 'POST', '/v1/instances/dev/pull', {});
    expect(pulled.applied).toBe(true);
    expect((await ok(production, 'GET', `/v1/config/sso-connections/${connection.entity.id}`)).name).toBe('Dev login');
  });

  it('holds the production lock against grants: a widening is refused as locked, changes that grant nothing still flow', async () => {
    await ok(production, 'PATCH', '/v1/settings', { disableConfigEditing: true });
    const role = (await ok(dev, 'GET', `/v1/config/roles/${powerRole}`)).body;
    await ok(dev, 'PUT', `/v1/config/roles/${powerRole}`, { ...role, assetAccess: 'modify' });
    const refused = await dev.call('POST', '/v1/instances/production/push', {});
    expect(refused.status, JSON.stringify(refused.body)).toBe(423);
    expect(problemsOf(refused.body).map((p) => p.kind)).toEqual(['locked']);
    expect((await myRights(bob)).permissions).not.toContain('assets:edit');

    // Changes that grant nothing go through the lock as pipeline changes do.
    const team = await ok(dev, 'POST', '/v1/config/teams', { name: 'Night shift' });
    const pushed = await ok(dev, 'POST', '/v1/instances/production/push', { changeIds: [team.changeId] });
    expect(pushed.applied).toBe(true);
    expect((await ok(production, 'GET', `/v1/config/teams/${team.entity.id}`)).name).toBe('Night shift');
  });
});
