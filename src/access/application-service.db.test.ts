import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { AgentRecord } from '../store/ports.js';
import { hashCredential } from './secrets.js';
import type { TokenRequest } from './token-service.js';
import { insertAgent } from '../../test/support/principals.js';

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the call to be refused');
}

describe.each(engines)('API applications on %s', (engine) => {
  let t: TestInstance;
  let agentId: string;

  function addAgent(name: string, disabled = false): Promise<AgentRecord> {
    const now = Date.now();
    return insertAgent(t, { name, email: `${name.toLowerCase().replace(/\W+/g, '-')}-${now}@example.test`, apiOnly: true, disabled }, now);
  }

  const tokenRequest = (clientId: string, clientSecret: string): TokenRequest => ({
    params: new Map([
      ['grant_type', ['client_credentials']],
      ['client_id', [clientId]],
      ['client_secret', [clientSecret]],
    ]),
    basic: null,
    origin: { remoteAddress: '192.0.2.10', requestId: 'test' },
  });
  const tokensOf = (applicationId: string) => t.database.dialect.db.selectFrom('access_tokens').selectAll().where('application_id', '=', applicationId).execute();
  const auditOf = async (kind: string) => t.services.audit.list({ kind, limit: 50 });

  beforeAll(async () => {
    t = await createTestInstance(engine);
    agentId = (await addAgent('Integration')).id;
    await t.services.config.create(t.ctx, 'roles', { name: 'Integration', ticketAccess: 'modify', customerAccess: 'read', agentIds: [agentId] });
  });
  afterAll(async () => t?.close());

  it('creates an application with a generated client id and a secret shown once, stored only as a hash', async () => {
    const { application, clientSecret } = await t.services.applications.create(
      t.ctx,
      { name: 'Scanner', agentId, permissions: ['tickets:edit', 'tickets:read', 'customers:read', 'tickets:read'] },
    );
    expect(application).toMatchObject({
      name: 'Scanner',
      authenticationMethod: 'client-id-and-secret',
      loginType: 'agent',
      agentId,
      permissions: ['tickets:read', 'tickets:edit', 'customers:read'],
      enabled: true,
    });
    expect(application.clientId).toMatch(/^app_[0-9a-f]{24}$/);
    expect(clientSecret).toMatch(/^scs_[\w-]{43}$/);
    expect(JSON.stringify(application)).not.toContain(clientSecret);
    expect(await t.services.applications.get(application.id)).toEqual(application);

    const stored = await t.db.read((stores) => stores.applications.find(application.id));
    expect(stored!.secretHash).toBe(hashCredential(clientSecret));
    expect(JSON.stringify(stored)).not.toContain(clientSecret);

    const [created] = await auditOf('application.created');
    expect(created).toMatchObject({ outcome: 'success', actor: t.ctx.actor, details: { clientId: application.clientId, applicationId: application.id, agentId } });
    expect(JSON.stringify(created)).not.toContain(clientSecret);

    const second = await t.services.applications.create(t.ctx, { name: 'Scanner', agentId });
    expect(second.application.clientId).not.toBe(application.clientId);
    expect(second.clientSecret).not.toBe(clientSecret);
    expect(second.application.permissions).toEqual([]);
  });

  it('refuses unknown permissions, agents that do not exist or are disabled, and fields it generates itself', async () => {
    const before = await t.services.applications.list({ limit: 200 });
    const unknown = await refusal(t.services.applications.create(t.ctx, { name: 'Bad', agentId, permissions: ['tickets:read', 'tickets:delete'] }));
    expect(unknown.code).toBe('VALIDATION_FAILED');
    expect(unknown.details.errors?.map((e) => e.path)).toEqual(['permissions[1]']);

    const missing = await refusal(t.services.applications.create(t.ctx, { name: 'Bad', agentId: newId() }));
    expect(missing.code).toBe('REFERENCE_NOT_FOUND');
    expect(missing.details.errors?.map((e) => e.path)).toEqual(['agentId']);

    const disabled = await addAgent('Disabled', true);
    const off = await refusal(t.services.applications.create(t.ctx, { name: 'Bad', agentId: disabled.id }));
    expect(off.code).toBe('VALIDATION_FAILED');
    expect(off.details.errors).toEqual([expect.objectContaining({ path: 'agentId', code: 'agent-disabled' })]);

    const assigned = await refusal(
      t.services.applications.create(t.ctx, { name: 'Bad', agentId, clientId: 'app_mine', clientSecret: 'scs_mine', secretHash: 'x', id: newId() }),
    );
    expect(assigned.code).toBe('VALIDATION_FAILED');
    expect(assigned.details.errors?.map((e) => `${e.path}:${e.code}`).sort()).toEqual(['clientId:unknown-field', 'clientSecret:unknown-field', 'id:unknown-field', 'secretHash:unknown-field']);

    const wrongKind = await refusal(t.services.applications.create(t.ctx, { name: 'Bad', agentId, loginType: 'user', authenticationMethod: 'password' }));
    expect(wrongKind.details.errors?.map((e) => e.path).sort()).toEqual(['authenticationMethod', 'loginType']);

    expect(await t.services.applications.list({ limit: 200 })).toEqual(before);
  });

  it('never grants a permission the caller does not hold', async () => {
    const caller: WriteContext = { ...t.ctx, authority: { permissions: new Set(['access:manage', 'tickets:read']), ticketPermissions: new Set(), isAdministrator: false, viaApplication: true } };
    const refused = await refusal(t.services.applications.create(caller, { name: 'Escalation', agentId, permissions: ['tickets:read', 'config:push'] }));
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.details.errors).toEqual([expect.objectContaining({ path: 'permissions[1]', code: 'not-held' })]);
    expect((await t.services.applications.list({ limit: 200, q: 'Escalation' })).items).toEqual([]);

    const { application } = await t.services.applications.create(t.ctx, { name: 'Held', agentId, permissions: ['tickets:read', 'config:push'] });
    // Keeping a permission the application already has is not a new grant.
    const kept = await t.services.applications.update(caller, application.id, { permissions: ['config:push'] });
    expect(kept.permissions).toEqual(['config:push']);
    const regrant = await refusal(t.services.applications.update(caller, application.id, { permissions: ['config:push', 'config:edit'] }));
    expect(regrant.code).toBe('FORBIDDEN');
    expect(regrant.details.errors?.map((e) => e.path)).toEqual(['permissions[1]']);
  });

  it('lists a page at a time with a cursor and filters by name', async () => {
    for (let i = 0; i < 3; i++) await t.services.applications.create(t.ctx, { name: `Paged app ${i}`, agentId });
    const first = await t.services.applications.list({ limit: 2, q: 'paged app' });
    expect(first.items.map((a) => a.name)).toEqual(['Paged app 0', 'Paged app 1']);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await t.services.applications.list({ limit: 2, q: 'paged app', cursor: first.nextCursor! });
    expect(second.items.map((a) => a.name)).toEqual(['Paged app 2']);
    expect(second.nextCursor).toBeNull();
    expect((await refusal(t.services.applications.list({ limit: 2, cursor: 'nonsense' }))).code).toBe('INVALID_CURSOR');
  });

  it('updates, disables and re-enables, auditing each and revoking tokens when disabled or moved to another agent', async () => {
    const { application, clientSecret } = await t.services.applications.create(t.ctx, { name: 'Lifecycle', agentId, permissions: ['tickets:read'] });
    const id = application.id;
    await t.services.accessTokens.issue(tokenRequest(application.clientId, clientSecret));
    expect(await tokensOf(id)).toHaveLength(1);

    const renamed = await t.services.applications.update(t.ctx, id, { name: 'Lifecycle 2', permissions: ['tickets:read', 'tickets:edit'] });
    expect(renamed).toMatchObject({ name: 'Lifecycle 2', permissions: ['tickets:read', 'tickets:edit'], enabled: true });
    expect(await tokensOf(id)).toHaveLength(1);
    const [updated] = await auditOf('application.updated');
    expect(updated!.details).toMatchObject({ applicationId: id, changed: ['name', 'permissions'], before: { name: 'Lifecycle' }, after: { name: 'Lifecycle 2' }, tokensRevoked: false });

    const unchanged = await t.services.applications.update(t.ctx, id, { name: 'Lifecycle 2' });
    expect(unchanged.updatedAt).toBe(renamed.updatedAt);
    expect((await auditOf('application.updated'))[0]!.id).toBe(updated!.id);

    const disabled = await t.services.applications.update(t.ctx, id, { enabled: false });
    expect(disabled.enabled).toBe(false);
    expect(await tokensOf(id)).toEqual([]);
    expect((await auditOf('application.disabled'))[0]).toMatchObject({ subject: `Lifecycle 2 (${application.clientId})`, details: { applicationId: id, tokensRevoked: true } });

    await t.services.applications.update(t.ctx, id, { enabled: true });
    expect((await auditOf('application.enabled'))[0]!.details).toMatchObject({ applicationId: id });
    await t.services.accessTokens.issue(tokenRequest(application.clientId, clientSecret));
    expect(await tokensOf(id)).toHaveLength(1);

    const other = await addAgent('Other integration');
    const moved = await t.services.applications.update(t.ctx, id, { agentId: other.id });
    expect(moved.agentId).toBe(other.id);
    expect(await tokensOf(id)).toEqual([]);

    const gone = await refusal(t.services.applications.update(t.ctx, id, { agentId: newId() }));
    expect(gone.code).toBe('REFERENCE_NOT_FOUND');
    expect((await t.services.applications.get(id)).agentId).toBe(other.id);
    expect((await refusal(t.services.applications.update(t.ctx, newId(), { name: 'x' }))).code).toBe('APPLICATION_NOT_FOUND');
  });

  it('rotates the secret: the new one is shown once, the old hash is replaced and every token is revoked', async () => {
    const { application, clientSecret } = await t.services.applications.create(t.ctx, { name: 'Rotating', agentId, permissions: ['tickets:read'] });
    await t.services.accessTokens.issue(tokenRequest(application.clientId, clientSecret));
    await t.services.accessTokens.issue(tokenRequest(application.clientId, clientSecret));
    expect(await tokensOf(application.id)).toHaveLength(2);

    const rotated = await t.services.applications.rotateSecret(t.ctx, application.id);
    expect(rotated.clientSecret).toMatch(/^scs_/);
    expect(rotated.clientSecret).not.toBe(clientSecret);
    expect(rotated.application.clientId).toBe(application.clientId);
    const stored = await t.db.read((stores) => stores.applications.find(application.id));
    expect(stored!.secretHash).toBe(hashCredential(rotated.clientSecret));
    expect(await tokensOf(application.id)).toEqual([]);

    const [event] = await auditOf('application.secret-rotated');
    expect(event).toMatchObject({ outcome: 'success', details: { applicationId: application.id, clientId: application.clientId, tokensRevoked: true } });
    expect(JSON.stringify(event)).not.toContain(rotated.clientSecret);
    expect(JSON.stringify(event)).not.toContain(clientSecret);

    expect((await refusal(t.services.accessTokens.issue(tokenRequest(application.clientId, clientSecret)))).code).toBe('OAUTH_INVALID_CLIENT');
    await t.services.accessTokens.issue(tokenRequest(application.clientId, rotated.clientSecret));
  });

  it('deletes an application with its tokens', async () => {
    const { application, clientSecret } = await t.services.applications.create(t.ctx, { name: 'Doomed', agentId, permissions: ['tickets:read'] });
    await t.services.accessTokens.issue(tokenRequest(application.clientId, clientSecret));
    await t.services.applications.remove(t.ctx, application.id);
    expect((await refusal(t.services.applications.get(application.id))).code).toBe('APPLICATION_NOT_FOUND');
    expect(await tokensOf(application.id)).toEqual([]);
    expect((await auditOf('application.deleted'))[0]).toMatchObject({ details: { applicationId: application.id, clientId: application.clientId, tokensRevoked: true } });
    expect((await refusal(t.services.applications.remove(t.ctx, application.id))).code).toBe('APPLICATION_NOT_FOUND');
  });
});
