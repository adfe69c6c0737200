import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../access/administrator-role.js';
import type { CustomerScope } from '../access/customer-scope.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { bearer, createAgent, issueApiToken, type TestAgent } from '../../test/support/principals.js';

interface Problem {
  code: string;
  reason?: string;
  errors?: { path: string; code: string }[];
}
interface Page {
  items: { id: string; entityId?: string }[];
}

/**
 * Client restrictions on every route that returns a customer's records or what is made of them: an agent confined to
 * Acme, with configuration rights, sees Acme's assets and their changes and nothing of Globex's — in lists, searches, by
 * id, in change details, exports and rollbacks — and the routes that show or move every customer's records refuse it.
 */
describe.each(engines)('client restrictions beyond the desk routes on %s', (engine) => {
  let t: TestApp;
  let andy: TestAgent; // confined to Acme, may edit and push configuration
  const ids = {} as Record<'acme' | 'globex' | 'acmeUser' | 'globexUser' | 'assetType' | 'acmeAsset' | 'globexAsset' | 'acmeChange' | 'globexChange', string>;

  async function call<T = unknown>(headers: Record<string, string>, method: InjectOptions['method'], url: string, payload?: unknown): Promise<{ status: number; body: T; text: string }> {
    const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
    return { status: res.statusCode, body: res.body ? res.json<T>() : (undefined as T), text: res.body };
  }
  const admin = <T = unknown>(method: InjectOptions['method'], url: string, payload?: unknown) => call<T>(t.auth, method, url, payload);
  const asAndy = <T = unknown>(method: InjectOptions['method'], url: string, payload?: unknown) => call<T>(andy.headers, method, url, payload);
  const asset = (name: string, customerId: string, extra: Record<string, unknown> = {}) => ({ name, assetTypeId: ids.assetType, serviceClass: 'service', customerId, ...extra });

  beforeAll(async () => {
    t = await createTestApp(engine);
    ids.acme = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Acme' })).body.id;
    ids.globex = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Globex' })).body.id;
    ids.acmeUser = (await admin<{ id: string }>('POST', '/v1/users', { customerId: ids.acme, name: 'Ada at Acme', thirdPartyId: 'USR-ACME' })).body.id;
    ids.globexUser = (await admin<{ id: string }>('POST', '/v1/users', { customerId: ids.globex, name: 'Gus at Globex', thirdPartyId: 'USR-GLOBEX' })).body.id;
    expect((await admin('PATCH', '/v1/settings', { trackServices: true })).status).toBe(200);
    ids.assetType = (await t.services.config.create(t.ctx, 'asset-types', { name: 'Business service' })).entity!.id;
    const acme = await admin<{ entity: { id: string }; changeId: string }>('POST', '/v1/config/assets', asset('Payroll at Acme', ids.acme, { userIds: [ids.acmeUser] }));
    const globex = await admin<{ entity: { id: string }; changeId: string }>('POST', '/v1/config/assets', asset('Payroll at Globex', ids.globex, { userIds: [ids.globexUser] }));
    expect([acme.status, globex.status]).toEqual([201, 201]);
    [ids.acmeAsset, ids.acmeChange, ids.globexAsset, ids.globexChange] = [acme.body.entity.id, acme.body.changeId, globex.body.entity.id, globex.body.changeId];
    andy = await createAgent(t, {
      name: 'Andy at the Acme desk',
      clientRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
      roles: [{ name: 'Acme configuration', configAccess: 'modify', canPushConfig: true, assetAccess: 'modify', customerAccess: 'read' }],
    });
  });
  afterAll(async () => t?.close());

  it('shows the restricted agent its customer’s assets through /v1/config/assets — list, search, by id — and not another’s', async () => {
    for (const url of ['/v1/config/assets', '/v1/config/assets?q=Payroll', '/v1/assets?q=Payroll']) {
      const seen = await asAndy<Page>('GET', url);
      expect(seen.status, url).toBe(200);
      expect(seen.body.items.map((a) => a.id), url).toEqual([ids.acmeAsset]);
      expect(seen.text, url).not.toContain('Globex');
      expect((await admin<Page>('GET', url)).body.items.map((a) => a.id).sort(), url).toEqual([ids.acmeAsset, ids.globexAsset].sort());
    }
    expect((await asAndy<Problem>('GET', `/v1/config/assets/${ids.globexAsset}`)).body.code).toBe('ENTITY_NOT_FOUND');
    expect((await asAndy<Problem>('GET', `/v1/assets/${ids.globexAsset}`)).body.code).toBe('ASSET_NOT_FOUND');
    expect((await asAndy('GET', `/v1/config/assets/${ids.acmeAsset}`)).status).toBe(200);
  });

  it('lets the restricted agent write neither another customer’s asset nor an asset for another customer', async () => {
    const before = (await admin('GET', `/v1/config/assets/${ids.globexAsset}`)).body;
    const head = (await admin<Page>('GET', '/v1/changes?limit=1')).body.items[0]!.id;
    expect((await asAndy<Problem>('PUT', `/v1/config/assets/${ids.globexAsset}`, asset('Mine now', ids.acme))).body.code).toBe('ENTITY_NOT_FOUND');
    expect((await asAndy<Problem>('DELETE', `/v1/config/assets/${ids.globexAsset}`)).body.code).toBe('ENTITY_NOT_FOUND');
    const created = await asAndy<Problem>('POST', '/v1/config/assets', asset('Payroll for Globex', ids.globex));
    expect(created).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'customerId', code: 'reference-not-found' }] } });
    const moved = await asAndy<Problem>('PUT', `/v1/config/assets/${ids.acmeAsset}`, asset('Payroll at Acme', ids.globex));
    expect(moved).toMatchObject({ status: 422, body: { errors: [{ path: 'customerId' }] } });
    const unnamed = await asAndy<Problem>('POST', '/v1/config/assets', { name: 'Nobody’s', assetTypeId: ids.assetType });
    expect(unnamed).toMatchObject({ status: 400, body: { errors: [{ path: 'customerId', code: 'required' }] } });
    expect((await admin('GET', `/v1/config/assets/${ids.globexAsset}`)).body).toEqual(before);
    expect((await admin<Page>('GET', '/v1/changes?limit=1')).body.items[0]!.id).toBe(head);
  });

  it('keeps another customer’s changes out of the change list, its details and exports', async () => {
    for (const url of ['/v1/changes?type=assets', '/v1/changes?q=Payroll', `/v1/changes?entityId=${ids.globexAsset}`, '/v1/changes?limit=1&type=assets']) {
      const listed = await asAndy<Page>('GET', url);
      expect(listed.status, url).toBe(200);
      expect(listed.body.items.map((c) => c.entityId), url).not.toContain(ids.globexAsset);
      expect(listed.text, url).not.toContain('Globex');
    }
    expect((await asAndy<Page>('GET', '/v1/changes?type=assets')).body.items.map((c) => c.id)).toEqual([ids.acmeChange]);
    expect((await admin<Page>('GET', '/v1/changes?type=assets')).body.items.map((c) => c.id)).toEqual([ids.globexChange, ids.acmeChange]);

    expect((await asAndy<Problem>('GET', `/v1/changes/${ids.globexChange}`)).body.code).toBe('CHANGE_NOT_FOUND');
    const own = await asAndy<{ after: { customerId: string } }>('GET', `/v1/changes/${ids.acmeChange}`);
    expect(own).toMatchObject({ status: 200, body: { after: { customerId: ids.acme } } });

    const named = await asAndy<Problem & { missing: string[] }>('POST', '/v1/changes/export', { changeIds: [ids.acmeChange, ids.globexChange] });
    expect(named).toMatchObject({ status: 404, body: { code: 'CHANGE_NOT_FOUND', missing: [ids.globexChange] } });
    const ranged = await asAndy<{ changes: { id: string }[] }>('POST', '/v1/changes/export', { from: '2000-01-01T00:00:00Z' });
    expect(ranged.status).toBe(200);
    expect(ranged.body.changes.map((c) => c.id)).toContain(ids.acmeChange);
    expect(ranged.body.changes.map((c) => c.id)).not.toContain(ids.globexChange);
    expect(ranged.text).not.toContain('Globex');
    expect((await admin<{ changes: { id: string }[] }>('POST', '/v1/changes/export', { from: '2000-01-01T00:00:00Z' })).body.changes.map((c) => c.id)).toContain(ids.globexChange);
    const peer = await asAndy<Problem>('POST', '/v1/changes/export', { changeIds: [ids.acmeChange], peer: 'staging' });
    expect(peer).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', reason: 'client-restrictions' } });
  });

  it('counts a record moved to another customer as that customer’s too: its move is hidden, and cannot be rolled back past', async () => {
    const made = await admin<{ entity: { id: string }; changeId: string }>('POST', '/v1/config/assets', asset('Laptop pool', ids.acme));
    const move = await admin<{ changeId: string }>('PUT', `/v1/config/assets/${made.body.entity.id}`, asset('Laptop pool', ids.globex));
    expect(move.status).toBe(200);

    const detail = await asAndy<{ dependents: { items: { id: string }[] } }>('GET', `/v1/changes/${made.body.changeId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.dependents.items.map((d) => d.id)).toEqual([]);
    expect((await admin<{ dependents: { items: { id: string }[] } }>('GET', `/v1/changes/${made.body.changeId}`)).body.dependents.items.map((d) => d.id)).toEqual([move.body.changeId]);
    expect((await asAndy<Problem>('GET', `/v1/changes/${move.body.changeId}`)).body.code).toBe('CHANGE_NOT_FOUND');
    expect((await asAndy<Page>('GET', `/v1/changes?entityId=${made.body.entity.id}`)).body.items.map((c) => c.id)).toEqual([made.body.changeId]);

    const state = (await admin('GET', `/v1/config/assets/${made.body.entity.id}`)).body;
    for (const dryRun of [true, false]) {
      const refused = await asAndy<Problem>('POST', `/v1/changes/${made.body.changeId}/rollback-before?dryRun=${dryRun}`);
      expect(refused).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', reason: 'client-restrictions' } });
      expect(refused.text).not.toContain('Globex');
    }
    expect((await asAndy<Problem>('POST', `/v1/changes/${move.body.changeId}/rollback-before?dryRun=true`)).body.code).toBe('CHANGE_NOT_FOUND');
    expect((await admin('GET', `/v1/config/assets/${made.body.entity.id}`)).body).toEqual(state);
    // An unrestricted agent previews the same rollback.
    expect((await admin('POST', `/v1/changes/${made.body.changeId}/rollback-before?dryRun=true`)).status).toBe(200);
  });

  it('refuses the restricted agent every route that shows or moves every customer’s records, and audits it', async () => {
    const wholeRoutes = t.routeTable.filter((r) => r.everyCustomer);
    expect(wholeRoutes.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining(['GET /v1/instances/:name/diff', 'POST /v1/instances/:name/push', 'POST /v1/changes/import', 'GET /v1/sync/hello', 'GET /v1/mailboxes/messages', 'GET /v1/webhooks/deliveries']),
    );
    for (const route of wholeRoutes) {
      const url = route.url.replace(':name', 'staging').replace(':id', '01J0000000000000000000TEST').replace(':instanceId', '01J0000000000000000000TEST');
      const res = await asAndy<Problem>(route.method as InjectOptions['method'], url, route.method === 'GET' ? undefined : {});
      expect(res, `${route.method} ${route.url}`).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', reason: 'client-restrictions' } });
    }
    expect((await admin('GET', '/v1/sync/hello')).status).toBe(200);
    const audit = await admin<{ items: { kind: string; details: { reason?: string } }[] }>('GET', '/v1/audit?kind=access.denied');
    expect(audit.body.items[0]).toMatchObject({ details: { reason: 'client-restrictions' } });
  });

  it('hides another customer’s co-managed agents from a restricted administrator', async () => {
    const boss = await t.services.agents.create(t.ctx, {
      name: 'Acme administrator',
      email: 'boss@acme.test',
      clientRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
      roleIds: [ADMINISTRATOR_ROLE_ID],
    });
    const headers = bearer(await issueApiToken(t, boss.id));
    const partner = await admin<{ id: string }>('POST', '/v1/agents', { name: 'Globex partner', email: 'partner@globex.test', coManagedCustomerId: ids.globex });
    const ours = await admin<{ id: string }>('POST', '/v1/agents', { name: 'Acme partner', email: 'partner@acme.test', coManagedCustomerId: ids.acme });
    const listed = (await call<Page>(headers, 'GET', '/v1/agents?limit=200')).body.items.map((a) => a.id);
    expect(listed).toContain(ours.body.id);
    expect(listed).not.toContain(partner.body.id);
    expect((await call<Problem>(headers, 'GET', `/v1/agents/${partner.body.id}`)).body.code).toBe('AGENT_NOT_FOUND');
    expect((await admin<Page>('GET', '/v1/agents?limit=200')).body.items.map((a) => a.id)).toContain(partner.body.id);
  });
});

/** An asset's users and owners are its customer's: refused with the field at fault, on every route that writes assets. */
describe.each(engines)('the people an asset names on %s', (engine) => {
  let t: TestApp;
  const ids = {} as Record<'acme' | 'globex' | 'acmeUser' | 'globexUser' | 'assetType' | 'asset', string>;
  const admin = async <T = unknown>(method: InjectOptions['method'], url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
    return { status: res.statusCode, body: res.json<T>() };
  };
  const asset = (extra: Record<string, unknown>) => ({ name: 'Printer', assetTypeId: ids.assetType, customerId: ids.acme, ...extra });

  beforeAll(async () => {
    t = await createTestApp(engine);
    ids.acme = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Acme' })).body.id;
    ids.globex = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Globex' })).body.id;
    ids.acmeUser = (await admin<{ id: string }>('POST', '/v1/users', { customerId: ids.acme, name: 'Ada', thirdPartyId: 'USR-ADA' })).body.id;
    ids.globexUser = (await admin<{ id: string }>('POST', '/v1/users', { customerId: ids.globex, name: 'Gus', thirdPartyId: 'USR-GUS' })).body.id;
    ids.assetType = (await t.services.config.create(t.ctx, 'asset-types', { name: 'Printer' })).entity!.id;
    ids.asset = (await admin<{ entity: { id: string } }>('POST', '/v1/assets', asset({ userIds: [ids.acmeUser], businessOwnerId: ids.acmeUser, technicalOwnerId: t.ctx.actor.id }))).body.entity.id;
  });
  afterAll(async () => t?.close());

  it.each([
    ['a user of another customer', { userIds: ['ACME', 'GLOBEX'] }, 'userIds[1]'],
    ['a business owner who is another customer’s user', { businessOwnerId: 'GLOBEX' }, 'businessOwnerId'],
    ['a technical owner who is nobody here', { technicalOwnerId: 'nobody' }, 'technicalOwnerId'],
  ])('refuses %s, on both routes, for a new asset and a changed one', async (_label, fields, path) => {
    const body = asset(JSON.parse(JSON.stringify(fields).replace(/GLOBEX/g, ids.globexUser).replace(/ACME/g, ids.acmeUser)) as Record<string, unknown>);
    const before = await admin('GET', `/v1/assets/${ids.asset}`);
    for (const [method, url] of [
      ['POST', '/v1/assets'],
      ['POST', '/v1/config/assets'],
      ['PUT', `/v1/assets/${ids.asset}`],
      ['PUT', `/v1/config/assets/${ids.asset}`],
    ] as const) {
      const res = await admin<Problem>(method, url, body);
      expect(res, `${method} ${url}`).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path, code: 'reference-not-found' }] } });
    }
    expect(await admin('GET', `/v1/assets/${ids.asset}`)).toEqual(before);
    expect((await admin<Page>('GET', '/v1/assets')).body.items).toHaveLength(1);
  });

  it('accepts the customer’s users and agents as owners, and an asset of no customer naming anyone', async () => {
    const res = await admin('PUT', `/v1/assets/${ids.asset}`, asset({ userIds: [ids.acmeUser], businessOwnerId: t.ctx.actor.id, technicalOwnerId: ids.acmeUser }));
    expect(res.status).toBe(200);
    const unowned = await admin('POST', '/v1/config/assets', { name: 'Shared printer', assetTypeId: ids.assetType, userIds: [ids.acmeUser, ids.globexUser] });
    expect(unowned.status).toBe(201);
  });

  it('checks users linked by third-party id when linking by third-party id is on', async () => {
    expect((await admin('PATCH', '/v1/settings', { useThirdPartyIds: true })).status).toBe(200);
    const refused = await admin<Problem>('POST', '/v1/assets', asset({ userThirdPartyIds: ['USR-ADA', 'USR-GUS'], technicalOwnerThirdPartyId: 'USR-GUS' }));
    expect(refused).toMatchObject({
      status: 422,
      body: { errors: [{ path: 'userThirdPartyIds[1]' }, { path: 'technicalOwnerThirdPartyId' }] },
    });
    // A third-party id nobody holds here names no record of this instance: refused like any other missing record.
    expect(await admin<Problem>('POST', '/v1/assets', asset({ userThirdPartyIds: ['USR-ADA', 'USR-ELSEWHERE'] }))).toMatchObject({
      status: 422,
      body: { errors: [{ path: 'userThirdPartyIds[1]' }] },
    });
    expect((await admin('POST', '/v1/assets', asset({ userThirdPartyIds: ['USR-ADA'] }))).status).toBe(201);
  });
});

/** For every scope, page size and search, the pages of assets and of their changes are exactly the caller's customers'. */
describe.each(engines)('pages within client restrictions on %s', (engine) => {
  let t: TestApp;
  const customers = ['Acme', 'Globex', 'Initech'];
  const customerIds: string[] = [];
  const assets: { id: string; name: string; customerId: string | null; changeIds: string[]; movedFrom?: string | null }[] = [];

  beforeAll(async () => {
    t = await createTestApp(engine);
    await t.services.settings.update(t.ctx, { trackServices: true }, { isAdministrator: true });
    for (const name of customers) customerIds.push((await t.app.inject({ method: 'POST', url: '/v1/customers', headers: t.auth, payload: { name } })).json<{ id: string }>().id);
    const assetTypeId = (await t.services.config.create(t.ctx, 'asset-types', { name: 'Service' })).entity!.id;
    const owners = fc.sample(fc.option(fc.nat(2), { nil: null }), { numRuns: 24, seed: 7 });
    for (const [i, owner] of owners.entries()) {
      const customerId = owner === null ? null : customerIds[owner]!;
      const body = { name: `${i % 2 ? 'Printer' : 'Laptop'} ${i}`, assetTypeId, serviceClass: 'service', ...(customerId ? { customerId } : {}) };
      const made = await t.services.config.create(t.ctx, 'assets', body);
      assets.push({ id: made.entity!.id, name: body.name, customerId, changeIds: [made.changeId!] });
    }
    // Some move to another customer: their last change is both customers'.
    for (const item of assets.filter((_, i) => i % 5 === 0)) {
      const next = customerIds[(customerIds.indexOf(item.customerId ?? customerIds[0]!) + 1) % customerIds.length]!;
      const moved = await t.services.config.replace(t.ctx, 'assets', item.id, { name: item.name, assetTypeId, serviceClass: 'service', customerId: next });
      item.changeIds.push(moved.changeId!);
      item.movedFrom = item.customerId;
      item.customerId = next;
    }
  });
  afterAll(async () => t?.close());

  it('lists exactly the assets and changes of the customers in scope, page after page (property)', async () => {
    const scopeOf = fc.oneof(
      fc.constant<CustomerScope>({ kind: 'all' }),
      fc.uniqueArray(fc.nat(2)).map((picked): CustomerScope => ({ kind: 'only', customerIds: new Set(picked.map((i) => customerIds[i]!)) })),
    );
    await fc.assert(
      fc.asyncProperty(scopeOf, fc.integer({ min: 1, max: 7 }), fc.constantFrom(undefined, 'Printer'), async (scope, limit, q) => {
        const sees = (customerId: string | null | undefined) => scope.kind === 'all' || (typeof customerId === 'string' && scope.customerIds.has(customerId));
        const visible = assets.filter((a) => sees(a.customerId) && (q === undefined || a.name.includes(q)));
        const listed: string[] = [];
        for (let cursor: string | null | undefined; cursor !== null; ) {
          const page = await t.services.config.list('assets', { limit, scope, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          listed.push(...page.items.map((e) => e.id));
          cursor = page.nextCursor;
        }
        expect(listed.sort()).toEqual(visible.map((a) => a.id).sort());

        const changes: string[] = [];
        for (let cursor: string | null | undefined; cursor !== null; ) {
          const page = await t.services.changeLog.list({ type: 'assets', limit, scope, ...(cursor ? { cursor } : {}) });
          changes.push(...page.items.map((c) => c.id));
          cursor = page.nextCursor;
        }
        const expected = assets.flatMap((a) => {
          if (a.movedFrom === undefined) return sees(a.customerId) ? a.changeIds : [];
          return [...(sees(a.movedFrom) ? [a.changeIds[0]!] : []), ...(sees(a.movedFrom) && sees(a.customerId) ? [a.changeIds[1]!] : [])];
        });
        expect(changes.sort()).toEqual(expected.sort());
      }),
      { numRuns: 25 },
    );
  });
});
