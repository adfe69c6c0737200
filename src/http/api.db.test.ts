import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { permissions } from '../access/permissions.js';
import { defaultSettings } from '../shared/settings.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';

interface EntityView {
  id: string;
  type: string;
  name: string;
  head: string | null;
  version: string;
  body: Record<string, unknown>;
}
interface WriteOutcome {
  entity: EntityView | null;
  changeId: string | null;
}
interface ChangeItem {
  seq: number;
  id: string;
  type: string;
  entityId: string;
  entityName: string;
  op: 'create' | 'update' | 'delete';
  parent: string | null;
  changeSet: string | null;
  revertOf: string | null;
  actor: { kind: string; id: string; name: string };
}
interface ChangeDetail extends ChangeItem {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  diff: { path: string; before: unknown; after: unknown }[];
  request: { method: string; path: string; requestId: string } | null;
  rollbackScript: { op: string; entityId: string; body: Record<string, unknown> | null }[];
  dependents: { items: ChangeItem[]; more: boolean };
}
interface RollbackResult {
  target: string;
  dryRun: boolean;
  reverted: { changeId: string; op: string; revertOp: string; revertedBy: string | null; entityId: string }[];
  entities: { type: string; id: string; name: string; state: Record<string, unknown> | null }[];
  counts: { changes: number; entities: number; written: number };
}
interface CatalogEntry {
  key: string;
  tracking: { kind: string; setting?: string };
  references: { path: string; target: string; thirdParty: boolean }[];
  sensitive: string[];
  schema: { type?: string; properties?: Record<string, { type?: string; items?: unknown }>; required?: string[] };
}

