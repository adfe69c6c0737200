import { readFileSync } from 'node:fs';
import type { InjectOptions } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { contractProblems, haloSubset, schemaOf } from '../../test/support/halo-contract.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createAgent } from '../../test/support/principals.js';

type Json = Record<string, unknown> & { id: number };
const listKeys: Record<string, string> = {
  Tickets: 'tickets',
  Actions: 'actions',
  Client: 'clients',
  Users: 'users',
  Asset: 'assets',
  AssetType: 'assettypes',
  Agent: 'agents',
  Team: 'teams',
  TicketType: 'tickettypes',
  Status: 'statuses',
  Priority: 'priorities',
  SLA: 'slas',
  Roles: 'roles',
  Category: 'categories',
  ConfigCommit: 'configcommits',
  Instance: 'instances',
  ConnectedInstance: 'connectedinstances',
};

/**
 * The Halo dialect's contract: every /api answer holds only fields of Halo's record schemas (and shiplog_id), of their
 * declared types; lists come in Halo's envelope; array POSTs are one transaction; integer ids are stable aliases.
 */
describe.each(engines)('the Halo API on %s', (engine) => {
  let t: TestApp;
  const ids: Record<string, number> = {};

  async function call<T = Json>(method: InjectOptions['method'], url: string, payload?: unknown): Promise<{ status: number; body: T }> {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
    return { status: res.statusCode, body: res.body ? res.json<T>() : (undefined as T) };
  }
  async function post(path: string, records: unknown[]): Promise<Json> {
    const res = await call('POST', `/api/${path}`, records);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  beforeAll(async () => {
    t = await createTestApp(engine);
    ids.client = (await post('Client', [{ name: 'Acme', toplevel_id: 7, colour: '#fff' }])).id;
    ids.user = (await post('Users', [{ name: 'Ada', client_id: ids.client, emailaddress: 'ada@acme.test', site_id: 3 }])).id;
    ids.team = (await post('Team', [{ name: 'First line' }])).id;
    ids.status = (await post('Status', [{ name: 'New', colour: '#00ff00', sequence: 1 }])).id;
    ids.closed = (await post('Status', [{ name: 'Closed', type: 1 }])).id;
    ids.tickettype = (await post('TicketType', [{ name: 'Incident', initial_status: ids.status }])).id;
    await t.services.config.create(t.ctx, 'slas', { name: 'Standard', priorities: [{ id: 'p1', name: 'Urgent', level: 1, responseMinutes: 15, resolutionMinutes: 240 }] });
    ids.category = (await post('Category', [{ value: 'Hardware', type_id: 1 }])).id;
    ids.assettype = (await post('AssetType', [{ name: 'Laptop', memo: 'Portable computers' }])).id;
    ids.asset = (await post('Asset', [{ inventory_number: 'LT-001', assettype_id: ids.assettype, client_id: ids.client, fields: [{ name: 'serial', value: 'X1' }], users: [{ id: ids.user }] }])).id;
    ids.ticket = (await post('Tickets', [{ summary: 'Printer on fire', details: 'Smoke', client_id: ids.client, user_id: ids.user, tickettype_id: ids.tickettype, team: 'First line', priority_id: 1, oppjobtitle: 'ignored' }])).id;
    ids.action = (await post('Actions', [{ ticket_id: ids.ticket, note: 'Extinguished', emailbody: 'ignored' }])).id;
    ids.role = (await post('Roles', [{ name: 'Readers', notes: 'Read only' }])).id;
  });
  afterAll(() => t?.close());

  it('answers every list in Halo’s envelope, with records of Halo’s schemas', async () => {
    const query: Record<string, string> = { Actions: `?ticket_id=${ids.ticket}`, ConfigCommit: '?includedetails=true' };
    for (const [path, key] of Object.entries(listKeys)) {
      const res = await call<Record<string, unknown>>('GET', `/api/${path}${query[path] ?? ''}`);
      expect(res.status, path).toBe(200);
      expect(Object.keys(res.body).sort(), path).toEqual([key, 'record_count'].sort());
      const records = res.body[key] as Json[];
      expect(res.body.record_count, path).toBe(records.length);
      if (path !== 'ConnectedInstance') expect(records.length, path).toBeGreaterThan(0);
      for (const record of records) expect(contractProblems(schemaOf[path]!, record), path).toEqual([]);
    }
  });

  it('answers one record by its integer id with Halo’s schema', async () => {
    const one: [string, number | string, string?][] = [
      ['Tickets', ids.ticket!],
      ['Actions', ids.action!, `?ticket_id=${ids.ticket}`],
      ['Client', ids.client!],
      ['Users', ids.user!],
      ['Asset', ids.asset!],
      ['AssetType', ids.assettype!],
      ['Team', ids.team!],
      ['TicketType', ids.tickettype!],
      ['Status', ids.status!],
      ['Category', ids.category!],
      ['Roles', String(ids.role)],
    ];
    for (const [path, id, query] of one) {
      const res = await call('GET', `/api/${path}/${id}${query ?? ''}`);
      expect(res.status, path).toBe(200);
      expect(contractProblems(schemaOf[path]!, res.body), path).toEqual([]);
    }
    const priority = (await call<{ priorities: { id: string }[] }>('GET', '/api/Priority')).body.priorities[0]!;
    expect(contractProblems('Policy', (await call('GET', `/api/Priority/${priority.id}`)).body)).toEqual([]);
    const agent = (await call<{ agents: Json[] }>('GET', '/api/Agent')).body.agents[0]!;
    expect(contractProblems('Uname', (await call('GET', `/api/Agent/${agent.id}`)).body)).toEqual([]);
    const me = await call('GET', '/api/Agent/me');
    expect(contractProblems('Uname', me.body)).toEqual([]);
    const commits = (await call<{ configcommits: Json[] }>('GET', '/api/ConfigCommit')).body.configcommits;
    const commit = await call('GET', `/api/ConfigCommit/${commits[0]!.id}?includedetails=true`);
    expect(contractProblems('ConfigCommit', commit.body)).toEqual([]);
    expect(typeof commit.body.payload).toBe('string');
    const self = (await call<{ instances: Json[] }>('GET', '/api/Instance')).body.instances[0]!;
    expect(self.isself).toBe(true);
    expect(contractProblems('Instance', (await call('GET', `/api/Instance/${self.id}`)).body)).toEqual([]);
  });

  it('maps fields both ways and keeps integer ids stable, with the global id beside them', async () => {
    const ticket = (await call('GET', `/api/Tickets/${ids.ticket}`)).body;
    expect(ticket).toMatchObject({ id: ids.ticket, summary: 'Printer on fire', client_id: ids.client, user_id: ids.user, tickettype_id: ids.tickettype, status_id: ids.status, team: 'First line', priority_id: 1 });
    expect(typeof ticket.shiplog_id).toBe('string');
    const again = (await call<{ tickets: Json[] }>('GET', '/api/Tickets')).body.tickets.find((x) => x.shiplog_id === ticket.shiplog_id);
    expect(again?.id).toBe(ids.ticket);
    const asset = (await call('GET', `/api/Asset/${ids.asset}`)).body;
    expect(asset).toMatchObject({ inventory_number: 'LT-001', assettype_name: 'Laptop', client_id: ids.client, fields: [{ name: 'serial', value: 'X1' }], users: [{ id: ids.user }] });
    const sla = (await call<{ slas: Json[] }>('GET', '/api/SLA')).body.slas[0]!;
    await post('Priority', [{ slaid: sla.id, name: 'Low', priorityid: 4, responsetime: 1, responseunits: 'days', fixtime: 5, fixunits: 'days' }]);
    const priorities = (await call('GET', `/api/SLA/${sla.id}`)).body.priorities;
    expect(priorities).toMatchObject([
      { name: 'Urgent', priorityid: 1, slaid: sla.id, responsetime: 15, fixtime: 240 },
      { name: 'Low', priorityid: 4, slaid: sla.id, responsetime: 1440, fixtime: 7200 },
    ]);
  });

  it('updates only the fields a posted record sends, and answers several records for several posted', async () => {
    const updated = await post('Asset', [{ id: ids.asset, fields: [{ name: 'last_ticket', value: `ticket ${ids.ticket}` }] }]);
    expect(updated).toMatchObject({ inventory_number: 'LT-001', fields: [{ name: 'serial', value: 'X1' }, { name: 'last_ticket', value: `ticket ${ids.ticket}` }] });
    const two = await call<Json[]>('POST', '/api/Team', [{ name: 'Second line' }, { name: 'Third line' }]);
    expect(two.body.map((x) => x.name)).toEqual(['Second line', 'Third line']);
    const moved = await post('Tickets', [{ id: ids.ticket, status_id: ids.closed }]);
    expect(moved).toMatchObject({ summary: 'Printer on fire', status_id: ids.closed, inactive: true });
    const open = (await call<{ tickets: Json[] }>('GET', '/api/Tickets?open_only=true')).body.tickets;
    expect(open.map((x) => x.id)).not.toContain(ids.ticket);
  });

  it('saves an array in one transaction: a bad record refuses them all, naming its index and Halo field', async () => {
    const before = (await call<{ assets: Json[] }>('GET', '/api/Asset')).body.assets.length;
    const res = await call<{ code: string; errors: { path: string }[] }>('POST', '/api/Asset', [
      { inventory_number: 'LT-002', assettype_id: ids.assettype, client_id: ids.client },
      { inventory_number: 'LT-003', assettype_id: 999_999 },
    ]);
    expect(res.status).toBe(422);
    expect(res.body.errors[0]!.path).toBe('[1].assettype_id');
    expect((await call<{ assets: Json[] }>('GET', '/api/Asset')).body.assets.length).toBe(before);

    const wrongType = await call<{ code: string; errors: { path: string }[] }>('POST', '/api/Tickets', [{ summary: 42 }]);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors.map((e) => e.path).join()).toContain('summary');
    const missing = await call<{ code: string; errors: { path: string }[] }>('POST', '/api/Tickets', [{ summary: 'No client' }]);
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e) => e.path)).toContain('[0].client_id');
  });

  it('answers 404 for an unknown id, 401 without a token, and deletes by integer id', async () => {
    expect((await call('GET', '/api/Tickets/999999')).status).toBe(404);
    const huge = await call<{ errors: { path: string }[] }>('POST', '/api/Users', [{ name: 'Out of range', client_id: 99_999_999_999 }]);
    expect(huge.status).toBe(422);
    expect(huge.body.errors[0]!.path).toBe('[0].client_id');
    expect((await t.app.inject({ method: 'GET', url: '/api/Tickets' })).statusCode).toBe(401);
    const category = await post('Category', [{ value: 'Temporary' }]);
    expect((await call('DELETE', `/api/Category/${category.id}`)).status).toBe(200);
    expect((await call('GET', `/api/Category/${category.id}`)).status).toBe(404);
    // A deleted record's alias is never given to another.
    const next = await post('Category', [{ value: 'Another' }]);
    expect(next.id).toBeGreaterThan(category.id);
  });

  it('pages with pageinate, page_size and page_no, and sorts with order and orderdesc', async () => {
    await call('POST', '/api/Client', [{ name: 'Bravo' }, { name: 'Charlie' }, { name: 'Delta' }]);
    const page = (n: number) => call<{ record_count: number; clients: Json[] }>('GET', `/api/Client?pageinate=true&page_size=2&page_no=${n}`);
    const [one, two, three] = [await page(1), await page(2), await page(3)];
    expect([one.body.clients.length, two.body.clients.length, three.body.clients.length]).toEqual([2, 2, 0]);
    expect(new Set([...one.body.clients, ...two.body.clients].map((c) => c.id)).size).toBe(4);
    const sorted = (await call<{ clients: Json[] }>('GET', '/api/Client?order=name&orderdesc=true')).body.clients.map((c) => c.name);
    expect(sorted).toEqual(['Delta', 'Charlie', 'Bravo', 'Acme']);
  });

  it('keeps an agent confined to some customers to their records, and refuses it what spans every customer', async () => {
    const globex = await post('Client', [{ name: 'Globex' }]);
    const acme = (await call('GET', `/api/Client/${ids.client}`)).body;
    const confined = await createAgent(t, {
      name: 'Acme partner',
      clientRestrictions: { allowAllCustomers: false, customerIds: [acme.shiplog_id as string] },
      roles: [{ name: 'Acme partner', configAccess: 'read', customerAccess: 'modify', customerRestrictions: { allowAllCustomers: false, customerIds: [acme.shiplog_id as string] } }],
    });
    const as = async (method: InjectOptions['method'], url: string, payload?: unknown) => {
      const res = await t.app.inject({ method, url, headers: confined.headers, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
      return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
    };
    expect(((await as('GET', '/api/Client')).body.clients as Json[]).map((c) => c.id)).toEqual([ids.client]);
    expect((await as('GET', `/api/Client/${globex.id}`)).status).toBe(404);
    expect(((await as('GET', '/api/Asset')).body.assets as Json[]).every((a) => a.client_id === ids.client)).toBe(true);
    const before = (await call<{ assets: Json[] }>('GET', '/api/Asset')).body.assets.length;
    const refused = await as('POST', '/api/Asset', [{ inventory_number: 'GX-1', assettype_id: ids.assettype, client_id: ids.client }, { inventory_number: 'GX-2', assettype_id: ids.assettype, client_id: globex.id }]);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect((await call<{ assets: Json[] }>('GET', '/api/Asset')).body.assets.length).toBe(before);
    expect((await as('GET', '/api/Instance')).body).toMatchObject({ code: 'FORBIDDEN', reason: 'client-restrictions' });
    // Reading the change list is config:read; rolling back through it needs changes:rollback, refused and audited.
    const commit = ((await as('GET', '/api/ConfigCommit')).body.configcommits as Json[])[0]!;
    const head = (await call<{ configcommits: Json[] }>('GET', '/api/ConfigCommit')).body.configcommits[0]!.id;
    expect((await as('POST', '/api/ConfigCommit', [{ id: commit.id, _rollback: true }])).body).toMatchObject({ code: 'FORBIDDEN', permission: 'changes:rollback' });
    expect((await call<{ configcommits: Json[] }>('GET', '/api/ConfigCommit')).body.configcommits[0]!.id).toBe(head);
    const denied = await t.services.audit.list({ kind: 'access.denied', actorId: confined.agent.id, limit: 10 });
    expect(denied.map((e) => e.details)).toContainEqual(expect.objectContaining({ permission: 'changes:rollback' }));
  });

  /** A Halo client's paging loop: page after page while page_no * page_size < record_count. */
  async function everyPage(path: string, size: number, query = '', headers = t.auth): Promise<{ records: Json[]; counts: number[] }> {
    const records: Json[] = [];
    const counts: number[] = [];
    let pageNo = 0;
    do {
      pageNo += 1;
      const res = await t.app.inject({ method: 'GET', url: `/api/${path}?pageinate=true&page_size=${size}&page_no=${pageNo}${query}`, headers });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<Record<string, unknown>>();
      counts.push(body.record_count as number);
      records.push(...(body[listKeys[path]!] as Json[]));
    } while (pageNo * size < counts.at(-1)! && pageNo < 500);
    return { records, counts };
  }
  const whole = async (path: string, query = '', headers = t.auth) =>
    (await t.app.inject({ method: 'GET', url: `/api/${path}?count=1000${query}`, headers })).json<Record<string, unknown>>()[listKeys[path]!] as Json[];

  it('counts every record under the filters in record_count, and a client paging by it sees each record once', async () => {
    const initech = await post('Client', [{ name: 'Initech' }]);
    const summaries = ['delta', 'alpha', 'charlie', 'alpha', 'bravo', 'echo', 'alpha'];
    await call('POST', '/api/Tickets', summaries.map((summary, i) => ({ summary, client_id: initech.id, tickettype_id: ids.tickettype, priority_id: i % 3 === 0 ? null : (i % 4) + 1 })));
    // An asset status is a status, but not one of /api/Status's: it is neither listed nor counted.
    await t.services.config.create(t.ctx, 'statuses', { name: 'In stock', kind: 'asset' });
    const filtered = await everyPage('Tickets', 3, `&client_id=${initech.id}`);
    expect(filtered.counts.every((n) => n === summaries.length)).toBe(true);
    expect(filtered.records.map((r) => r.summary).sort()).toEqual([...summaries].sort());
    expect((await everyPage('Tickets', 2, `&client_id=${initech.id}&search=alph`)).counts[0]).toBe(3);
    for (const path of ['Tickets', 'Client', 'Users', 'Asset', 'Agent', 'Team', 'Status', 'TicketType', 'Category', 'Roles', 'ConfigCommit', 'Priority', 'Instance']) {
      const all = await whole(path);
      const paged = await everyPage(path, 2);
      expect(paged.counts.every((n) => n === all.length), path).toBe(true);
      expect(paged.records.map((r) => r.id), path).toEqual(all.map((r) => r.id));
    }
    expect((await whole('Status')).map((s) => s.name)).not.toContain('In stock');
    const commits = await everyPage('ConfigCommit', 4, '&search=Initech');
    expect(commits.counts[0]).toBe(0);
    expect((await everyPage('ConfigCommit', 4, '&search=line')).counts[0]).toBe((await whole('ConfigCommit', '&search=line')).length);
  });

  it('never counts what a caller restricted to some customers may not see', async () => {
    const acme = (await call('GET', `/api/Client/${ids.client}`)).body;
    const umbrella = await post('Client', [{ name: 'Umbrella' }]);
    await post('Users', [{ name: 'Bob', client_id: umbrella.id }]);
    await post('Asset', [{ inventory_number: 'UM-1', assettype_id: ids.assettype, client_id: umbrella.id }]);
    // A service of another customer is tracked: its change is one the confined agent neither sees nor counts.
    expect((await t.app.inject({ method: 'PATCH', url: '/v1/settings', headers: t.auth, payload: { trackServices: true } })).statusCode).toBe(200);
    const assetTypeId = (await call('GET', `/api/AssetType/${ids.assettype}`)).body.shiplog_id;
    await t.services.config.create(t.ctx, 'assets', { name: 'Umbrella CRM', assetTypeId, serviceClass: 'service', customerId: umbrella.shiplog_id });
    const confined = await createAgent(t, {
      name: 'Acme counter',
      clientRestrictions: { allowAllCustomers: false, customerIds: [acme.shiplog_id as string] },
      roles: [{ name: 'Acme counter', configAccess: 'read', customerAccess: 'modify', userAccess: 'read', assetAccess: 'read', customerRestrictions: { allowAllCustomers: false, customerIds: [acme.shiplog_id as string] } }],
    });
    for (const path of ['Client', 'Users', 'Asset', 'ConfigCommit']) {
      const seen = await whole(path, '', confined.headers);
      const paged = await everyPage(path, 2, '', confined.headers);
      expect(paged.counts.every((n) => n === seen.length), path).toBe(true);
      expect(paged.records.map((r) => r.id), path).toEqual(seen.map((r) => r.id));
      expect(seen.length, path).toBeLessThan((await whole(path)).length);
    }
    expect((await whole('Client', '', confined.headers)).map((c) => c.id)).toEqual([ids.client]);
    // The store's count of the change list hides exactly the changes /v1 hides from the same caller.
    const v1 = (await t.app.inject({ method: 'GET', url: '/v1/changes?limit=200', headers: confined.headers })).json<{ items: { id: string }[] }>().items;
    expect((await whole('ConfigCommit', '', confined.headers)).map((c) => c.shiplog_id)).toEqual(v1.map((c) => c.id));
  });

  it('sorts the whole list by order and orderdesc across pages, ties by id', async () => {
    const keys: Record<string, (r: Json) => string | number | null> = {
      id: (r) => r.shiplog_id as string,
      summary: (r) => r.summary as string,
      dateoccurred: (r) => r.dateoccurred as string,
      priority_id: (r) => r.priority_id as number | null,
    };
    const compare = (x: string | number | null, y: string | number | null) => (x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1);
    const all = await whole('Tickets');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(keys)), fc.boolean(), fc.integer({ min: 1, max: 4 }), async (order, desc, size) => {
        const key = keys[order]!;
        const expected = [...all].sort((a, b) => (desc ? -1 : 1) * (compare(key(a), key(b)) || compare(a.shiplog_id as string, b.shiplog_id as string)));
        const paged = await everyPage('Tickets', size, `&order=${order}&orderdesc=${desc}`);
        expect(paged.records.map((r) => r.id)).toEqual(expected.map((r) => r.id));
      }),
      { numRuns: 12 },
    );
    const names = (await everyPage('Client', 2, '&order=name')).records.map((c) => c.name as string);
    expect(names).toEqual([...names].sort());
    expect((await everyPage('Team', 1, '&order=NAME&orderdesc=true')).records.map((c) => c.name)).toEqual(['Third line', 'Second line', 'First line']);
  });

  it('refuses an order field the list cannot sort by with a 400 naming order', async () => {
    for (const [path, field] of [['Tickets', 'colour'], ['Client', 'toplevel_id'], ['ConfigCommit', 'summary']]) {
      const res = await call<{ code: string; errors: { path: string; message: string }[] }>('GET', `/api/${path}?order=${field}`);
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors[0]).toMatchObject({ path: 'order', code: 'unsupported-order' });
    }
  });

  it('lists every /api operation in the OpenAPI document with an operation id, summary, description and tag', async () => {
    type Operation = { operationId?: string; summary?: string; description?: string; tags?: string[]; requestBody?: { content: Record<string, { schema: { items?: { properties?: object } } }> } };
    const doc = (await call<{ paths: Record<string, Record<string, Operation>> }>('GET', '/openapi.json')).body;
    // docs/halo-api.md lists, per resource, the schema's fields a posted record may hold that Shiplog ignores.
    const guide = readFileSync(new URL('../../docs/halo-api.md', import.meta.url), 'utf8');
    for (const [resource, schema] of Object.entries(schemaOf)) {
      const read = Object.keys(doc.paths[`/api/${resource}`]!.post!.requestBody!.content['application/json']!.schema.items!.properties!);
      const ignored = Object.keys(haloSubset.schemas[schema]!.properties).filter((f) => !read.includes(f)).sort();
      const listed = new RegExp(`<!-- ignored:${resource} -->\\n(.*)\\n`).exec(guide)?.[1]?.split(', ').map((f) => f.replace(/`/g, ''));
      expect(listed, resource).toEqual(ignored);
    }
    const halo = Object.entries(doc.paths).filter(([path]) => path.startsWith('/api/'));
    expect(halo.length).toBeGreaterThan(30);
    for (const [path, operations] of halo) {
      for (const [method, op] of Object.entries(operations)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^halo/);
        expect(op.summary && op.description, `${method} ${path}`).toBeTruthy();
        expect(op.tags).toEqual(['Halo API']);
      }
    }
  });
});
