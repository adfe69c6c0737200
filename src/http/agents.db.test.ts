import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../access/administrator-role.js';
import { verifyPassword } from '../access/passwords.js';
import { credentialPrefixes, hashCredential, mintCredential } from '../access/secrets.js';
import { newId } from '../shared/ids.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { sessionCookieName } from './plugins/auth.js';

interface AgentView {
  id: string;
  name: string;
  email: string;
  apiOnly: boolean;
  disabled: boolean;
  thirdPartyId: string | null;
  hasPassword: boolean;
  clientRestrictions: { allowAllCustomers: boolean; customerIds: string[] };
  coManagedCustomerId: string | null;
  customerGroupOverrideId: string | null;
  roles: { id: string; name: string }[];
  permissions: string[];
  isAdministrator: boolean;
}
interface OwnAgentView extends AgentView {
  ticketPermissions: string[];
  teamMemberships: { teamId: string; access: string }[];
  effective: { via: string; permissions: string[]; isAdministrator: boolean };
}
interface Problem {
  code: string;
  status: number;
  errors?: { path: string; code: string }[];
}
interface ChangeItem {
  id: string;
  seq: number;
  entityId: string;
  op: string;
  actor: { kind: string; id: string; name: string };
}

describe.each(engines)('/v1/agents on %s', (engine) => {
  let t: TestApp;
  const logs: string[] = [];
  // Every response body of the file, searched for secrets at the end.
  const seen: string[] = [];
  let unique = 0;
  const email = (label: string) => `${label}-${++unique}@example.test`;

  beforeAll(async () => {
    t = await createTestApp(engine, { logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } } });
  });
  afterAll(async () => t?.close());

  type Method = NonNullable<InjectOptions['method']>;
  async function call(method: Method, url: string, body?: unknown, headers: Record<string, string> = t.auth): Promise<LightMyRequestResponse> {
    const res = await t.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });
    seen.push(JSON.stringify(res.headers), res.body);
    return res;
  }

  async function createAgent(body: Record<string, unknown>): Promise<AgentView> {
    const res = await call('POST', '/v1/agents', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<AgentView>();
  }

  /** A personal API token for the agent, as an administrator would issue one. */
  async function tokenFor(agentId: string): Promise<Record<string, string>> {
    const token = mintCredential(credentialPrefixes.apiToken);
    await t.db.write((s) => s.tokens.insert({ id: newId(), agentId, tokenHash: hashCredential(token), label: 'test', createdAt: Date.now() }));
    return { authorization: `Bearer ${token}` };
  }

  async function createRole(name: string, body: Record<string, unknown> = {}): Promise<string> {
    const res = await call('POST', '/v1/config/roles', { name, ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ entity: { id: string } }>().entity.id;
  }

  const headSeq = () => t.db.read(async (s) => (await s.changes.head()).seq);

  async function createCustomer(name: string): Promise<string> {
    const res = await call('POST', '/v1/customers', { name });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  it('creates, reads, lists, updates and deletes an agent', async () => {
    const customer = await createCustomer('Field customer');
    const created = await call('POST', '/v1/agents', {
      name: 'Jamie Field',
      email: 'Jamie.Field@Example.test',
      thirdPartyId: 'HR-1001',
      clientRestrictions: { allowAllCustomers: false, customerIds: [customer] },
      coManagedCustomerId: customer,
    });
    expect(created.statusCode, created.body).toBe(201);
    const agent = created.json<AgentView>();
    expect(agent).toEqual({
      id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
      name: 'Jamie Field',
      email: 'jamie.field@example.test',
      apiOnly: false,
      disabled: false,
      thirdPartyId: 'HR-1001',
      hasPassword: false,
      clientRestrictions: { allowAllCustomers: false, customerIds: [customer] },
      coManagedCustomerId: customer,
      customerGroupOverrideId: null,
      roles: [],
      permissions: [],
      isAdministrator: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(created.headers.location).toBe(`/v1/agents/${agent.id}`);

    const read = await call('GET', String(created.headers.location));
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(agent);

    const found = await call('GET', '/v1/agents?q=JAMIE.field');
    expect(found.json<{ items: AgentView[] }>().items.map((a) => a.id)).toEqual([agent.id]);
    expect((await call('GET', '/v1/agents?q=hr-1001')).json<{ items: AgentView[] }>().items).toEqual([]);

    const patched = await call('PATCH', `/v1/agents/${agent.id}`, { name: 'Jamie F.', clientRestrictions: { allowAllCustomers: true } });
    expect(patched.statusCode, patched.body).toBe(200);
    // Only the fields sent change.
    expect(patched.json()).toMatchObject({ name: 'Jamie F.', email: 'jamie.field@example.test', thirdPartyId: 'HR-1001', coManagedCustomerId: customer, clientRestrictions: { allowAllCustomers: true, customerIds: [] } });
    const [updated] = await t.services.audit.list({ kind: 'agent.updated', limit: 1 });
    expect(updated).toMatchObject({ subject: agent.id, actor: { kind: 'agent', id: t.ctx.actor.id }, details: { fields: ['name', 'clientRestrictions'] } });

    const deleted = await call('DELETE', `/v1/agents/${agent.id}`);
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(deleted.body).toBe('');
    const gone = await call('GET', `/v1/agents/${agent.id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json<Problem>().code).toBe('AGENT_NOT_FOUND');
    expect((await call('PATCH', `/v1/agents/${agent.id}`, { name: 'x' })).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/agents/${agent.id}`)).statusCode).toBe(404);
  });

  it('answers 422 REFERENCE_NOT_FOUND at the field for customers this instance lacks, and writes nothing', async () => {
    const customer = await createCustomer('Referenced customer');
    const address = email('dangling');
    const refused = await call('POST', '/v1/agents', {
      name: 'Dangling',
      email: address,
      clientRestrictions: { allowAllCustomers: false, customerIds: [customer, 'no-such-customer'] },
      customerGroupOverrideId: 'no-such-group',
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json<Problem>()).toMatchObject({ code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'customerGroupOverrideId' }, { path: 'clientRestrictions.customerIds[1]' }] });
    expect((await call('GET', `/v1/agents?q=${address}`)).json<{ items: unknown[] }>().items).toEqual([]);
    const agent = await createAgent({ name: 'Referencing', email: email('referencing') });
    const patched = await call('PATCH', `/v1/agents/${agent.id}`, { coManagedCustomerId: 'no-such-customer' });
    expect(patched.json<Problem>()).toMatchObject({ status: 422, code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'coManagedCustomerId' }] });
    expect((await call('GET', `/v1/agents/${agent.id}`)).json<AgentView>().coManagedCustomerId).toBeNull();
  });

  it('pages the list with a cursor, every agent once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createAgent({ name: `Pager ${i}`, email: email('pager') })).id);
    const got: string[] = [];
    let url = '/v1/agents?limit=2&q=pager';
    for (;;) {
      const page = (await call('GET', url)).json<{ items: AgentView[]; nextCursor: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      got.push(...page.items.map((a) => a.id));
      if (!page.nextCursor) break;
      url = `/v1/agents?limit=2&q=pager&cursor=${page.nextCursor}`;
    }
    expect(got).toEqual(ids);
    expect((await call('GET', '/v1/agents?cursor=garbage')).json<Problem>().code).toBe('INVALID_CURSOR');
  });

  it('refuses a second agent with the same email in any case (409 EMAIL_TAKEN)', async () => {
    await createAgent({ name: 'First', email: 'twin@example.test' });
    const res = await call('POST', '/v1/agents', { name: 'Second', email: 'TWIN@example.TEST' });
    expect(res.statusCode).toBe(409);
    expect(res.json<Problem>()).toMatchObject({ code: 'EMAIL_TAKEN', errors: [{ path: 'email', code: 'email-taken' }] });
    expect((await call('GET', '/v1/agents?q=twin')).json<{ items: AgentView[] }>().items).toHaveLength(1);
  });

  it('stores passwords only as a verifiable hash and never shows them in responses, logs, audit or the change list', async () => {
    const first = 'first console password 1';
    const second = 'second console password 2';
    const role = await createRole('Password test role');
    const agent = await createAgent({ name: 'Secretive', email: email('pw'), password: first, roleIds: [role] });
    expect(agent.hasPassword).toBe(true);
    const hash1 = (await t.db.read((s) => s.agents.find(agent.id)))!.passwordHash!;
    expect(await verifyPassword(first, hash1)).toBe(true);

    const changed = await call('PATCH', `/v1/agents/${agent.id}`, { password: second });
    expect(changed.statusCode, changed.body).toBe(200);
    const hash2 = (await t.db.read((s) => s.agents.find(agent.id)))!.passwordHash!;
    expect(await verifyPassword(second, hash2)).toBe(true);
    expect(await verifyPassword(first, hash2)).toBe(false);
    const [event] = await t.services.audit.list({ kind: 'agent.password-changed', limit: 1 });
    expect(event).toMatchObject({ subject: agent.id, outcome: 'success' });

    const tooShort = await call('PATCH', `/v1/agents/${agent.id}`, { password: 'short-pw-9' });
    expect(tooShort.statusCode).toBe(400);
    expect(tooShort.json<Problem>().errors).toEqual([expect.objectContaining({ path: 'password', code: 'too-small' })]);
    expect(tooShort.body).not.toContain('short-pw-9');

    const cleared = await call('PATCH', `/v1/agents/${agent.id}`, { password: null });
    expect(cleared.json<AgentView>().hasPassword).toBe(false);
    expect((await t.db.read((s) => s.agents.find(agent.id)))!.passwordHash).toBeNull();

    await call('GET', `/v1/agents/${agent.id}`);
    await call('GET', '/v1/agents?limit=200');
    const roleChanges = await call('GET', `/v1/changes?entityId=${role}`);
    for (const change of roleChanges.json<{ items: ChangeItem[] }>().items) await call('GET', `/v1/changes/${change.id}`);
    const audit = JSON.stringify(await t.services.audit.list({ limit: 500 }));

    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [first, second, hash1, hash2]) {
      for (const text of seen) expect(text).not.toContain(secret);
      for (const line of logs) expect(line).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
  });

  it('records a role change with the caller as actor, and the agent’s rights change on its very next request', async () => {
    const readers = await createRole('Config readers', { configAccess: 'read', ticketPermissions: { addTickets: true } });
    const agent = await createAgent({ name: 'Rights', email: email('rights') });
    const asAgent = await tokenFor(agent.id);

    expect((await call('GET', '/v1/config/teams', undefined, asAgent)).statusCode).toBe(403);
    expect((await call('GET', '/v1/agents', undefined, asAgent)).statusCode).toBe(403);

    const before = await headSeq();
    const assigned = await call('PATCH', `/v1/agents/${agent.id}`, { roleIds: [readers] });
    expect(assigned.statusCode, assigned.body).toBe(200);
    expect(assigned.json<AgentView>()).toMatchObject({ roles: [{ id: readers, name: 'Config readers' }], permissions: ['config:read'], isAdministrator: false });

    const changes = (await call('GET', `/v1/changes?type=roles&entityId=${readers}`)).json<{ items: ChangeItem[] }>().items;
    const change = changes[0]!;
    expect(change.seq).toBe(before + 1);
    expect(change).toMatchObject({ op: 'update', entityId: readers, actor: { kind: 'agent', id: t.ctx.actor.id, name: t.ctx.actor.name } });
    const detail = (await call('GET', `/v1/changes/${change.id}`)).json<{ before: { agentIds: string[] }; after: { agentIds: string[] }; request: { path: string } }>();
    expect(detail.before.agentIds).toEqual([]);
    expect(detail.after.agentIds).toEqual([agent.id]);
    expect(detail.request.path).toBe(`/v1/agents/${agent.id}`);

    expect((await call('GET', '/v1/config/teams', undefined, asAgent)).statusCode).toBe(200);
    const me = (await call('GET', '/v1/agents/me', undefined, asAgent)).json<OwnAgentView>();
    expect(me).toMatchObject({ id: agent.id, roles: [{ id: readers }], permissions: ['config:read'], ticketPermissions: ['addTickets'], effective: { via: 'api-token', permissions: ['config:read'] } });

    // Made an administrator: managing agents is allowed on the next request.
    await call('PATCH', `/v1/agents/${agent.id}`, { roleIds: [readers, ADMINISTRATOR_ROLE_ID] });
    expect((await call('GET', '/v1/agents', undefined, asAgent)).statusCode).toBe(200);

    // Removing the roles takes effect at once, with the same token in hand.
    const removed = await call('PATCH', `/v1/agents/${agent.id}`, { roleIds: [] });
    expect(removed.json<AgentView>()).toMatchObject({ roles: [], permissions: [], isAdministrator: false });
    expect((await call('GET', '/v1/agents', undefined, asAgent)).statusCode).toBe(403);
    expect((await call('GET', '/v1/config/teams', undefined, asAgent)).statusCode).toBe(403);
    expect((await call('GET', '/v1/agents/me', undefined, asAgent)).json<OwnAgentView>().permissions).toEqual([]);

    const unknown = await call('PATCH', `/v1/agents/${agent.id}`, { roleIds: ['01JZZZZZZZZZZZZZZZZZZZZZZZ'] });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json<Problem>()).toMatchObject({ code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'roleIds[0]' }] });
  });

  it('disabling an agent ends its sessions and stops its tokens; enabling restores the tokens', async () => {
    const role = await createRole('Ticket readers', { ticketAccess: 'read' });
    const agent = await createAgent({ name: 'Leaver', email: email('leaver'), password: 'a password for the console', roleIds: [role] });
    const asAgent = await tokenFor(agent.id);
    const cookie = `${credentialPrefixes.session}_${newId()}`;
    const now = Date.now();
    await t.db.write((s) => s.sessions.insert({ tokenHash: hashCredential(cookie), agentId: agent.id, csrfHash: hashCredential('csrf'), createdAt: now, expiresAt: now + 3_600_000 }));
    const bySession = { cookie: `${sessionCookieName(t.services.instance.id)}=${cookie}` };
    expect((await call('GET', '/v1/agents/me', undefined, bySession)).json<OwnAgentView>().effective.via).toBe('session');

    const disabled = await call('PATCH', `/v1/agents/${agent.id}`, { disabled: true });
    expect(disabled.json<AgentView>()).toMatchObject({ disabled: true, permissions: [], roles: [{ id: role }] });
    expect(await t.db.read((s) => s.sessions.find(hashCredential(cookie)))).toBeUndefined();
    expect((await call('GET', '/v1/agents/me', undefined, bySession)).statusCode).toBe(401);
    expect((await call('GET', '/v1/agents/me', undefined, asAgent)).statusCode).toBe(401);
    expect((await t.services.audit.list({ kind: 'agent.disabled', limit: 1 }))[0]).toMatchObject({ subject: agent.id });

    await call('PATCH', `/v1/agents/${agent.id}`, { disabled: false });
    expect((await call('GET', '/v1/agents/me', undefined, asAgent)).json<OwnAgentView>().permissions).toEqual(['tickets:read']);
    expect((await t.services.audit.list({ kind: 'agent.enabled', limit: 1 }))[0]).toMatchObject({ subject: agent.id });
  });

  it('keeps one enabled administrator: the last one cannot be disabled, deleted or stripped of the role', async () => {
    const adminId = t.ctx.actor.id;
    const seq = await headSeq();
    for (const [method, body] of [
      ['PATCH', { disabled: true }],
      ['PATCH', { roleIds: [] }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(method, `/v1/agents/${adminId}`, body);
      expect(res.statusCode, `${method} ${JSON.stringify(body)}`).toBe(409);
      expect(res.json<Problem>().code).toBe('ADMINISTRATOR_PROTECTED');
    }
    expect(await headSeq()).toBe(seq);
    const admin = (await call('GET', `/v1/agents/${adminId}`)).json<AgentView>();
    expect(admin).toMatchObject({ disabled: false, isAdministrator: true, roles: [{ id: ADMINISTRATOR_ROLE_ID, name: 'Administrator' }] });

    // With a second enabled administrator, the first may step down; the second is then protected.
    const deputy = await createAgent({ name: 'Deputy admin', email: email('deputy'), roleIds: [ADMINISTRATOR_ROLE_ID] });
    const asDeputy = await tokenFor(deputy.id);
    expect((await call('PATCH', `/v1/agents/${adminId}`, { disabled: true }, asDeputy)).statusCode).toBe(200);
    expect((await call('PATCH', `/v1/agents/${deputy.id}`, { disabled: true }, asDeputy)).json<Problem>().code).toBe('ADMINISTRATOR_PROTECTED');
    expect((await call('DELETE', `/v1/agents/${deputy.id}`, undefined, asDeputy)).json<Problem>().code).toBe('ADMINISTRATOR_PROTECTED');
    expect((await call('PATCH', `/v1/agents/${adminId}`, { disabled: false }, asDeputy)).statusCode).toBe(200);
    expect((await call('DELETE', `/v1/agents/${deputy.id}`)).statusCode).toBe(204);
  });

  it('refuses to delete an agent an API application logs in as (409 AGENT_IN_USE)', async () => {
    const agent = await createAgent({ name: 'Integration agent', email: email('integration'), apiOnly: true });
    const appId = newId();
    await t.db.write((s) =>
      s.applications.insert({ id: appId, name: 'Scanner', clientId: `c-${appId}`, secretHash: hashCredential('s'), agentId: agent.id, permissions: ['tickets:read'], enabled: true, createdAt: 0, updatedAt: 0, secretRotatedAt: 0 }),
    );
    const res = await call('DELETE', `/v1/agents/${agent.id}`);
    expect(res.statusCode).toBe(409);
    expect(res.json<Problem>().code).toBe('AGENT_IN_USE');
    expect((await call('GET', `/v1/agents/${agent.id}`)).statusCode).toBe(200);
  });

  it('refuses unknown and privileged fields (mass assignment) and changes nothing', async () => {
    const seq = await headSeq();
    const created = await call('POST', '/v1/agents', {
      name: 'Sneaky',
      email: 'sneaky@example.test',
      id: '01JAAAAAAAAAAAAAAAAAAAAAAA',
      createdAt: 0,
      passwordHash: 'scrypt$1$1$1$x$y',
      isAdministrator: true,
    });
    expect(created.statusCode).toBe(400);
    const paths = created.json<Problem>().errors!.filter((e) => e.code === 'unknown-field').map((e) => e.path).sort();
    expect(paths).toEqual(['createdAt', 'id', 'isAdministrator', 'passwordHash']);
    expect(await t.db.read((s) => s.agents.findByEmail('sneaky@example.test'))).toBeUndefined();

    const agent = await createAgent({ name: 'Plain', email: email('plain') });
    const afterCreate = await headSeq();
    expect(afterCreate).toBe(seq);
    const patched = await call('PATCH', `/v1/agents/${agent.id}`, { name: 'Promoted', isAdministrator: true, hasPassword: true, roles: [{ id: ADMINISTRATOR_ROLE_ID }], passwordHash: 'x' });
    expect(patched.statusCode).toBe(400);
    expect(patched.json<Problem>().errors!.map((e) => e.path).sort()).toEqual(['hasPassword', 'isAdministrator', 'passwordHash', 'roles']);
    const now = (await call('GET', `/v1/agents/${agent.id}`)).json<AgentView>();
    expect(now).toMatchObject({ name: 'Plain', isAdministrator: false, roles: [], hasPassword: false });
    expect(await headSeq()).toBe(afterCreate);
  });

  it('applies co-managed visibility to an administrator with a customer group', async () => {
    const group = await createCustomer('Managed service provider');
    const inside = await createAgent({ name: 'Group agent', email: email('group'), customerGroupOverrideId: group });
    const outside = await createAgent({ name: 'Group outsider', email: email('group') });
    const groupAdmin = await createAgent({ name: 'Group admin', email: email('group'), customerGroupOverrideId: group, roleIds: [ADMINISTRATOR_ROLE_ID] });
    const asGroupAdmin = await tokenFor(groupAdmin.id);
    const listed = (await call('GET', '/v1/agents?q=group&limit=200', undefined, asGroupAdmin)).json<{ items: AgentView[] }>().items.map((a) => a.id);
    expect(listed).toEqual([inside.id, groupAdmin.id]);
    const hidden = await call('GET', `/v1/agents/${outside.id}`, undefined, asGroupAdmin);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json<Problem>().code).toBe('AGENT_NOT_FOUND');
    expect((await call('GET', `/v1/agents/${outside.id}`)).statusCode).toBe(200);
    await call('PATCH', `/v1/agents/${groupAdmin.id}`, { roleIds: [] });
  });

  it('answers 401 without credentials and 403 without access:manage on every /v1/agents route; /me needs only sign-in', async () => {
    const routes = t.routeTable.filter((r) => r.url.startsWith('/v1/agents'));
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /v1/agents/:id',
      'GET /v1/agents',
      'GET /v1/agents/:id',
      'GET /v1/agents/:id/rights',
      'GET /v1/agents/me',
      'GET /v1/agents/me/rights',
      'PATCH /v1/agents/:id',
      'POST /v1/agents',
    ]);
    const role = await createRole('Everything but access', { configAccess: 'modify', canPushConfig: true, ticketAccess: 'modify', customerAccess: 'modify', userAccess: 'modify', assetAccess: 'modify' });
    const agent = await createAgent({ name: 'Powerful but not admin', email: email('nonadmin'), roleIds: [role] });
    const asAgent = await tokenFor(agent.id);
    const target = await createAgent({ name: 'Target', email: email('target') });
    const seq = await headSeq();
    for (const route of routes) {
      const url = route.url.replace(':id', target.id);
      const body = ['POST', 'PATCH'].includes(route.method) ? { name: 'Hijacked', email: 'hijack@example.test' } : undefined;
      const anonymous = await call(route.method as Method, url, body, {});
      expect(anonymous.statusCode, `${route.method} ${route.url}`).toBe(401);
      const limited = await call(route.method as Method, url, body, asAgent);
      expect(limited.statusCode, `${route.method} ${route.url}`).toBe(route.permission === 'authenticated' ? 200 : 403);
      expect(route.permission).toBe(route.url.startsWith('/v1/agents/me') ? 'authenticated' : 'access:manage');
    }
    expect((await call('GET', `/v1/agents/${target.id}`)).json<AgentView>().name).toBe('Target');
    expect(await t.db.read((s) => s.agents.findByEmail('hijack@example.test'))).toBeUndefined();
    expect(await headSeq()).toBe(seq);
  });
});
