import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { link, ok, startLiveInstance, type LiveInstance } from '../support/pipeline.js';

/**
 * Linking by third-party ids: agents are local records with ids of their own on each instance; the configuration that
 * names them (ticket rule outcomes, role holders, CAB members) links them by the id they have in the identity system,
 * resolved on the receiving instance — and a third-party id nobody holds there refuses the sync.
 */
describe.each(engines)('linking agents by third-party id across instances on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  const agents = {} as Record<'devAda' | 'stagingAda' | 'devBob', string>;
  let ruleId: string;
  let roleId: string;
  let ticketTypeId: string;

  async function agent(on: LiveInstance, name: string, thirdPartyId: string): Promise<string> {
    return (await ok(on, 'POST', '/v1/agents', { name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@${on.name}.test`, thirdPartyId })).id;
  }

  beforeAll(async () => {
    const secretKey = randomBytes(32);
    dev = await startLiveInstance(engine, { name: 'dev', kind: 'development', secretKey });
    staging = await startLiveInstance(engine, { name: 'staging', kind: 'staging', secretKey });
    await link(dev, staging);
    await link(staging, dev, { source: true });
    for (const i of [dev, staging]) await ok(i, 'PATCH', '/v1/settings', { useThirdPartyIds: true });
    agents.devAda = await agent(dev, 'Ada on dev', 'EMP-1001');
    agents.devBob = await agent(dev, 'Bob on dev', 'EMP-2002');
    agents.stagingAda = await agent(staging, 'Ada on staging', 'EMP-1001');

    await ok(dev, 'POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    ticketTypeId = (await ok(dev, 'POST', '/v1/config/ticket-types', { name: 'Incident' })).entity.id;
    ruleId = (
      await ok(dev, 'POST', '/v1/config/ticket-rules', {
        name: 'Printers to Ada',
        criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
        outcomes: [{ field: 'agent', agentId: agents.devAda, agentThirdPartyId: 'EMP-1001' }],
      })
    ).entity.id;
    roleId = (await ok(dev, 'POST', '/v1/config/roles', { name: 'Printer experts', ticketAccess: 'read', agentThirdPartyIds: ['EMP-1001'] })).entity.id;
    await ok(dev, 'POST', '/v1/config/approval-groups', { name: 'CAB', memberThirdPartyIds: ['EMP-1001'] });
    await ok(dev, 'POST', '/v1/config/approval-processes', {
      name: 'Change approval',
      steps: [{ id: 'lead', name: 'Team lead', approverKind: 'agent', agentThirdPartyIds: ['EMP-1001'] }],
    });
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), staging?.close()]);
  });

  it('resolves the third-party ids on the receiving instance: the rule assigns, and the role is held by, the agent there', async () => {
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    const customer = await ok(staging, 'POST', '/v1/customers', { name: 'Acme' });
    const logged = await ok(staging, 'POST', '/v1/tickets', { customerId: customer.id, ticketTypeId, summary: 'The printer is jammed' });
    expect(logged.ticket.agentId).toBe(agents.stagingAda);
    expect(logged.ticket.agentId).not.toBe(agents.devAda);
    const held = await ok(staging, 'GET', `/v1/agents/${agents.stagingAda}`);
    expect(held.roles.map((r: { id: string }) => r.id)).toContain(roleId);
  });

  it('refuses a change whose third-party id no agent of the receiver holds, listing it, and writes nothing', async () => {
    const rule = await ok(dev, 'GET', `/v1/config/ticket-rules/${ruleId}`);
    await ok(dev, 'PUT', `/v1/config/ticket-rules/${ruleId}`, { ...rule.body, outcomes: [{ field: 'agent', agentId: agents.devBob, agentThirdPartyId: 'EMP-2002' }] });
    const before = await ok(staging, 'GET', `/v1/config/ticket-rules/${ruleId}`);
    const refused = await dev.call('POST', '/v1/instances/staging/push', {});
    expect(refused.status).toBe(409);
    expect(refused.body.problems).toEqual([
      expect.objectContaining({
        kind: 'record-missing',
        entity: expect.objectContaining({ id: ruleId }),
        records: [
          { path: 'outcomes[0].agentId', kind: 'agent', id: agents.devBob, name: 'Bob on dev', thirdPartyId: 'EMP-2002' },
          { path: 'outcomes[0].agentThirdPartyId', kind: 'agent', id: null, name: null, thirdPartyId: 'EMP-2002' },
        ],
        message: expect.stringContaining('agent "Bob on dev" (third-party id EMP-2002) at outcomes[0].agentId, which no agent here holds'),
      }),
    ]);
    expect(await ok(staging, 'GET', `/v1/config/ticket-rules/${ruleId}`)).toEqual(before);

    // Once staging knows the agent by that id, the same push goes through.
    await ok(staging, 'POST', '/v1/agents', { name: 'Bob on staging', email: 'bob@staging.test', thirdPartyId: 'EMP-2002' });
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
  });

  it('links an asset’s users and owners by third-party id too: a user the receiver lacks refuses the push until it exists', async () => {
    for (const i of [dev, staging]) await ok(i, 'PATCH', '/v1/settings', { trackServices: true });
    const assetType = (await ok(dev, 'POST', '/v1/config/asset-types', { name: 'Business service' })).entity.id;
    // An asset names people who exist where it is written.
    const payrollOnDev = await ok(dev, 'POST', '/v1/customers', { name: 'Payroll customer' });
    await ok(dev, 'POST', '/v1/users', { customerId: payrollOnDev.id, name: 'Pat', thirdPartyId: 'USR-0007' });
    const asset = await ok(dev, 'POST', '/v1/config/assets', {
      name: 'Payroll',
      assetTypeId: assetType,
      serviceClass: 'service',
      userThirdPartyIds: ['USR-0007'],
      businessOwnerThirdPartyId: 'EMP-1001',
      technicalOwnerThirdPartyId: 'USR-0007',
    });
    expect(asset.changeId).not.toBeNull();
    const refused = await dev.call('POST', '/v1/instances/staging/push', {});
    expect(refused.status).toBe(409);
    expect(refused.body.problems).toEqual([
      expect.objectContaining({
        kind: 'record-missing',
        entity: expect.objectContaining({ id: asset.entity.id }),
        records: [
          { path: 'userThirdPartyIds[0]', kind: 'user', id: null, name: null, thirdPartyId: 'USR-0007' },
          { path: 'technicalOwnerThirdPartyId', kind: 'agent-or-user', id: null, name: null, thirdPartyId: 'USR-0007' },
        ],
      }),
    ]);

    const customer = await ok(staging, 'POST', '/v1/customers', { name: 'Payroll customer' });
    await ok(staging, 'POST', '/v1/users', { customerId: customer.id, name: 'Pat', thirdPartyId: 'USR-0007' });
    const taken = await staging.call('POST', '/v1/users', { customerId: customer.id, name: 'Pat again', thirdPartyId: 'USR-0007' });
    expect(taken).toMatchObject({ status: 409, body: { code: 'THIRD_PARTY_ID_TAKEN' } });
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    expect((await ok(staging, 'GET', `/v1/config/assets/${asset.entity.id}`)).body).toMatchObject({ userThirdPartyIds: ['USR-0007'] });
  });

  it('links a user role’s holders by third-party id: refused until the user exists there, arriving without the sender’s user ids', async () => {
    const devCustomer = await ok(dev, 'POST', '/v1/customers', { name: 'Portal customer' });
    const devUser = await ok(dev, 'POST', '/v1/users', { customerId: devCustomer.id, name: 'Quinn', thirdPartyId: 'USR-0042' });
    const role = await ok(dev, 'POST', '/v1/config/user-roles', { name: 'Approvers', userIds: [devUser.id], userThirdPartyIds: ['USR-0042'] });
    const refused = await dev.call('POST', '/v1/instances/staging/push', {});
    expect(refused.status).toBe(409);
    expect(refused.body.problems).toEqual([
      expect.objectContaining({
        kind: 'record-missing',
        entity: expect.objectContaining({ id: role.entity.id }),
        records: [{ path: 'userThirdPartyIds[0]', kind: 'user', id: null, name: null, thirdPartyId: 'USR-0042' }],
        message: expect.stringContaining('userThirdPartyIds[0]'),
      }),
    ]);
    expect((await staging.call('GET', `/v1/config/user-roles/${role.entity.id}`)).status).toBe(404);

    const customer = await ok(staging, 'POST', '/v1/customers', { name: 'Portal customer' });
    await ok(staging, 'POST', '/v1/users', { customerId: customer.id, name: 'Quinn', thirdPartyId: 'USR-0042' });
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    expect((await ok(staging, 'GET', `/v1/config/user-roles/${role.entity.id}`)).body).toMatchObject({ userThirdPartyIds: ['USR-0042'], userIds: [] });
  });
});
