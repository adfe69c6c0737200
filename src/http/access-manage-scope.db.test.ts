import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../access/administrator-role.js';
import { verifyPassword } from '../access/passwords.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { bearer, createAgent, createApplication, createRole, issueAccessToken, type TestAgent } from '../../test/support/principals.js';

interface Problem {
  code: string;
  detail: string;
  requestId: string;
}

const ADMIN = { email: 'admin@shiplog.local', password: 'correct horse battery staple' };

/**
 * `access:manage` is no way past the caller's own rights: granting a role needs every right it grants; making an
 * agent administrator, or changing an administrator's credentials, needs a signed-in administrator, never an
 * application; whoever could act as an agent (by its password, email or third-party id) must hold what it holds.
 */
describe.each(engines)('the reach of access:manage on %s', (engine) => {
  let t: TestApp;
  /** An application acting as the administrator, its token scoped to access:manage alone. */
  let manager: Record<string, string>;
  let session: Record<string, string>;
  let secondAdmin: TestAgent;
  let editor: TestAgent;
  let editorsRole: string;
  let unique = 0;
  const email = (label: string) => `${label}-${++unique}@example.test`;

  type Method = NonNullable<InjectOptions['method']>;
  const call = (method: Method, url: string, body: unknown, headers: Record<string, string>): Promise<LightMyRequestResponse> =>
    t.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });
  const agentCount = () => t.db.read((stores) => stores.agents.count());
  const state = () =>
    t.db.read(async (stores) => ({ head: await stores.changes.head(), agents: await stores.agents.list({ limit: 1000 }), applications: await stores.applications.list({ limit: 1000 }) }));

  async function refused(res: Promise<LightMyRequestResponse>): Promise<Problem> {
    const before = await state();
    const answer = await res;
    expect(answer.statusCode, answer.body).toBe(403);
    const problem = answer.json<Problem>();
    expect(problem.code).toBe('FORBIDDEN');
    expect(await state()).toEqual(before);
    const denials = await t.services.audit.list({ kind: 'access.denied', limit: 1000 });
    expect(denials.filter((e) => e.requestId === problem.requestId)).toHaveLength(1);
    return problem;
  }

  beforeAll(async () => {
    t = await createTestApp(engine);
    const { application } = await createApplication(t, { agentId: t.ctx.actor.id, permissions: ['access:manage', 'config:read'] });
    manager = bearer(await issueAccessToken(t, application, { scopes: ['access:manage'] }));
    secondAdmin = await createAgent(t, { name: 'Second administrator', email: email('admin2'), password: 'second admin password' });
    await t.services.agents.update(t.ctx, { agent: secondAdmin.agent }, secondAdmin.agent.id, { roleIds: [ADMINISTRATOR_ROLE_ID] });
    editor = await createAgent(t, { name: 'Editor', email: email('editor'), password: 'editor password 123', roles: [{ name: 'Editors', configAccess: 'modify' }] });
    editorsRole = editor.roleIds[0]!;
    const signIn = await t.app.inject({ method: 'POST', url: '/v1/session', payload: ADMIN });
    expect(signIn.statusCode, signIn.body).toBe(200);
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    session = { cookie, 'x-csrf-token': signIn.json<{ csrfToken: string }>().csrfToken };
  });
  afterAll(async () => t?.close());

  it('cannot create an agent holding the Administrator role, or a role with rights the token lacks', async () => {
    const count = await agentCount();
    await refused(call('POST', '/v1/agents', { name: 'Mallory', email: email('mallory'), password: 'mallory password 1', roleIds: [ADMINISTRATOR_ROLE_ID] }, manager));
    const problem = await refused(call('POST', '/v1/agents', { name: 'Mallory', email: email('mallory'), password: 'mallory password 1', roleIds: [editorsRole] }, manager));
    expect(problem.detail).toContain('config:edit');
    // A role granting nothing the token lacks it may give.
    const plain = await createRole(t, [], { name: 'Nothing much' });
    const created = await call('POST', '/v1/agents', { name: 'Plain', email: email('plain'), roleIds: [plain] }, manager);
    expect(created.statusCode, created.body).toBe(201);
    expect(await agentCount()).toBe(count + 1);
  });

  it('cannot give an existing agent a role with rights the token lacks, nor make it administrator', async () => {
    const plain = await createAgent(t, { name: 'Plain agent', email: email('plain') });
    await refused(call('PATCH', `/v1/agents/${plain.agent.id}`, { roleIds: [editorsRole] }, manager));
    await refused(call('PATCH', `/v1/agents/${plain.agent.id}`, { roleIds: [ADMINISTRATOR_ROLE_ID] }, manager));
  });

  it("cannot reset an administrator's password, change its email or third-party id, disable it, or delete it", async () => {
    const id = secondAdmin.agent.id;
    for (const patch of [{ password: 'taken over password 1' }, { email: email('takeover') }, { thirdPartyId: 'EMP-TAKEOVER' }, { disabled: true }, { password: null }]) {
      await refused(call('PATCH', `/v1/agents/${id}`, patch, manager));
    }
    await refused(call('DELETE', `/v1/agents/${id}`, undefined, manager));
    const stored = await t.db.read((stores) => stores.agents.find(id));
    expect(await verifyPassword('second admin password', stored!.passwordHash!)).toBe(true);
    // Its name is no credential.
    expect((await call('PATCH', `/v1/agents/${id}`, { name: 'Second admin' }, manager)).statusCode).toBe(200);
  });

  it('cannot take over an agent with rights the token lacks by setting its password or email', async () => {
    await refused(call('PATCH', `/v1/agents/${editor.agent.id}`, { password: 'taken over password 2' }, manager));
    await refused(call('PATCH', `/v1/agents/${editor.agent.id}`, { email: email('takeover') }, manager));
    expect((await call('PATCH', `/v1/agents/${editor.agent.id}`, { disabled: true }, manager)).statusCode).toBe(200);
    // Turning it back on gives it its rights again.
    await refused(call('PATCH', `/v1/agents/${editor.agent.id}`, { disabled: false }, manager));
    expect((await call('PATCH', `/v1/agents/${editor.agent.id}`, { disabled: false }, session)).statusCode).toBe(200);
  });

  it('cannot make an agent hold the Administrator role through a third-party id the role names, linking on or off', async () => {
    const admin = (await call('GET', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, undefined, t.auth)).json<{ body: Record<string, unknown> }>().body;
    // The role can name only a third-party id an agent here holds.
    const boss = await createAgent(t, { name: 'Boss', email: email('boss'), thirdPartyId: 'EMP-BOSS' });
    expect((await call('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...admin, agentThirdPartyIds: ['EMP-BOSS'] }, t.auth)).statusCode).toBe(200);
    try {
      // Off, the id makes nobody administrator yet; turning linking on (a configuration setting) would: Boss is one.
      await refused(call('PATCH', `/v1/agents/${boss.agent.id}`, { password: 'taken over 12345' }, manager));
      expect((await call('PATCH', '/v1/settings', { useThirdPartyIds: true }, t.auth)).statusCode).toBe(200);
      await refused(call('PATCH', `/v1/agents/${boss.agent.id}`, { password: 'taken over 12345' }, manager));
      // Nobody else can take the id: it is one agent's, and the role naming it keeps it there.
      const plain = await createAgent(t, { name: 'Plain again', email: email('plain') });
      const taken = await call('PATCH', `/v1/agents/${plain.agent.id}`, { thirdPartyId: 'EMP-BOSS' }, t.auth);
      expect(taken.statusCode, taken.body).toBe(409);
      expect((await call('PATCH', `/v1/agents/${boss.agent.id}`, { thirdPartyId: null }, t.auth)).statusCode).toBe(409);
    } finally {
      await call('PATCH', '/v1/settings', { useThirdPartyIds: false }, t.auth);
      await call('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, admin, t.auth);
    }
  });

  it('cannot move an application to another agent, turn one back on, or take its secret, when it has rights the token lacks', async () => {
    const integration = await createAgent(t, { name: 'Integration', apiOnly: true, roles: [{ name: 'Integration', configAccess: 'modify', canPushConfig: true }] });
    const { application } = await createApplication(t, { agentId: integration.agent.id, permissions: ['config:read', 'config:push'] });
    await refused(call('POST', '/v1/applications', { name: 'Escalation', agentId: t.ctx.actor.id, permissions: ['config:push'] }, manager));
    await refused(call('PATCH', `/v1/applications/${application.id}`, { agentId: t.ctx.actor.id }, manager));
    await refused(call('POST', `/v1/applications/${application.id}/rotate-secret`, undefined, manager));
    expect((await call('PATCH', `/v1/applications/${application.id}`, { enabled: false }, manager)).statusCode).toBe(200);
    await refused(call('PATCH', `/v1/applications/${application.id}`, { enabled: true }, manager));
  });

  it('cannot give an agent access to customers beyond those its own agent may see', async () => {
    const customer = async (name: string) => (await call('POST', '/v1/customers', { name }, session)).json<{ id: string }>().id;
    const acme = await customer('Acme for access');
    const restrictedAdmin = await createAgent(t, { name: 'Acme administrator', email: email('acme-admin'), clientRestrictions: { allowAllCustomers: false, customerIds: [acme] } });
    await t.services.agents.update(t.ctx, { agent: restrictedAdmin.agent }, restrictedAdmin.agent.id, { roleIds: [ADMINISTRATOR_ROLE_ID] });
    const { application } = await createApplication(t, { agentId: restrictedAdmin.agent.id, permissions: ['access:manage', 'config:read'] });
    const acmeManager = bearer(await issueAccessToken(t, application, { scopes: ['access:manage', 'config:read'] }));
    const readers = await createRole(t, [], { name: 'Readers for access', configAccess: 'read' });

    const everyone = await refused(call('POST', '/v1/agents', { name: 'Everyone', email: email('everyone'), roleIds: [readers] }, acmeManager));
    expect(everyone.detail).toContain('access to every customer');
    const created = await call('POST', '/v1/agents', { name: 'Acme reader', email: email('acme-reader'), roleIds: [readers], clientRestrictions: { allowAllCustomers: false, customerIds: [acme] } }, acmeManager);
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await refused(call('PATCH', `/v1/agents/${id}`, { clientRestrictions: { allowAllCustomers: true, customerIds: [] } }, acmeManager));
    // An agent without any permission sees nothing, so its restrictions are no grant.
    const idle = await call('POST', '/v1/agents', { name: 'Idle', email: email('idle') }, acmeManager);
    expect(idle.statusCode, idle.body).toBe(201);
  });

  it('lets a signed-in administrator do all of it', async () => {
    const created = await call('POST', '/v1/agents', { name: 'Third administrator', email: email('admin3'), password: 'third admin password', roleIds: [ADMINISTRATOR_ROLE_ID] }, session);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ isAdministrator: true });
    const reset = await call('PATCH', `/v1/agents/${secondAdmin.agent.id}`, { password: 'reset by an admin 1' }, session);
    expect(reset.statusCode, reset.body).toBe(200);
    const stored = await t.db.read((stores) => stores.agents.find(secondAdmin.agent.id));
    expect(await verifyPassword('reset by an admin 1', stored!.passwordHash!)).toBe(true);
    const plain = await createAgent(t, { name: 'Promoted', email: email('promoted') });
    const granted = await call('PATCH', `/v1/agents/${plain.agent.id}`, { roleIds: [editorsRole] }, session);
    expect(granted.statusCode, granted.body).toBe(200);
    expect(granted.json()).toMatchObject({ permissions: ['changes:rollback', 'config:edit', 'config:read'] });
    const demoted = await call('DELETE', `/v1/agents/${created.json<{ id: string }>().id}`, undefined, session);
    expect(demoted.statusCode, demoted.body).toBe(204);
  });
});
