import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashCredential, mintCredential } from '../access/secrets.js';
import { createServices } from '../services.js';
import { newId } from '../shared/ids.js';
import { defaultSettings } from '../shared/settings.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { buildApp } from './build-app.js';
import { agentRecord } from '../../test/support/principals.js';

interface EntityView {
  id: string;
  name: string;
  version: string;
  body: Record<string, unknown>;
}
interface WriteOutcome {
  entity: EntityView | null;
  changeId: string | null;
}

describe.each(engines)('production lock on %s', (engine) => {
  let t: TestApp;
  let editorId: string;
  let editorAuth: Record<string, string>;

  type Method = NonNullable<InjectOptions['method']>;
  const call = (method: Method, url: string, body?: unknown, headers: Record<string, string> = t.auth) =>
    t.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });

  async function create(type: string, body: Record<string, unknown>): Promise<WriteOutcome & { entity: EntityView }> {
    const res = await call('POST', `/v1/config/${type}`, body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  async function patchSettings(patch: Record<string, boolean>, headers = t.auth) {
    return call('PATCH', '/v1/settings', patch, headers);
  }

  /** Every table a tracked write touches, read raw. */
  async function trackedState(): Promise<string> {
    const db = t.database.dialect.db;
    return JSON.stringify({
      entities: await db.selectFrom('entities').selectAll().orderBy('id').execute(),
      refs: await db.selectFrom('entity_refs').selectAll().orderBy('from_id').orderBy('path').execute(),
      changes: await db.selectFrom('changes').selectAll().orderBy('seq').execute(),
      head: await db.selectFrom('change_log_head').selectAll().execute(),
    });
  }

  beforeAll(async () => {
    t = await createTestApp(engine);
    editorId = newId();
    const token = mintCredential('shp');
    await t.db.write(async (stores) => {
      await stores.agents.insert(agentRecord({ id: editorId, name: 'Config Editor', email: 'config-editor@example.com' }));
      await stores.tokens.insert({ id: newId(), agentId: editorId, tokenHash: hashCredential(token), label: 'test', createdAt: Date.now() });
    });
    await t.services.config.create(t.ctx, 'roles', { name: 'Config editors', configAccess: 'modify', agentIds: [editorId] });
    editorAuth = { authorization: `Bearer ${token}` };
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await t.services.settings.update(t.ctx, defaultSettings, { isAdministrator: true });
  });

  it('refuses every tracked write with 423 and leaves no change row and no entity change', async () => {
    const team = await create('teams', { name: 'Locked team' });
    const role = await create('roles', { name: 'Locked role', teamMemberships: [{ teamId: team.entity.id, access: 'read' }] });
    await patchSettings({ trackMailboxes: true });
    const mailbox = await create('mailboxes', { name: 'Locked mailbox', address: 'locked@example.com', type: 'imap' });
    expect(mailbox.changeId).not.toBeNull();
    expect((await patchSettings({ disableConfigEditing: true })).statusCode).toBe(200);
    const before = await trackedState();

    const attempts: [string, Method, string, unknown?, Record<string, string>?][] = [
      ['create team', 'POST', '/v1/config/teams', { name: 'New during lock' }],
      ['replace team', 'PUT', `/v1/config/teams/${team.entity.id}`, { name: 'Renamed during lock' }],
      ['replace team with If-Match', 'PUT', `/v1/config/teams/${team.entity.id}`, { name: 'Renamed during lock' }, { 'if-match': `"${team.entity.version}"` }],
      ['delete role', 'DELETE', `/v1/config/roles/${role.entity.id}`],
      ['replace role', 'PUT', `/v1/config/roles/${role.entity.id}`, { name: 'Locked role', configAccess: 'modify' }],
      ['create role', 'POST', '/v1/config/roles', { name: 'Sneaky administrators', configAccess: 'modify', agentIds: [editorId] }],
      ['create mailbox (tracked by setting)', 'POST', '/v1/config/mailboxes', { name: 'Another', address: 'another@example.com', type: 'imap' }],
      ['delete mailbox', 'DELETE', `/v1/config/mailboxes/${mailbox.entity.id}`],
      ['rollback', 'POST', `/v1/changes/${team.changeId}/rollback-before`],
      ['rollback preview', 'POST', `/v1/changes/${team.changeId}/rollback-before?dryRun=true`],
    ];
    for (const who of [t.auth, editorAuth]) {
      for (const [what, method, url, body, headers] of attempts) {
        const res = await call(method, url, body, { ...who, ...headers });
        expect(res.statusCode, `${what}: ${res.body}`).toBe(423);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json(), what).toMatchObject({ code: 'CONFIG_LOCKED', status: 423 });
        expect(res.headers['x-change-id']).toBeUndefined();
      }
    }
    // The lock covers config-tracked types even while change tracking itself is off.
    expect((await patchSettings({ configTracking: false })).statusCode).toBe(200);
    const untracked = await call('PUT', `/v1/config/teams/${team.entity.id}`, { name: 'Renamed untracked' });
    expect(untracked.statusCode, untracked.body).toBe(423);
    expect(await trackedState()).toBe(before);
    expect((await call('GET', `/v1/config/teams/${team.entity.id}`)).json<EntityView>().name).toBe('Locked team');
  });

  it('lets local types write, and types tracked only by a setting that is off', async () => {
    expect((await patchSettings({ disableConfigEditing: true })).statusCode).toBe(200);
    const changesBefore = await t.database.dialect.db.selectFrom('changes').select('id').execute();
    const rate = await call('POST', '/v1/config/tax-rates', { name: 'VAT' }, editorAuth);
    expect(rate.statusCode, rate.body).toBe(201);
    const id = rate.json<WriteOutcome>().entity!.id;
    expect((await call('PUT', `/v1/config/tax-rates/${id}`, { name: 'VAT 20%' })).statusCode).toBe(200);
    const mailbox = await call('POST', '/v1/config/mailboxes', { name: 'Untracked mailbox', address: 'untracked@example.com', type: 'imap' });
    expect(mailbox.statusCode, mailbox.body).toBe(201);
    expect(mailbox.json<WriteOutcome>().changeId).toBeNull();
    expect((await call('DELETE', `/v1/config/tax-rates/${id}`)).statusCode).toBe(200);
    expect(await t.database.dialect.db.selectFrom('changes').select('id').execute()).toEqual(changesBefore);
  });

  it('tells everyone editing is disabled, and shows administrators the banner', async () => {
    expect((await patchSettings({ disableConfigEditing: true }, editorAuth)).statusCode).toBe(200);
    const admin = (await call('GET', '/v1/instance')).json<{ editingDisabled: boolean; banners: { code: string; action: string | null }[] }>();
    expect(admin.editingDisabled).toBe(true);
    expect(admin.banners).toEqual([expect.objectContaining({ code: 'CONFIG_EDITING_DISABLED', action: expect.stringContaining('disableConfigEditing') })]);
    const editor = (await call('GET', '/v1/instance', undefined, editorAuth)).json<{ editingDisabled: boolean; banners: unknown[]; you: { isAdministrator: boolean } }>();
    expect(editor).toMatchObject({ editingDisabled: true, banners: [], you: { isAdministrator: false } });

    await patchSettings({ disableConfigEditing: false });
    expect((await call('GET', '/v1/instance')).json()).toMatchObject({ editingDisabled: false, banners: [] });
  });

  it('only an administrator lifts the lock; the lift is audited and lasts until someone turns the lock back on', async () => {
    expect((await patchSettings({ disableConfigEditing: true }, editorAuth)).statusCode).toBe(200);

    const lifts: Record<string, boolean>[] = [{ disableConfigEditing: false }, { trackServices: true, disableConfigEditing: false }];
    for (const patch of lifts) {
      const refused = await patchSettings(patch, editorAuth);
      expect(refused.statusCode, refused.body).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'FORBIDDEN' });
      const denials = await t.services.audit.list({ kind: 'access.denied', limit: 50 });
      expect(denials.some((e) => e.requestId === refused.headers['x-request-id'] && e.subject === 'lift production lock')).toBe(true);
    }
    // Nothing of a refused patch applies, not even the settings beside the lock.
    expect((await call('GET', '/v1/settings', undefined, editorAuth)).json()).toMatchObject({ disableConfigEditing: true, trackServices: false });
    expect((await call('POST', '/v1/config/teams', { name: 'Still locked' }, editorAuth)).statusCode).toBe(423);

    const lifted = await patchSettings({ disableConfigEditing: false });
    expect(lifted.statusCode, lifted.body).toBe(200);
    expect(lifted.json()).toMatchObject({ disableConfigEditing: false });
    const [event] = await t.services.audit.list({ kind: 'settings.lock-lifted', limit: 1 });
    expect(event).toMatchObject({ actor: { kind: 'agent', id: t.ctx.actor.id }, details: { setting: 'disableConfigEditing', from: true, to: false } });

    // Lifted: other settings changes, writes by anyone with config:edit, and a restart leave it lifted.
    expect((await patchSettings({ trackServices: true }, editorAuth)).json()).toMatchObject({ disableConfigEditing: false, trackServices: true });
    expect((await call('POST', '/v1/config/teams', { name: 'Emergency fix' }, editorAuth)).statusCode).toBe(201);
    const { id, name, kind, createdAt, version } = t.services.instance;
    const restarted = await buildApp(createServices(t.db, { instance: { id, name, kind, createdAt }, version, catalog: t.services.catalog, box: t.box, clock: t.services.clock }));
    try {
      const res = await restarted.app.inject({ method: 'POST', url: '/v1/config/teams', headers: editorAuth, payload: { name: 'After restart' } });
      expect(res.statusCode, res.body).toBe(201);
      expect((await restarted.app.inject({ method: 'GET', url: '/v1/instance', headers: t.auth })).json()).toMatchObject({ editingDisabled: false });
    } finally {
      await restarted.app.close();
    }

    // Turning it back on needs no administrator, and is audited too.
    expect((await patchSettings({ disableConfigEditing: true }, editorAuth)).statusCode).toBe(200);
    expect((await call('POST', '/v1/config/teams', { name: 'Locked again' }, editorAuth)).statusCode).toBe(423);
    const kinds = (await t.services.audit.list({ limit: 3 })).map((e) => [e.kind, e.actor?.id]);
    expect(kinds).toEqual([
      ['settings.lock-enabled', editorId],
      ['settings.changed', editorId],
      ['settings.lock-lifted', t.ctx.actor.id],
    ]);
  });
});