describe.each(engines)('HTTP API on %s', (engine) => {
  // One instance per engine keeps the file fast; tests look only at what they wrote, and settings are reset after each.
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(async () => t?.close());
  afterEach(async () => {
    await t.services.settings.update(t.ctx, defaultSettings, { isAdministrator: true });
  });

  type Method = NonNullable<InjectOptions['method']>;
  const call = (method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method, url, headers: { ...t.auth, ...headers }, ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }) });

  async function changes(query = ''): Promise<ChangeItem[]> {
    const res = await call('GET', `/v1/changes${query}${query ? '&' : '?'}limit=200`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: ChangeItem[] }>().items;
  }

  async function createTeam(name: string, headers: Record<string, string> = {}): Promise<WriteOutcome & { entity: EntityView }> {
    const res = await call('POST', '/v1/config/teams', { name }, headers);
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  it('creates, reads, lists, replaces and deletes a team with the headers a client needs', async () => {
    const created = await call('POST', '/v1/config/teams', { name: 'Service Desk', description: 'First line' });
    expect(created.statusCode, created.body).toBe(201);
    const outcome = created.json<WriteOutcome>();
    const team = outcome.entity!;
    expect(team).toMatchObject({ type: 'teams', name: 'Service Desk', body: { name: 'Service Desk', description: 'First line', isCoManaged: false } });
    expect(team.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created.headers.location).toBe(`/v1/config/teams/${team.id}`);
    expect(created.headers.etag).toBe(`"${team.version}"`);
    expect(outcome.changeId).toEqual(expect.any(String));
    expect(created.headers['x-change-id']).toBe(outcome.changeId);
    expect(team.head).toBe(outcome.changeId);

    const read = await call('GET', String(created.headers.location));
    expect(read.statusCode).toBe(200);
    expect(read.json<EntityView>()).toEqual(team);
    expect(read.headers.etag).toBe(created.headers.etag);

    const replaced = await call('PUT', `/v1/config/teams/${team.id}`, { name: '1st Line' }, { 'if-match': String(read.headers.etag) });
    expect(replaced.statusCode, replaced.body).toBe(200);
    const after = replaced.json<WriteOutcome>();
    expect(after.entity).toMatchObject({ id: team.id, name: '1st Line', body: { name: '1st Line', isCoManaged: false } });
    expect(after.entity!.body).not.toHaveProperty('description');
    expect(replaced.headers['x-change-id']).toBe(after.changeId);
    expect(after.changeId).not.toBe(outcome.changeId);
    expect(replaced.headers.etag).toBe(`"${after.entity!.version}"`);
    expect(replaced.headers.etag).not.toBe(created.headers.etag);

    const same = await call('PUT', `/v1/config/teams/${team.id}`, { name: '1st Line' });
    expect(same.statusCode).toBe(200);
    expect(same.json<WriteOutcome>().changeId).toBeNull();
    expect(same.headers['x-change-id']).toBeUndefined();

    const deleted = await call('DELETE', `/v1/config/teams/${team.id}`);
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json<WriteOutcome>().entity).toBeNull();
    expect(deleted.headers['x-change-id']).toEqual(expect.any(String));
    expect((await call('GET', `/v1/config/teams/${team.id}`)).statusCode).toBe(404);

    const list = await changes(`?entityId=${team.id}`);
    expect(list.map((c) => [c.op, c.id])).toEqual([
      ['delete', deleted.headers['x-change-id']],
      ['update', after.changeId],
      ['create', outcome.changeId],
    ]);
    expect(list.every((c) => c.entityId === team.id && c.type === 'teams')).toBe(true);
    expect(list[0]!.parent).toBe(after.changeId);
    expect(list[1]!.parent).toBe(outcome.changeId);
  });

  it('pages a list with a cursor, every entity once', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await createTeam(`Paged ${i}`)).entity.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call('GET', `/v1/config/teams?q=Paged&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<{ items: EntityView[]; nextCursor: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(ids);

    const filtered = await call('GET', '/v1/config/teams?q=Paged%203');
    expect(filtered.json<{ items: EntityView[] }>().items.map((e) => e.name)).toEqual(['Paged 3']);

    const changePages: string[] = [];
    let changeCursor: string | null = null;
    do {
      const res = await call('GET', `/v1/changes?q=Paged&limit=2${changeCursor ? `&cursor=${encodeURIComponent(changeCursor)}` : ''}`);
      const page = res.json<{ items: ChangeItem[]; nextCursor: string | null }>();
      changePages.push(...page.items.map((c) => c.entityName));
      changeCursor = page.nextCursor;
    } while (changeCursor && changePages.length < 20);
    expect(changePages).toEqual(['Paged 4', 'Paged 3', 'Paged 2', 'Paged 1', 'Paged 0']);
  });

  it('records the change set label and the request details, and echoes the request id', async () => {
    const created = await call('POST', '/v1/config/teams', { name: 'Labelled' }, { 'x-change-set': 'release-42', 'x-request-id': 'req-abc.123', 'user-agent': 'api-test/1' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers['x-request-id']).toBe('req-abc.123');
    const changeId = String(created.headers['x-change-id']);
    await createTeam('Unlabelled');

    const detail = await call('GET', `/v1/changes/${changeId}`);
    expect(detail.statusCode, detail.body).toBe(200);
    const change = detail.json<ChangeDetail>();
    expect(change).toMatchObject({ id: changeId, op: 'create', changeSet: 'release-42', entityName: 'Labelled', parent: null, before: null });
    expect(change.after).toMatchObject({ name: 'Labelled' });
    expect(change.request).toMatchObject({ method: 'POST', path: '/v1/config/teams', requestId: 'req-abc.123', userAgent: 'api-test/1' });
    expect(change.actor).toMatchObject({ kind: 'agent', name: 'Administrator' });
    expect(change.rollbackScript).toEqual([expect.objectContaining({ op: 'delete', entityId: change.entityId, body: null })]);

    const labelled = await changes('?changeSet=release-42');
    expect(labelled.map((c) => c.id)).toEqual([changeId]);
    expect((await changes()).slice(0, 2).map((c) => c.changeSet)).toEqual([null, 'release-42']);

    // A request id that is not a plain token is replaced, not echoed.
    const odd = await call('GET', '/v1/instance', undefined, { 'x-request-id': 'has spaces <and> angles' });
    expect(odd.headers['x-request-id']).not.toBe('has spaces <and> angles');
    expect(odd.headers['x-request-id']).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('shows a change with its dependents and filters the list', async () => {
    const team = await createTeam('Depended on');
    const renamed = await call('PUT', `/v1/config/teams/${team.entity.id}`, { name: 'Depended on 2' });
    const renameId = String(renamed.headers['x-change-id']);
    const role = await call('POST', '/v1/config/roles', { name: 'Agent', teamMemberships: [{ teamId: team.entity.id }] });
    expect(role.statusCode, role.body).toBe(201);
    const roleChange = String(role.headers['x-change-id']);

    // The role requires the team's head when it was written (the rename); the rename's parent is the create.
    const detail = (await call('GET', `/v1/changes/${team.changeId}`)).json<ChangeDetail>();
    expect(detail.dependents).toEqual({ items: [expect.objectContaining({ id: renameId })], more: false });
    const update = (await call('GET', `/v1/changes/${renameId}`)).json<ChangeDetail>();
    expect(update.dependents).toEqual({ items: [expect.objectContaining({ id: roleChange, type: 'roles' })], more: false });
    expect((await call('GET', `/v1/changes/${roleChange}`)).json<ChangeDetail & { requires: string[] }>().requires).toEqual([renameId]);
    expect(update.diff).toEqual([{ path: 'name', before: 'Depended on', after: 'Depended on 2' }]);
    expect(update.rollbackScript).toEqual([expect.objectContaining({ op: 'update', body: expect.objectContaining({ name: 'Depended on' }) })]);

    expect((await changes('?type=roles')).map((c) => c.id)).toContain(roleChange);
    expect((await changes('?type=roles')).every((c) => c.type === 'roles')).toBe(true);
    expect((await changes(`?entityId=${team.entity.id}&op=update`)).map((c) => c.id)).toEqual([renameId]);
    expect((await changes('?q=Depended')).map((c) => c.id)).toEqual([renameId, team.changeId]);
  });

  it('previews a rollback with dryRun=true, then performs exactly that rollback', async () => {
    const a = await createTeam('Alpha');
    const renamed = await call('PUT', `/v1/config/teams/${a.entity.id}`, { name: 'Alpha renamed' });
    const target = String(renamed.headers['x-change-id']);
    const b = await createTeam('Beta');
    const before = await changes();

    const preview = await call('POST', `/v1/changes/${target}/rollback-before?dryRun=true`);
    expect(preview.statusCode, preview.body).toBe(200);
    const plan = preview.json<RollbackResult>();
    // The dry run reports the counts the real run will act on, writes included.
    expect(plan).toMatchObject({ target, dryRun: true, counts: { changes: 2, entities: 2, written: 2 } });
    expect(plan.reverted.map((r) => [r.changeId, r.revertOp])).toEqual([
      [b.changeId, 'delete'],
      [target, 'update'],
    ]);
    expect(plan.reverted.every((r) => r.revertedBy === null)).toBe(true);
    expect(await changes()).toEqual(before);
    expect((await call('GET', `/v1/config/teams/${b.entity.id}`)).statusCode).toBe(200);

    const run = await call('POST', `/v1/changes/${target}/rollback-before`, undefined, { 'x-change-set': 'undo-1' });
    expect(run.statusCode, run.body).toBe(200);
    const result = run.json<RollbackResult>();
    expect(result.dryRun).toBe(false);
    expect(result.counts).toEqual(plan.counts);
    expect(result.reverted.map((r) => r.changeId)).toEqual(plan.reverted.map((r) => r.changeId));
    expect(result.entities.map((e) => [e.id, e.state])).toEqual(plan.entities.map((e) => [e.id, e.state]));

    expect((await call('GET', `/v1/config/teams/${a.entity.id}`)).json<EntityView>().name).toBe('Alpha');
    expect((await call('GET', `/v1/config/teams/${b.entity.id}`)).statusCode).toBe(404);
    const after = await changes();
    expect(after).toHaveLength(before.length + 2);
    const reverts = after.slice(0, 2);
    expect(reverts.map((c) => c.revertOf).sort()).toEqual([b.changeId, target].sort());
    expect(reverts.map((c) => c.id).sort()).toEqual(result.reverted.map((r) => r.revertedBy).sort());
    expect(reverts.every((c) => c.changeSet === 'undo-1')).toBe(true);

    const verify = await call('GET', '/v1/changes/verify');
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ ok: true, checked: after.length, headSeq: after[0]!.seq, failure: null, failures: [], failureCount: 0 });
  });

  it('lists the catalog with tracking rules and JSON Schemas', async () => {
    const res = await call('GET', '/v1/catalog');
    expect(res.statusCode).toBe(200);
    const types = res.json<{ types: CatalogEntry[] }>().types;
    expect(types.map((e) => e.key).sort()).toEqual(t.services.catalog.list().map((d) => d.key).sort());
    expect(types.length).toBeGreaterThanOrEqual(100);
    for (const entry of types) {
      expect(['tracked', 'tracked-when', 'local'], entry.key).toContain(entry.tracking.kind);
      expect(entry.schema.type, entry.key).toBe('object');
      expect(entry.schema.properties, entry.key).toHaveProperty('name');
    }
    const byKey = new Map(types.map((e) => [e.key, e]));
    expect(byKey.get('teams')?.tracking).toEqual({ kind: 'tracked' });
    expect(byKey.get('mailboxes')?.tracking).toMatchObject({ kind: 'tracked-when', setting: 'trackMailboxes' });
    expect(byKey.get('mailboxes')?.sensitive).toEqual(['credentials[].password', 'credentials[].clientSecret']);
    expect(byKey.get('tax-rates')?.tracking).toEqual({ kind: 'local' });
    const workflow = byKey.get('workflows')!.schema;
    expect(workflow.properties?.steps?.type).toBe('array');
    expect(workflow.required).toEqual(expect.arrayContaining(['name', 'steps', 'startStepId']));

    const one = await call('GET', '/v1/catalog/teams');
    expect(one.statusCode).toBe(200);
    expect(one.json<CatalogEntry>()).toEqual(byKey.get('teams'));
    expect(one.json<CatalogEntry>().references).toEqual([{ path: 'departmentId', target: 'departments', thirdParty: true }]);
  });

  it('tracks mailboxes only while trackMailboxes is on, and local types never', async () => {
    const before = await changes();
    const mailbox = { name: 'Support', address: 'support@example.com', type: 'imap' };
    const untracked = await call('POST', '/v1/config/mailboxes', mailbox);
    expect(untracked.statusCode, untracked.body).toBe(201);
    expect(untracked.json<WriteOutcome>().changeId).toBeNull();
    const local = await call('POST', '/v1/config/tax-rates', { name: 'VAT' });
    expect(local.statusCode, local.body).toBe(201);
    expect(local.headers['x-change-id']).toBeUndefined();
    expect(await changes()).toEqual(before);

    expect((await call('PATCH', '/v1/settings', { trackMailboxes: true })).json()).toMatchObject({ trackMailboxes: true });
    const tracked = await call('POST', '/v1/config/mailboxes', { ...mailbox, name: 'Billing', address: 'billing@example.com' });
    expect(tracked.headers['x-change-id']).toEqual(expect.any(String));
    const after = await changes();
    expect(after.slice(1)).toEqual(before);
    expect(after.slice(0, 1).map((c) => [c.type, c.entityName])).toEqual([['mailboxes', 'Billing']]);
  });

  it('reads and changes settings; with tracking off writes record no change', async () => {
    const before = await changes();
    const initial = await call('GET', '/v1/settings');
    expect(initial.statusCode).toBe(200);
    expect(initial.json()).toEqual({
      configTracking: true,
      disableConfigEditing: false,
      refusePushes: false,
      skipDiffCheck: false,
      useThirdPartyIds: false,
      trackServices: false,
      trackReportsAndDashboards: false,
      trackMailboxes: false,
    });
    const unknown = await call('PATCH', '/v1/settings', { darkMode: true });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'darkMode', code: 'unknown-field' }] });

    const off = await call('PATCH', '/v1/settings', { configTracking: false });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json()).toMatchObject({ configTracking: false, disableConfigEditing: false });
    expect((await call('GET', '/v1/settings')).json()).toMatchObject({ configTracking: false });
    expect((await call('GET', '/v1/instance')).json()).toMatchObject({ trackingEnabled: false });

    const quiet = await call('POST', '/v1/config/teams', { name: 'Untracked' });
    expect(quiet.statusCode, quiet.body).toBe(201);
    expect(quiet.json<WriteOutcome>().changeId).toBeNull();
    expect(quiet.headers['x-change-id']).toBeUndefined();
    expect(await changes()).toEqual(before);

    await call('PATCH', '/v1/settings', { configTracking: true });
    const id = quiet.json<WriteOutcome>().entity!.id;
    const tracked = await call('PUT', `/v1/config/teams/${id}`, { name: 'Tracked now' });
    expect(tracked.headers['x-change-id']).toEqual(expect.any(String));
    const after = await changes();
    expect(after.slice(1)).toEqual(before);
    expect(after[0]).toMatchObject({ op: 'update', entityId: id, parent: null });
  });

  it('describes the instance, and the production lock refuses tracked writes with 423', async () => {
    const team = await createTeam('Before the lock');
    const instance = await call('GET', '/v1/instance');
    expect(instance.statusCode).toBe(200);
    expect(instance.json()).toMatchObject({
      id: t.services.instance.id,
      name: 'dev',
      kind: 'development',
      version: '0.0.0-test',
      trackingEnabled: true,
      editingDisabled: false,
      you: { kind: 'agent', name: 'Administrator', isAdministrator: true },
    });

    expect((await call('PATCH', '/v1/settings', { disableConfigEditing: true })).statusCode).toBe(200);
    expect((await call('GET', '/v1/instance')).json()).toMatchObject({ editingDisabled: true });
    const before = await changes();

    const refused = [
      await call('POST', '/v1/config/teams', { name: 'During the lock' }),
      await call('PUT', `/v1/config/teams/${team.entity.id}`, { name: 'Renamed during the lock' }),
      await call('DELETE', `/v1/config/teams/${team.entity.id}`),
      await call('POST', `/v1/changes/${team.changeId}/rollback-before`),
      await call('POST', `/v1/changes/${team.changeId}/rollback-before?dryRun=true`),
    ];
    for (const res of refused) {
      expect(res.statusCode, res.body).toBe(423);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'CONFIG_LOCKED', status: 423 });
    }
    expect(await changes()).toEqual(before);
    expect((await call('GET', `/v1/config/teams/${team.entity.id}`)).json<EntityView>().name).toBe('Before the lock');
    // Local types are not config-tracked, so the lock does not cover them.
    expect((await call('POST', '/v1/config/tax-rates', { name: 'VAT' })).statusCode).toBe(201);

    await call('PATCH', '/v1/settings', { disableConfigEditing: false });
    expect((await call('POST', '/v1/config/teams', { name: 'After the lock' })).statusCode).toBe(201);
  });

  it('serves a valid OpenAPI 3 document listing every /v1 route', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; parameters?: { name: string; in: string }[] }>>;
      components?: { securitySchemes?: Record<string, unknown> };
    }>();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'Shiplog API', version: '0.0.0-test' });
    expect(doc.components?.securitySchemes).toHaveProperty('bearer');
    const v1 = t.routeTable.filter((r) => r.url.startsWith('/v1'));
    expect(v1.length).toBeGreaterThan(10);
    for (const route of v1) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      const operation = doc.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${path}`).toBeDefined();
      expect(Object.keys(operation!.responses ?? {}).length, `${route.method} ${path}`).toBeGreaterThan(0);
      for (const param of path.match(/\{(\w+)\}/g) ?? []) {
        const name = param.slice(1, -1);
        expect(operation!.parameters, `${route.method} ${path}`).toContainEqual(expect.objectContaining({ name, in: 'path' }));
      }
    }
    for (const [path, operations] of Object.entries(doc.paths)) {
      expect(path.startsWith('/')).toBe(true);
      for (const [method, operation] of Object.entries(operations)) {
        expect(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'parameters', 'summary', 'description', 'servers'], path).toContain(method);
        if (typeof operation === 'object' && 'responses' in operation) expect(operation.responses, `${method} ${path}`).toBeTypeOf('object');
      }
    }
    expect(doc.paths['/v1/changes']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'type', 'op', 'changeSet']));
  });

  it('every route declares a permission; only the API document, the health and readiness checks, the instance’s name for the sign-in screen and the sign-in routes are public', () => {
    const allowed = new Set<string>([...permissions, 'public', 'authenticated']);
    for (const route of t.routeTable) expect(allowed.has(route.permission), `${route.method} ${route.url}`).toBe(true);
    expect(t.routeTable.filter((r) => r.permission === 'public').map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'GET /auth/instance',
      'GET /auth/sso',
      'GET /auth/sso/:id/start',
      'GET /auth/sso/callback',
      'GET /healthz',
      'GET /openapi.json',
      'GET /readyz',
      'POST /auth/token',
      'POST /v1/session',
    ]);
    const find = (method: string, url: string) => t.routeTable.find((r) => r.method === method && r.url === url)?.permission;
    expect(find('POST', '/v1/config/:type')).toBe('config:edit');
    expect(find('POST', '/v1/changes/:id/rollback-before')).toBe('changes:rollback');
    expect(find('PATCH', '/v1/settings')).toBe('config:edit');
    expect(find('GET', '/v1/settings')).toBe('config:edit');
    expect(find('GET', '/v1/changes')).toBe('config:read');
  });
});
