import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CO_MANAGED_CANNOT_REASSIGN } from '../desk/ticket-service.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createAgent, createTeam, type TestAgent } from '../../test/support/principals.js';

interface Problem {
  code: string;
  errors?: { path: string; code: string }[];
}

/**
 * The co-managed support guide end to end over the HTTP API: a co-managed team and role, a ticket rule that sends the
 * co-managed customer's tickets to that team, a co-managed agent who sees and works only that customer's records,
 * cannot re-assign a regular agent's ticket while the general setting is on, and cannot use a restricted action.
 */
describe.each(engines)('the desk of a co-managed support setup on %s', (engine) => {
  let t: TestApp;
  let carl: TestAgent; // co-managed agent of Acme
  let rita: TestAgent; // regular first-line agent
  const ids = {} as Record<
    'acme' | 'globex' | 'acmeUser' | 'globexUser' | 'firstLine' | 'partner' | 'statusNew' | 'statusWork' | 'statusEscalated' | 'statusClosed' | 'workflow' | 'incident' | 'rule' | 'setting',
    string
  >;

  async function call<T = unknown>(headers: Record<string, string>, method: InjectOptions['method'], url: string, payload?: unknown): Promise<{ status: number; body: T }> {
    const res = await t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
    return { status: res.statusCode, body: res.body ? res.json<T>() : (undefined as T) };
  }
  const admin = <T = unknown>(method: InjectOptions['method'], url: string, payload?: unknown) => call<T>(t.auth, method, url, payload);
  const config = async (type: string, body: Record<string, unknown>) => (await t.services.config.create(t.ctx, type, body)).entity!.id;

  beforeAll(async () => {
    t = await createTestApp(engine);
    ids.acme = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Acme' })).body.id;
    ids.globex = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Globex' })).body.id;
    ids.acmeUser = (await admin<{ id: string }>('POST', '/v1/users', { customerId: ids.acme, name: 'Ada at Acme', email: 'ada@acme.test' })).body.id;
    ids.globexUser = (await admin<{ id: string }>('POST', '/v1/users', { customerId: ids.globex, name: 'Gus at Globex' })).body.id;

    ids.firstLine = await createTeam(t, { name: 'First line' });
    ids.partner = await createTeam(t, { name: 'Partner desk', isCoManaged: true });
    ids.statusNew = await config('statuses', { name: 'New', kind: 'ticket', isDefault: true });
    ids.statusWork = await config('statuses', { name: 'In progress', kind: 'ticket' });
    ids.statusEscalated = await config('statuses', { name: 'Escalated', kind: 'ticket' });
    ids.statusClosed = await config('statuses', { name: 'Closed', kind: 'ticket', isClosed: true });
    ids.workflow = await config('workflows', {
      name: 'Incident handling',
      startStepId: 'new',
      steps: [
        {
          id: 'new',
          name: 'New',
          statusId: ids.statusNew,
          actions: [
            { id: 'start', name: 'Start work', nextStepId: 'work' },
            { id: 'escalate', name: 'Escalate', nextStepId: 'work', setStatusId: ids.statusEscalated, restrictAccess: true, restrictToTeamIds: [ids.firstLine] },
          ],
        },
        { id: 'work', name: 'Working', statusId: ids.statusWork, actions: [{ id: 'resolve', name: 'Resolve', nextStepId: 'done' }] },
        { id: 'done', name: 'Done', statusId: ids.statusClosed, actions: [] },
      ],
    });
    ids.incident = await config('ticket-types', { name: 'Incident', workflowId: ids.workflow, defaultTeamId: ids.firstLine });
    ids.rule = await config('ticket-rules', {
      name: 'Co-managed customer to the partner desk',
      use: 'new-tickets',
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [ids.acme] }],
      outcomes: [{ field: 'team', teamId: ids.partner }],
    });
    ids.setting = await config('global-settings', { name: CO_MANAGED_CANNOT_REASSIGN, value: true });

    const deskFlags = { addTickets: true, viewUnassignedTickets: true, viewTicketsAssignedToOthers: true, editTicketsNotAssigned: true, reassignTickets: true };
    rita = await createAgent(t, {
      name: 'Rita Regular',
      roles: [
        {
          name: 'First line',
          ticketAccess: 'modify',
          customerAccess: 'read',
          userAccess: 'read',
          assetAccess: 'read',
          ticketPermissions: { ...deskFlags, assignOutsideOwnTeams: true },
          teamMemberships: [
            { teamId: ids.firstLine, access: 'modify' },
            { teamId: ids.partner, access: 'modify' },
          ],
        },
      ],
    });
    carl = await createAgent(t, {
      name: 'Carl Co-managed',
      coManagedCustomerId: ids.acme,
      clientRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
      roles: [
        {
          name: 'Co-managed partner',
          ticketAccess: 'modify',
          customerAccess: 'read',
          userAccess: 'read',
          assetAccess: 'modify',
          ticketPermissions: deskFlags,
          teamMemberships: [{ teamId: ids.partner, access: 'modify' }],
          customerRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
        },
      ],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('logs tickets through the ticket rules: the co-managed customer’s go to the co-managed team', async () => {
    const acme = await admin<{ ticket: { teamId: string; statusId: string; stepId: string; number: number }; matchedRules: { id: string }[] }>('POST', '/v1/tickets', {
      customerId: ids.acme,
      userId: ids.acmeUser,
      ticketTypeId: ids.incident,
      summary: 'VPN down',
    });
    expect(acme.status).toBe(201);
    expect(acme.body.ticket).toMatchObject({ teamId: ids.partner, statusId: ids.statusNew, stepId: 'new' });
    expect(acme.body.matchedRules.map((r) => r.id)).toEqual([ids.rule]);

    const globex = await admin<{ ticket: { teamId: string; number: number }; matchedRules: unknown[] }>('POST', '/v1/tickets', {
      customerId: ids.globex,
      ticketTypeId: ids.incident,
      summary: 'VPN down at Globex',
    });
    expect(globex.body.ticket.teamId).toBe(ids.firstLine);
    expect(globex.body.matchedRules).toEqual([]);
    expect(globex.body.ticket.number).toBe(acme.body.ticket.number + 1);
  });

  it('shows the co-managed agent only its customer’s tickets, users, customers and search results', async () => {
    const tickets = await call<{ items: { customerId: string; summary: string }[] }>(carl.headers, 'GET', '/v1/tickets?q=vpn');
    expect(tickets.status).toBe(200);
    expect(tickets.body.items.map((i) => i.customerId)).toEqual([ids.acme]);
    expect((await call<{ items: { id: string }[] }>(carl.headers, 'GET', '/v1/customers')).body.items.map((c) => c.id)).toEqual([ids.acme]);
    expect((await call<{ items: { id: string }[] }>(carl.headers, 'GET', '/v1/users?q=at')).body.items.map((u) => u.id)).toEqual([ids.acmeUser]);
    // Rita sees both customers' tickets.
    expect((await call<{ items: unknown[] }>(rita.headers, 'GET', '/v1/tickets')).body.items).toHaveLength(2);
  });

  it('keeps the co-managed agent to text search and shared lists: no filters, no lists of its own', async () => {
    const head = await t.db.read((stores) => stores.desk.listTicketLists({ agentId: carl.agent.id, limit: 100 }));
    for (const query of [`customerId=${ids.globex}`, `teamId=${ids.partner}`, 'closed=false', `statusId=${ids.statusNew}&q=vpn`]) {
      const filtered = await call<Problem>(carl.headers, 'GET', `/v1/tickets?${query}`);
      expect(filtered.status, query).toBe(403);
      expect(filtered.body.code).toBe('CO_MANAGED_REFUSED');
      expect(filtered.body.errors?.map((e) => e.path)).toEqual([query.split('=')[0]]);
    }
    const made = await call<Problem>(carl.headers, 'POST', '/v1/ticket-lists', { name: 'My partner tickets', filters: { teamId: ids.partner } });
    expect(made).toMatchObject({ status: 403, body: { code: 'CO_MANAGED_REFUSED' } });
    expect(await t.db.read((stores) => stores.desk.listTicketLists({ agentId: carl.agent.id, limit: 100 }))).toEqual(head);

    // An administrator's shared list runs for the co-managed agent within its own customer; a private one is not found.
    const shared = await admin<{ id: string; agentId: string; shared: boolean }>('POST', '/v1/ticket-lists', { name: 'Open on the partner desk', shared: true, filters: { teamId: ids.partner, closed: false } });
    expect(shared).toMatchObject({ status: 201, body: { shared: true, agentId: t.ctx.actor.id } });
    const everything = await admin<{ id: string }>('POST', '/v1/ticket-lists', { name: 'Every open ticket', filters: { closed: false } });
    const seen = await call<{ items: { id: string }[] }>(carl.headers, 'GET', '/v1/ticket-lists');
    expect(seen.body.items.map((l) => l.id)).toEqual([shared.body.id]);
    const run = await call<{ items: { customerId: string; teamId: string }[] }>(carl.headers, 'GET', `/v1/ticket-lists/${shared.body.id}/tickets`);
    expect(run.status).toBe(200);
    expect(run.body.items.length).toBeGreaterThan(0);
    for (const ticket of run.body.items) expect(ticket).toMatchObject({ customerId: ids.acme, teamId: ids.partner });
    for (const url of [`/v1/ticket-lists/${everything.body.id}`, `/v1/ticket-lists/${everything.body.id}/tickets`]) {
      expect((await call<Problem>(carl.headers, 'GET', url)).body.code).toBe('TICKET_LIST_NOT_FOUND');
    }
    expect((await call<Problem>(carl.headers, 'PATCH', `/v1/ticket-lists/${shared.body.id}`, { name: 'Mine now' })).status).toBe(403);
    expect((await call<Problem>(carl.headers, 'DELETE', `/v1/ticket-lists/${shared.body.id}`)).status).toBe(403);
    expect((await admin<{ name: string }>('GET', `/v1/ticket-lists/${shared.body.id}`)).body.name).toBe('Open on the partner desk');
  });

  it('names the desk’s choices as far as each caller sees: the co-managed agent its own team and customer group only', async () => {
    interface Choices {
      you: { coManaged: boolean; mayLogTickets: boolean; mayFilter: boolean };
      ticketTypes: { id: string; name: string; mayLog: boolean }[];
      statuses: { id: string; name: string; closed: boolean }[];
      teams: { id: string; name: string; member: boolean }[];
      agents: { id: string; name: string }[];
      assetTypes: unknown[];
    }
    const carls = (await call<Choices>(carl.headers, 'GET', '/v1/desk/choices')).body;
    expect(carls.you).toEqual({ coManaged: true, mayLogTickets: true, mayFilter: false });
    expect(carls.ticketTypes).toEqual([{ id: ids.incident, name: 'Incident', mayLog: true }]);
    expect(carls.statuses.map((s) => [s.name, s.closed])).toEqual([['Closed', true], ['Escalated', false], ['In progress', false], ['New', false]]);
    // Only its own team, and only the agents of its customer group: itself.
    expect(carls.teams).toEqual([{ id: ids.partner, name: 'Partner desk', member: true }]);
    expect(carls.agents).toEqual([{ id: carl.agent.id, name: 'Carl Co-managed' }]);

    const ritas = (await call<Choices>(rita.headers, 'GET', '/v1/desk/choices')).body;
    expect(ritas.you).toEqual({ coManaged: false, mayLogTickets: true, mayFilter: true });
    expect(ritas.teams.map((team) => team.name)).toEqual(['First line', 'Partner desk']);
    expect(ritas.agents.map((a) => a.name)).toEqual(expect.arrayContaining(['Carl Co-managed', 'Rita Regular']));

    // A ticket type not allowed for co-managed agents is named, but not theirs to log.
    const internal = await config('ticket-types', { name: 'Internal request', allowedForCoManaged: false });
    try {
      const again = (await call<Choices>(carl.headers, 'GET', '/v1/desk/choices')).body;
      expect(again.ticketTypes.find((type) => type.id === internal)).toEqual({ id: internal, name: 'Internal request', mayLog: false });
      // An administrator reads configuration: every team, whether a member or not.
      const admins = (await admin<Choices>('GET', '/v1/desk/choices')).body;
      expect(admins.teams.map((team) => [team.name, team.member])).toEqual([['First line', false], ['Partner desk', false]]);
    } finally {
      await t.services.config.remove(t.ctx, 'ticket-types', internal);
    }
  });

  it('runs the view lists of the configuration for the teams they are for, within what each agent sees', async () => {
    const partnerOpen = await config('view-lists', { name: 'Partner desk, open', teamIds: [ids.partner], closed: false, visibleToTeamIds: [ids.partner] });
    const firstLine = await config('view-lists', { name: 'First line', teamIds: [ids.firstLine], visibleToTeamIds: [ids.firstLine] });
    const everyone = await config('view-lists', { name: 'VPN trouble', summaryContains: 'vpn', statusIds: [ids.statusNew, ids.statusWork] });

    const carlViews = await call<{ items: { id: string }[] }>(carl.headers, 'GET', '/v1/view-lists');
    expect(carlViews.body.items.map((v) => v.id).sort()).toEqual([partnerOpen, everyone].sort());
    const ritaViews = await call<{ items: { id: string; name: string; teamIds: string[] }[] }>(rita.headers, 'GET', '/v1/view-lists');
    expect(ritaViews.body.items.map((v) => v.id).sort()).toEqual([partnerOpen, firstLine, everyone].sort());
    expect(ritaViews.body.items.find((v) => v.id === partnerOpen)).toMatchObject({ name: 'Partner desk, open', teamIds: [ids.partner] });

    // The co-managed agent, who may not filter, runs the list: only its customer's open tickets of the partner desk.
    const run = await call<{ items: { customerId: string; teamId: string; closed: boolean }[] }>(carl.headers, 'GET', `/v1/view-lists/${partnerOpen}/tickets`);
    expect(run.status).toBe(200);
    expect(run.body.items.length).toBeGreaterThan(0);
    for (const ticket of run.body.items) expect(ticket).toMatchObject({ customerId: ids.acme, teamId: ids.partner, closed: false });
    const all = await admin<{ items: { summary: string; statusId: string }[] }>('GET', `/v1/view-lists/${everyone}/tickets`);
    expect(all.body.items.length).toBeGreaterThan(0);
    for (const ticket of all.body.items) {
      expect(ticket.summary.toLowerCase()).toContain('vpn');
      expect([ids.statusNew, ids.statusWork]).toContain(ticket.statusId);
    }
    expect((await call<Problem>(carl.headers, 'GET', `/v1/view-lists/${firstLine}/tickets`)).body.code).toBe('VIEW_LIST_NOT_FOUND');
    expect((await call<Problem>(carl.headers, 'GET', `/v1/view-lists/${ids.incident}/tickets`)).body.code).toBe('VIEW_LIST_NOT_FOUND');
    // A view list is configuration: the co-managed agent cannot write one.
    expect((await call<Problem>(carl.headers, 'POST', '/v1/config/view-lists', { name: 'Mine' })).status).toBe(403);
  });

  it('saves, runs, changes and deletes a regular agent’s lists, refusing filters that name nothing here', async () => {
    const list = await call<{ id: string; filters: Record<string, unknown> }>(rita.headers, 'POST', '/v1/ticket-lists', { name: 'Globex', filters: { customerId: ids.globex } });
    expect(list).toMatchObject({ status: 201, body: { filters: { customerId: ids.globex } } });
    const run = await call<{ items: { customerId: string }[] }>(rita.headers, 'GET', `/v1/ticket-lists/${list.body.id}/tickets`);
    expect(run.body.items.length).toBeGreaterThan(0);
    expect(new Set(run.body.items.map((i) => i.customerId))).toEqual(new Set([ids.globex]));
    // The same filters as a search give the same tickets.
    expect((await call<{ items: unknown[] }>(rita.headers, 'GET', `/v1/tickets?customerId=${ids.globex}`)).body.items).toEqual(run.body.items);

    const changed = await call<{ name: string; filters: Record<string, unknown> }>(rita.headers, 'PATCH', `/v1/ticket-lists/${list.body.id}`, { name: 'Acme on the partner desk', filters: { customerId: ids.acme, teamId: ids.partner } });
    expect(changed.body).toMatchObject({ name: 'Acme on the partner desk', filters: { customerId: ids.acme, teamId: ids.partner } });

    const wrong = await call<Problem>(rita.headers, 'POST', '/v1/ticket-lists', { name: 'Nowhere', filters: { teamId: 'no-such-team', statusId: ids.acme, agentId: 'nobody' } });
    expect(wrong).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND' } });
    expect(wrong.body.errors?.map((e) => e.path).sort()).toEqual(['filters.agentId', 'filters.statusId', 'filters.teamId']);
    const unknown = await call<Problem>(rita.headers, 'POST', '/v1/ticket-lists', { name: 'Extra', filters: { priority: 1 } });
    expect(unknown).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    // Private lists are their owner's alone.
    expect((await admin<Problem>('GET', `/v1/ticket-lists/${list.body.id}`)).body.code).toBe('TICKET_LIST_NOT_FOUND');
    expect((await call(rita.headers, 'DELETE', `/v1/ticket-lists/${list.body.id}`)).status).toBe(204);
    expect((await call<Problem>(rita.headers, 'GET', `/v1/ticket-lists/${list.body.id}`)).status).toBe(404);
  });

  it('keeps an agent restricted to ticket groups to the tickets of their ticket types', async () => {
    const change = await config('ticket-types', { name: 'Change', defaultTeamId: ids.firstLine });
    const incidents = await config('ticket-groups', { name: 'Incidents', ticketTypeIds: [ids.incident] });
    const changeTicket = (await admin<{ ticket: { id: string } }>('POST', '/v1/tickets', { customerId: ids.globex, ticketTypeId: change, summary: 'Replace the core switch' })).body.ticket.id;
    const deskFlags = { addTickets: true, viewUnassignedTickets: true, viewTicketsAssignedToOthers: true, editTicketsNotAssigned: true, changeTicketType: true, exportTickets: true };
    const teams = [
      { teamId: ids.firstLine, access: 'modify' as const },
      { teamId: ids.partner, access: 'modify' as const },
    ];
    const gwen = await createAgent(t, {
      name: 'Gwen Grouped',
      roles: [{ name: 'Incident desk', ticketAccess: 'modify', ticketPermissions: deskFlags, teamMemberships: teams, ticketGroupRestrictions: { restrictToGroups: true, ticketGroupIds: [incidents] } }],
    });

    const listed = await call<{ items: { id: string; ticketTypeId: string }[] }>(gwen.headers, 'GET', '/v1/tickets?limit=200');
    expect(listed.body.items.length).toBeGreaterThan(0);
    expect(new Set(listed.body.items.map((i) => i.ticketTypeId))).toEqual(new Set([ids.incident]));
    for (const url of [`/v1/tickets/${changeTicket}`, `/v1/tickets/${changeTicket}/actions`]) expect((await call<Problem>(gwen.headers, 'GET', url)).body.code).toBe('TICKET_NOT_FOUND');
    const csv = await t.app.inject({ method: 'GET', url: '/v1/tickets/export', headers: gwen.headers });
    expect(csv.body).not.toContain('Replace the core switch');

    const refused = await call<Problem>(gwen.headers, 'POST', '/v1/tickets', { customerId: ids.globex, ticketTypeId: change, summary: 'Another change' });
    expect(refused).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', errors: [{ path: 'ticketTypeId', code: 'outside-ticket-groups' }] } });
    const logged = await call<{ ticket: { id: string } }>(gwen.headers, 'POST', '/v1/tickets', { customerId: ids.globex, ticketTypeId: ids.incident, summary: 'Printer offline' });
    expect(logged.status).toBe(201);
    const moved = await call<Problem>(gwen.headers, 'PATCH', `/v1/tickets/${logged.body.ticket.id}`, { ticketTypeId: change });
    expect(moved).toMatchObject({ status: 403, body: { errors: [{ path: 'ticketTypeId' }] } });
    expect((await admin<{ ticketTypeId: string }>('GET', `/v1/tickets/${logged.body.ticket.id}`)).body.ticketTypeId).toBe(ids.incident);

    // Restrictions only narrow: a second restricting role whose groups share no type leaves no ticket in sight.
    const changes = await config('ticket-groups', { name: 'Changes', ticketTypeIds: [change] });
    const narrowed = await createAgent(t, {
      name: 'Nora Narrowed',
      roles: [
        { name: 'Incidents only', ticketAccess: 'read', ticketPermissions: deskFlags, teamMemberships: teams, ticketGroupRestrictions: { restrictToGroups: true, ticketGroupIds: [incidents] } },
        { name: 'Changes only', ticketAccess: 'read', ticketPermissions: deskFlags, teamMemberships: teams, ticketGroupRestrictions: { restrictToGroups: true, ticketGroupIds: [changes] } },
      ],
    });
    expect((await call<{ items: unknown[] }>(narrowed.headers, 'GET', '/v1/tickets')).body.items).toEqual([]);
    // The group is tracked configuration: a ticket type in a group cannot be deleted from under it.
    expect((await admin<Problem>('DELETE', `/v1/config/ticket-types/${ids.incident}`)).body.code).toBe('ENTITY_REFERENCED');
  });

  it('answers "not found" for another customer’s records, whatever the route, and changes nothing', async () => {
    const globexTicket = (await admin<{ items: { id: string; customerId: string }[] }>('GET', `/v1/tickets?customerId=${ids.globex}`)).body.items[0]!.id;
    const before = await admin('GET', `/v1/tickets/${globexTicket}/actions`);
    const attempts: [InjectOptions['method'], string, unknown?][] = [
      ['GET', `/v1/tickets/${globexTicket}`],
      ['GET', `/v1/tickets/${globexTicket}/actions`],
      ['PATCH', `/v1/tickets/${globexTicket}`, { summary: 'Taken over' }],
      ['POST', `/v1/tickets/${globexTicket}/actions`, { kind: 'note', note: 'Hello' }],
      ['GET', `/v1/customers/${ids.globex}`],
      ['GET', `/v1/users/${ids.globexUser}`],
    ];
    for (const [method, url, payload] of attempts) {
      const res = await call<Problem>(carl.headers, method, url, payload);
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body.code).toMatch(/_NOT_FOUND$/);
    }
    expect(await admin('GET', `/v1/tickets/${globexTicket}/actions`)).toEqual(before);

    const logged = await call<Problem>(carl.headers, 'POST', '/v1/tickets', { customerId: ids.globex, ticketTypeId: ids.incident, summary: 'Sneaky' });
    // Another customer is refused as one that does not exist.
    expect(logged).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'customerId', code: 'reference-not-found' }] } });
    expect((await admin<{ items: { summary: string }[] }>('GET', '/v1/tickets?q=sneaky')).body.items).toEqual([]);
  });

  it('scopes assets to the agent’s customers as well', async () => {
    const assetType = await config('asset-types', { name: 'Laptop' });
    const acmeAsset = await admin<{ entity: { id: string } }>('POST', '/v1/assets', { name: 'ACME-LT-01', assetTypeId: assetType, customerId: ids.acme });
    const globexAsset = await admin<{ entity: { id: string } }>('POST', '/v1/assets', { name: 'GLX-LT-01', assetTypeId: assetType, customerId: ids.globex });
    expect(acmeAsset.status).toBe(201);
    expect((await call<{ items: { id: string }[] }>(carl.headers, 'GET', '/v1/assets')).body.items.map((a) => a.id)).toEqual([acmeAsset.body.entity.id]);
    expect((await call<Problem>(carl.headers, 'GET', `/v1/assets/${globexAsset.body.entity.id}`)).body.code).toBe('ASSET_NOT_FOUND');
    const moved = await call<Problem>(carl.headers, 'PUT', `/v1/assets/${acmeAsset.body.entity.id}`, { name: 'ACME-LT-01', assetTypeId: assetType, customerId: ids.globex });
    expect(moved).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'customerId' }] } });
    expect((await admin<{ body: { customerId: string } }>('GET', `/v1/assets/${acmeAsset.body.entity.id}`)).body.body.customerId).toBe(ids.acme);
  });

  it('lets the co-managed agent work its customer’s tickets, but not use an action restricted to other teams', async () => {
    const logged = await call<{ ticket: { id: string; teamId: string; availableActions: { id: string }[] } }>(carl.headers, 'POST', '/v1/tickets', {
      customerId: ids.acme,
      ticketTypeId: ids.incident,
      summary: 'Laptop will not boot',
    });
    expect(logged.status).toBe(201);
    const ticket = logged.body.ticket;
    expect(ticket.teamId).toBe(ids.partner);
    expect(ticket.availableActions.map((a) => a.id)).toEqual(['start']);

    const escalated = await call<Problem>(carl.headers, 'POST', `/v1/tickets/${ticket.id}/actions`, { kind: 'workflow-action', actionId: 'escalate' });
    expect(escalated).toMatchObject({ status: 403, body: { code: 'ACTION_RESTRICTED' } });
    const ritaView = await call<{ availableActions: { id: string }[] }>(rita.headers, 'GET', `/v1/tickets/${ticket.id}`);
    expect(ritaView.body.availableActions.map((a) => a.id)).toEqual(['start', 'escalate']);

    const started = await call<{ ticket: { stepId: string; statusId: string; closed: boolean } }>(carl.headers, 'POST', `/v1/tickets/${ticket.id}/actions`, {
      kind: 'workflow-action',
      actionId: 'start',
      note: 'Picked up.',
    });
    expect(started).toMatchObject({ status: 201, body: { ticket: { stepId: 'work', statusId: ids.statusWork, closed: false } } });
    const resolved = await call<{ ticket: { statusId: string; closed: boolean; availableActions: unknown[] } }>(carl.headers, 'POST', `/v1/tickets/${ticket.id}/actions`, {
      kind: 'workflow-action',
      actionId: 'resolve',
    });
    expect(resolved.body.ticket).toMatchObject({ statusId: ids.statusClosed, closed: true, availableActions: [] });
    const closedNote = await call<Problem>(carl.headers, 'POST', `/v1/tickets/${ticket.id}/actions`, { kind: 'note', note: 'After closing' });
    expect(closedNote).toMatchObject({ status: 403, body: { code: 'TICKET_PERMISSION_REQUIRED' } });
    const history = await call<{ items: { kind: string; name: string }[] }>(carl.headers, 'GET', `/v1/tickets/${ticket.id}/actions`);
    expect(history.body.items.map((a) => [a.kind, a.name])).toEqual([
      ['created', 'Ticket logged'],
      ['workflow-action', 'Start work'],
      ['workflow-action', 'Resolve'],
    ]);
  });

  it('refuses the co-managed agent re-assigning a regular agent’s ticket while the general setting is on', async () => {
    const logged = await admin<{ ticket: { id: string } }>('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.incident, summary: 'Mail bounces', agentId: rita.agent.id });
    const id = logged.body.ticket.id;
    const refused = await call<Problem>(carl.headers, 'PATCH', `/v1/tickets/${id}`, { agentId: carl.agent.id });
    expect(refused).toMatchObject({ status: 403, body: { code: 'REASSIGN_REFUSED' } });
    expect((await admin<{ agentId: string }>('GET', `/v1/tickets/${id}`)).body.agentId).toBe(rita.agent.id);

    // The regular agent may hand it over; with the setting off, so may the co-managed agent.
    await t.services.config.replace(t.ctx, 'global-settings', ids.setting, { name: CO_MANAGED_CANNOT_REASSIGN, value: false });
    const taken = await call<{ agentId: string }>(carl.headers, 'PATCH', `/v1/tickets/${id}`, { agentId: carl.agent.id });
    expect(taken).toMatchObject({ status: 200, body: { agentId: carl.agent.id } });
    await t.services.config.replace(t.ctx, 'global-settings', ids.setting, { name: CO_MANAGED_CANNOT_REASSIGN, value: true });
  });

  it('keeps the co-managed agent from assigning outside its teams or to agents it cannot see', async () => {
    const logged = await call<{ ticket: { id: string } }>(carl.headers, 'POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.incident, summary: 'Printer jam' });
    const id = logged.body.ticket.id;
    const toTeam = await call<Problem>(carl.headers, 'PATCH', `/v1/tickets/${id}`, { teamId: ids.firstLine });
    expect(toTeam).toMatchObject({ status: 403, body: { code: 'TICKET_PERMISSION_REQUIRED' } });
    // Rita is outside Carl's customer group: to Carl she does not exist.
    const toRita = await call<Problem>(carl.headers, 'PATCH', `/v1/tickets/${id}`, { agentId: rita.agent.id });
    expect(toRita).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'agentId' }] } });
  });

  it('refuses bad input with a problem naming the field, and writes nothing', async () => {
    const before = (await admin<{ items: unknown[] }>('GET', '/v1/tickets?limit=200')).body.items.length;
    const cases: [unknown, number, string][] = [
      [{ customerId: ids.acme, ticketTypeId: ids.incident }, 400, 'summary'],
      [{ customerId: ids.acme, ticketTypeId: ids.incident, summary: 'x', extra: true }, 400, ''],
      [{ customerId: ids.acme, ticketTypeId: ids.statusNew, summary: 'Wrong type' }, 422, 'ticketTypeId'],
      [{ customerId: ids.acme, userId: ids.globexUser, ticketTypeId: ids.incident, summary: 'Wrong user' }, 422, 'userId'],
      [{ customerId: ids.acme, ticketTypeId: ids.incident, summary: 'Bad status', statusId: ids.firstLine }, 422, 'statusId'],
      [{ customerId: 'no-such-customer', ticketTypeId: ids.incident, summary: 'Nobody’s' }, 422, 'customerId'],
      [{ customerId: ids.acme, userId: 'no-such-user', ticketTypeId: ids.incident, summary: 'Nobody asked' }, 422, 'userId'],
      [{ customerId: ids.acme, ticketTypeId: ids.incident, summary: 'Nobody works it', agentId: 'no-such-agent' }, 422, 'agentId'],
    ];
    for (const [payload, status, path] of cases) {
      const res = await admin<Problem>('POST', '/v1/tickets', payload);
      expect(res.status, JSON.stringify(payload)).toBe(status);
      if (status === 422) expect(res.body.code, JSON.stringify(payload)).toBe('REFERENCE_NOT_FOUND');
      if (path) expect(res.body.errors?.map((e) => e.path)).toContain(path);
    }
    expect((await admin<{ items: unknown[] }>('GET', '/v1/tickets?limit=200')).body.items).toHaveLength(before);
    const ticket = (await admin<{ ticket: { id: string; agentId: string | null; updatedAt: string } }>('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.incident, summary: 'Kept' })).body.ticket;
    const reassigned = await admin<Problem>('PATCH', `/v1/tickets/${ticket.id}`, { agentId: 'no-such-agent' });
    expect(reassigned).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'agentId' }] } });
    expect((await admin<{ agentId: string | null; updatedAt: string }>('GET', `/v1/tickets/${ticket.id}`)).body).toMatchObject({ agentId: ticket.agentId, updatedAt: ticket.updatedAt });
    const inUse = await admin<Problem>('DELETE', `/v1/customers/${ids.acme}`);
    expect(inUse).toMatchObject({ status: 409, body: { code: 'CUSTOMER_IN_USE' } });
  });

  it('refuses a user or an asset naming a customer this instance lacks, at the field, and writes nothing', async () => {
    const count = async (url: string) => (await admin<{ items: unknown[] }>('GET', `${url}?limit=200`)).body.items.length;
    const [users, assets] = [await count('/v1/users'), await count('/v1/assets')];
    const assetTypeId = await config('asset-types', { name: 'Phone' });
    const refusals: [InjectOptions['method'], string, unknown][] = [
      ['POST', '/v1/users', { customerId: 'no-such-customer', name: 'Nobody’s user' }],
      ['PATCH', `/v1/users/${ids.acmeUser}`, { customerId: 'no-such-customer', name: 'Moved away' }],
      ['POST', '/v1/assets', { name: 'Nobody’s phone', assetTypeId, customerId: 'no-such-customer' }],
    ];
    for (const [method, url, payload] of refusals) {
      const res = await admin<Problem>(method, url, payload);
      expect(res, `${method} ${url}`).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'customerId', code: 'reference-not-found' }] } });
    }
    expect((await admin<{ customerId: string; name: string }>('GET', `/v1/users/${ids.acmeUser}`)).body).toMatchObject({ customerId: ids.acme, name: 'Ada at Acme' });
    expect([await count('/v1/users'), await count('/v1/assets')]).toEqual([users, assets]);
  });

  it('exports the tickets the caller sees as CSV, only with the export permission, defusing formulas', async () => {
    const refused = await call<Problem>(carl.headers, 'GET', '/v1/tickets/export');
    expect(refused).toMatchObject({ status: 403, body: { code: 'TICKET_PERMISSION_REQUIRED', ticketPermission: 'exportTickets' } });

    await admin('POST', '/v1/tickets', { customerId: ids.globex, ticketTypeId: ids.incident, summary: '=HYPERLINK("http://evil.test","click"), then "quotes"' });
    const res = await t.app.inject({ method: 'GET', url: '/v1/tickets/export?q=hyperlink', headers: t.auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const [header, row, end] = res.body.split('\r\n');
    expect(header).toBe('number,id,customerId,userId,ticketTypeId,statusId,teamId,agentId,priority,summary,closed,createdAt,updatedAt');
    expect(row).toContain(`,"'=HYPERLINK(""http://evil.test"",""click""), then ""quotes""",false,`);
    expect(end).toBe('');

    // With the permission, a co-managed agent's export holds its customer's tickets only.
    const exporter = await createAgent(t, {
      name: 'Exporting partner',
      coManagedCustomerId: ids.acme,
      clientRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
      roles: [
        {
          name: 'Partner exports',
          ticketAccess: 'read',
          ticketPermissions: { exportTickets: true, viewUnassignedTickets: true, viewTicketsAssignedToOthers: true },
          teamMemberships: [{ teamId: ids.partner, access: 'read' }],
        },
      ],
    });
    const own = await t.app.inject({ method: 'GET', url: '/v1/tickets/export', headers: exporter.headers });
    const rows = own.body.trim().split('\r\n').slice(1);
    expect(rows.length).toBeGreaterThan(0);
    for (const line of rows) expect(line.split(',')[2]).toBe(ids.acme);
  });

  it('records no change for desk records, and a restore of the instance would clear them', async () => {
    const changes = await admin<{ items: { type: string }[] }>('GET', '/v1/changes?limit=200');
    expect(changes.body.items.map((c) => c.type)).not.toContain('tickets');
    expect(new Set(changes.body.items.map((c) => c.type))).not.toContain('customers');
    await t.db.write((stores) => stores.desk.clear());
    expect((await admin<{ items: unknown[] }>('GET', '/v1/tickets')).body.items).toEqual([]);
    expect((await admin<{ items: unknown[] }>('GET', '/v1/customers')).body.items).toEqual([]);
  });
});
