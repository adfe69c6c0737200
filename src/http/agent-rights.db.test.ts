import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../access/administrator-role.js';
import type { RightsExplanation } from '../access/agent-rights.js';
import { newId } from '../shared/ids.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createAgent, createTeam, type TestAgent } from '../../test/support/principals.js';

type Rights = RightsExplanation;

describe.each(engines)('agent rights explained on %s', (engine) => {
  let t: TestApp;
  let integration: TestAgent;
  let partner: TestAgent;
  let customerId: string;
  let teamId: string;

  const get = async (url: string, headers: Record<string, string> = t.auth) => t.app.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    t = await createTestApp(engine);
    customerId = newId();
    await t.db.write((stores) => stores.desk.insertCustomer({ id: customerId, name: 'Northwind', thirdPartyId: null, createdAt: 0, updatedAt: 0 }));
    teamId = await createTeam(t, { name: '1st Line Support' });
    const partnerTeam = await createTeam(t, { name: 'Northwind IT', isCoManaged: true });
    integration = await createAgent(t, {
      name: 'TesthaloIntegration',
      apiOnly: true,
      roles: [
        {
          name: 'HaloPSA integration',
          ticketAccess: 'modify',
          customerAccess: 'modify',
          userAccess: 'modify',
          ticketPermissions: { addTickets: true, exportTickets: true },
          teamMemberships: [{ teamId, access: 'read' }],
        },
        { name: 'Reader', ticketAccess: 'read', configAccess: 'read' },
      ],
    });
    partner = await createAgent(t, {
      name: 'Partner agent',
      clientRestrictions: { allowAllCustomers: false, customerIds: [customerId] },
      coManagedCustomerId: customerId,
      roles: [
        {
          name: 'Co-managed partner',
          ticketAccess: 'modify',
          customerRestrictions: { allowAllCustomers: false, customerIds: [customerId] },
          teamMemberships: [{ teamId: partnerTeam, access: 'modify' }],
        },
      ],
    });
  });
  afterAll(async () => t?.close());

  it('names the role and the setting behind every permission, and lists what no role gives', async () => {
    const res = await get(`/v1/agents/${integration.agent.id}/rights`);
    expect(res.statusCode, res.body).toBe(200);
    const rights = res.json<Rights>();
    const by = (permission: string) => rights.permissions.find((p) => p.permission === permission)?.grantedBy.map((s) => `${s.roleName}: ${s.because}`);
    expect(by('tickets:read')).toEqual(['HaloPSA integration: Ticket access: modify', 'Reader: Ticket access: read']);
    expect(by('tickets:edit')).toEqual(['HaloPSA integration: Ticket access: modify']);
    expect(by('assets:edit')).toEqual(['HaloPSA integration: Client access: modify']);
    expect(by('users:edit')).toEqual(['HaloPSA integration: Users access: modify']);
    expect(by('config:read')).toEqual(['Reader: Configuration access: read']);
    expect(rights.notGranted).toEqual(['config:edit', 'config:push', 'changes:rollback', 'access:manage', 'audit:read', 'promotions:approve', 'promotions:bypass']);
    // The explanation grants exactly what the agent's view says it holds.
    const view = (await get(`/v1/agents/${integration.agent.id}`)).json<{ permissions: string[] }>();
    expect(rights.permissions.map((p) => p.permission).sort()).toEqual(view.permissions);
    expect(rights.ticketPermissions.map((f) => f.flag)).toEqual(['addTickets', 'exportTickets']);
    expect(rights.teams).toEqual([{ teamId, teamName: '1st Line Support', access: 'read', grantedBy: [{ roleId: integration.roleIds[0], roleName: 'HaloPSA integration', because: 'Team membership: read' }] }]);
    expect(rights.customers).toEqual({ all: true, customers: [], restrictedBy: [] });
  });

  it('explains a co-managed agent’s customer scope by its own restrictions and its role’s, with the customer named', async () => {
    const rights = (await get(`/v1/agents/${partner.agent.id}/rights`)).json<Rights>();
    expect(rights.customers.all).toBe(false);
    expect(rights.customers.customers).toEqual([{ id: customerId, name: 'Northwind' }]);
    expect(rights.customers.restrictedBy.map((r) => [r.source, r.roleName, r.customers.map((c) => c.name)])).toEqual([
      ['agent', null, ['Northwind']],
      ['role', 'Co-managed partner', ['Northwind']],
    ]);
    // Its own rights, read by itself; another agent's are not its to read.
    const own = await get('/v1/agents/me/rights', partner.headers);
    expect(own.statusCode).toBe(200);
    expect(own.json<Rights>()).toEqual(rights);
    expect((await get(`/v1/agents/${integration.agent.id}/rights`, partner.headers)).statusCode).toBe(403);
  });

  it('gives the administrator every permission by the Administrator role, a disabled agent none, and an unknown id 404', async () => {
    const admin = (await get('/v1/agents/me/rights')).json<Rights>();
    expect(admin.isAdministrator).toBe(true);
    expect(admin.notGranted).toEqual([]);
    expect(admin.permissions.find((p) => p.permission === 'access:manage')?.grantedBy).toEqual([{ roleId: ADMINISTRATOR_ROLE_ID, roleName: 'Administrator', because: 'Administrator role: every permission' }]);

    const patched = await t.app.inject({ method: 'PATCH', url: `/v1/agents/${integration.agent.id}`, headers: t.auth, payload: { disabled: true } });
    expect(patched.statusCode, patched.body).toBe(200);
    const disabled = (await get(`/v1/agents/${integration.agent.id}/rights`)).json<Rights>();
    expect(disabled).toMatchObject({ disabled: true, roles: [], permissions: [], ticketPermissions: [], teams: [] });
    expect((await get(`/v1/agents/${newId()}/rights`)).json()).toMatchObject({ code: 'AGENT_NOT_FOUND' });
  });
});
