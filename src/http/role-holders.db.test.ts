import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../access/administrator-role.js';
import { permissions } from '../access/permissions.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { bearer, createAgent, createApplication, createTeam, issueAccessToken, type TestAgent } from '../../test/support/principals.js';

interface Problem {
  code: string;
  detail: string;
  requestId: string;
  role?: { id: string; name: string };
  missing?: string[];
}

/**
 * Who holds a role is access management, never plain configuration: an agent that may edit configuration cannot make
 * itself (or anyone) hold a role, or widen a role that is held, through /v1/config or a rollback.
 */
describe.each(engines)('role holders through configuration on %s', (engine) => {
  let t: TestApp;
  let editor: TestAgent;
  let editorsRole: string;

  beforeAll(async () => {
    t = await createTestApp(engine);
    editor = await createAgent(t, { name: 'Config editor', thirdPartyId: 'EMP-EDITOR', roles: [{ name: 'Editors', configAccess: 'modify' }] });
    editorsRole = editor.roleIds[0]!;
  });
  afterAll(async () => t?.close());

  type Method = NonNullable<InjectOptions['method']>;
  const call = (method: Method, url: string, body?: unknown, headers: Record<string, string> = t.auth): Promise<LightMyRequestResponse> =>
    t.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });
  const asEditor = (method: Method, url: string, body?: unknown) => call(method, url, body, editor.headers);
  const role = async (id: string) => (await call('GET', `/v1/config/roles/${id}`)).json<{ body: Record<string, unknown> }>().body;
  const head = () => t.db.read((stores) => stores.changes.head());
  const myPermissions = async (headers: Record<string, string>) => (await call('GET', '/v1/agents/me', undefined, headers)).json<{ permissions: string[]; isAdministrator: boolean }>();
  const setThirdPartyIds = async (on: boolean) => expect((await call('PATCH', '/v1/settings', { useThirdPartyIds: on })).statusCode).toBe(200);

  /** The request is refused as forbidden, changes nothing, and is audited as a permission denial. */
  async function refused(res: Promise<LightMyRequestResponse>): Promise<Problem> {
    const before = await head();
    const answer = await res;
    expect(answer.statusCode, answer.body).toBe(403);
    const problem = answer.json<Problem>();
    expect(problem.code).toBe('FORBIDDEN');
    expect(await head()).toEqual(before);
    const denials = await t.services.audit.list({ kind: 'access.denied', limit: 1000 });
    expect(denials.filter((e) => e.requestId === problem.requestId)).toEqual([expect.objectContaining({ outcome: 'denied', actor: expect.objectContaining({ id: expect.any(String) }) })]);
    return problem;
  }

  it('refuses an editor adding itself to the Administrator role by id', async () => {
    const admin = await role(ADMINISTRATOR_ROLE_ID);
    const problem = await refused(asEditor('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...admin, agentIds: [...(admin.agentIds as string[]), editor.agent.id] }));
    expect(problem.detail).toContain('Administrator role');
    expect(await role(ADMINISTRATOR_ROLE_ID)).toEqual(admin);
    expect((await myPermissions(editor.headers)).isAdministrator).toBe(false);
  });

  it('refuses it by third-party id with linking by third-party id on', async () => {
    await setThirdPartyIds(true);
    try {
      const admin = await role(ADMINISTRATOR_ROLE_ID);
      await refused(asEditor('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...admin, agentThirdPartyIds: ['EMP-EDITOR'] }));
      const editors = await role(editorsRole);
      await refused(asEditor('PUT', `/v1/config/roles/${editorsRole}`, { ...editors, agentIds: [], agentThirdPartyIds: ['EMP-EDITOR'] }));
      expect((await myPermissions(editor.headers)).isAdministrator).toBe(false);
    } finally {
      await setThirdPartyIds(false);
    }
  });

  it('refuses a new role that holds the editor and grants what it lacks, by id or by third-party id', async () => {
    const wide = { name: 'Everything', configAccess: 'modify', canPushConfig: true, ticketAccess: 'modify', customerAccess: 'modify' };
    const problem = await refused(asEditor('POST', '/v1/config/roles', { ...wide, agentIds: [editor.agent.id] }));
    expect(problem.missing).toEqual(expect.arrayContaining(['access:manage', 'config:push', 'tickets:edit', 'customers:edit']));
    await refused(asEditor('POST', '/v1/config/roles', { ...wide, agentThirdPartyIds: ['EMP-EDITOR'] }));
    // Even a role granting nothing new: who holds a role is access management.
    await refused(asEditor('POST', '/v1/config/roles', { name: 'Same again', configAccess: 'modify', agentIds: [editor.agent.id] }));
    expect((await myPermissions(editor.headers)).permissions).toEqual(['changes:rollback', 'config:edit', 'config:read']);
  });

  it('refuses widening a role the editor holds: a permission, a ticket permission, a team, a looser restriction', async () => {
    const editors = await role(editorsRole);
    const team = await createTeam(t, { name: 'Second line' });
    const widenings: Record<string, unknown>[] = [
      { ticketAccess: 'read' },
      { canPushConfig: true },
      { ticketPermissions: { ...(editors.ticketPermissions as object), exportTickets: true } },
      { teamMemberships: [{ teamId: team, access: 'read' }] },
    ];
    for (const widening of widenings) {
      const problem = await refused(asEditor('PUT', `/v1/config/roles/${editorsRole}`, { ...editors, ...widening }));
      expect(problem.role).toEqual({ id: editorsRole, name: 'Editors' });
    }
    expect(await role(editorsRole)).toEqual(editors);
  });

  it('still lets an editor describe a role, narrow one, and create roles nobody holds', async () => {
    const editors = await role(editorsRole);
    const described = await asEditor('PUT', `/v1/config/roles/${editorsRole}`, { ...editors, description: 'People who edit configuration.' });
    expect(described.statusCode, described.body).toBe(200);
    const created = await asEditor('POST', '/v1/config/roles', { name: 'Future admins', configAccess: 'modify', canPushConfig: true, ticketAccess: 'modify' });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ entity: { id: string } }>().entity.id;
    const narrowed = await asEditor('PUT', `/v1/config/roles/${id}`, { ...(await role(id)), ticketAccess: 'read' });
    expect(narrowed.statusCode, narrowed.body).toBe(200);
  });

  it('refuses a rollback to a state where the editor held more: a role it was taken out of, a role that was narrowed', async () => {
    const support = await call('POST', '/v1/config/roles', { name: 'Support', ticketAccess: 'modify', agentIds: [editor.agent.id] });
    expect(support.statusCode, support.body).toBe(201);
    const supportId = support.json<{ entity: { id: string } }>().entity.id;
    const removed = await call('PUT', `/v1/config/roles/${supportId}`, { ...(await role(supportId)), agentIds: [] });
    const removal = removed.json<{ changeId: string }>().changeId;

    const dryRun = await asEditor('POST', `/v1/changes/${removal}/rollback-before?dryRun=true`);
    expect(dryRun.statusCode, dryRun.body).toBe(403);
    await refused(asEditor('POST', `/v1/changes/${removal}/rollback-before`));
    expect((await role(supportId)).agentIds).toEqual([]);

    const editors = await role(editorsRole);
    const widened = await call('PUT', `/v1/config/roles/${editorsRole}`, { ...editors, assetAccess: 'read' });
    expect(widened.statusCode, widened.body).toBe(200);
    const narrowed = await call('PUT', `/v1/config/roles/${editorsRole}`, { ...editors, assetAccess: 'none' });
    const problem = await refused(asEditor('POST', `/v1/changes/${narrowed.json<{ changeId: string }>().changeId}/rollback-before`));
    expect(problem.missing).toEqual(expect.arrayContaining(['access:manage', 'assets:read']));
    expect((await myPermissions(editor.headers)).permissions).not.toContain('assets:read');
  });

  it('never lets an application change who administers, even one with every permission acting as an administrator', async () => {
    const { application } = await createApplication(t, { agentId: t.ctx.actor.id, permissions });
    const token = bearer(await issueAccessToken(t, application));
    const admin = await role(ADMINISTRATOR_ROLE_ID);
    await refused(call('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...admin, agentIds: [...(admin.agentIds as string[]), editor.agent.id] }, token));
    // What it holds, it may grant: a role that gives config modify to the editor.
    const granted = await call('POST', '/v1/config/roles', { name: 'Granted by the integration', configAccess: 'modify', agentIds: [editor.agent.id] }, token);
    expect(granted.statusCode, granted.body).toBe(201);
  });

  it('treats single sign-on connections as access management: neither an editor nor an application changes them', async () => {
    const connection = { name: 'Our own login', protocol: 'oidc', issuer: 'https://idp.example.test', clientId: 'shiplog', instances: ['dev'] };
    await refused(asEditor('POST', '/v1/config/sso-connections', connection));
    const { application } = await createApplication(t, { agentId: t.ctx.actor.id, permissions });
    await refused(call('POST', '/v1/config/sso-connections', connection, bearer(await issueAccessToken(t, application))));
    const created = await call('POST', '/v1/config/sso-connections', connection);
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ entity: { id: string } }>().entity.id;
    await refused(asEditor('PUT', `/v1/config/sso-connections/${id}`, { ...connection, matchAgentBy: 'third-party-id' }));
    await refused(asEditor('DELETE', `/v1/config/sso-connections/${id}`));
  });

  it("lets the instance's administrator do all of it with its own API token", async () => {
    const admin = await role(ADMINISTRATOR_ROLE_ID);
    const promoted = await call('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...admin, agentIds: [...(admin.agentIds as string[]), editor.agent.id] });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect((await myPermissions(editor.headers)).isAdministrator).toBe(true);
    const demoted = await call('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, admin);
    expect(demoted.statusCode, demoted.body).toBe(200);
    expect((await myPermissions(editor.headers)).isAdministrator).toBe(false);
  });
});
