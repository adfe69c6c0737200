import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/instance.js';

type Json = Record<string, unknown>;

/** What an integration may do, as a bearer: everything it asks for over real HTTP. */
interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read into arbitrary response shapes
  body: any;
}

/** The tables a refused request must leave as they were (desk records, configuration, history, access). */
const FINGERPRINTED = ['entities', 'changes', 'customers', 'desk_users', 'tickets', 'ticket_actions', 'ticket_lists', 'agents', 'applications', 'api_tokens', 'settings', 'peers'] as const;

/**
 * The least-privilege guide (`least-privilege-api-integration.txt`) end to end: an API-only agent with exactly the
 * guide's access levels, ticket permissions and teams, behind an application with exactly the guide's permissions, used
 * by a real OAuth client (openid-client, client credentials). It logs tickets for its team and updates them, reads
 * customers and users, creates and updates assets and adds a ticket's details to one — and nothing more.
 */
describe.each(engines)('the least-privilege integration of the guide on %s', (engine) => {
  let t: TestApp;
  let baseUrl: string;
  let token: string;
  const ids = {} as Record<
    'firstLine' | 'secondLine' | 'projects' | 'statusNew' | 'statusClosed' | 'vulnerability' | 'workstation' | 'acme' | 'pat' | 'agent' | 'colleague' | 'projectTicket',
    string
  >;

  async function call(headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  }
  const admin = async (method: string, path: string, body?: unknown): Promise<Answer['body']> => {
    const answer = await call(t.auth, method, path, body);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const integration = (method: string, path: string, body?: unknown) => call({ authorization: `Bearer ${token}` }, method, path, body);

  async function fingerprint(): Promise<string> {
    const db = t.database.dialect.db;
    const tables = await Promise.all(FINGERPRINTED.map((table) => db.selectFrom(table).selectAll().execute()));
    return JSON.stringify(tables);
  }

  beforeAll(async () => {
    t = await createTestApp(engine);
    baseUrl = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/\/$/, '');
    // What the service desk has: teams, statuses, a ticket type and an asset type, a customer and its user.
    ids.firstLine = (await admin('POST', '/v1/config/teams', { name: '1st Line Support' })).entity.id;
    ids.secondLine = (await admin('POST', '/v1/config/teams', { name: '2nd Line Support' })).entity.id;
    ids.projects = (await admin('POST', '/v1/config/teams', { name: 'Projects' })).entity.id;
    ids.statusNew = (await admin('POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true })).entity.id;
    ids.statusClosed = (await admin('POST', '/v1/config/statuses', { name: 'Closed', kind: 'ticket', isClosed: true })).entity.id;
    ids.vulnerability = (await admin('POST', '/v1/config/ticket-types', { name: 'Vulnerability' })).entity.id;
    ids.workstation = (await admin('POST', '/v1/config/asset-types', { name: 'Workstation' })).entity.id;
    ids.acme = (await admin('POST', '/v1/customers', { name: 'Acme' })).id;
    ids.pat = (await admin('POST', '/v1/users', { customerId: ids.acme, name: 'Pat at Acme', email: 'pat@acme.test' })).id;

    // The guide's agent: API-only; ticket, client and users access read and modify; the twelve ticket permissions; the
    // teams added under Department & Teams (which give read access to the teams).
    const role = await admin('POST', '/v1/config/roles', {
      name: 'HaloPSA integration',
      ticketAccess: 'modify',
      customerAccess: 'modify',
      userAccess: 'modify',
      ticketPermissions: {
        addTickets: true,
        editClosedTickets: true,
        viewUnassignedTickets: true,
        viewTicketsAssignedToOthers: true,
        changeTicketType: true,
        reassignTickets: true,
        assignOutsideOwnTeams: true,
        editTicketsNotAssigned: true,
        overrideMaxPriority: true,
        overrideReviewProcessing: true,
        treatAsSpam: true,
        exportTickets: true,
      },
      teamMemberships: [{ teamId: ids.firstLine }, { teamId: ids.secondLine }],
    });
    expect(role.entity.body.teamMemberships).toEqual([
      { teamId: ids.firstLine, access: 'read' },
      { teamId: ids.secondLine, access: 'read' },
    ]);
    ids.agent = (await admin('POST', '/v1/agents', { name: 'TesthaloIntegration', email: 'halo-integration@msp.test', apiOnly: true, roleIds: [role.entity.id] })).id;
    ids.colleague = (await admin('POST', '/v1/agents', { name: 'Colleague', email: 'colleague@msp.test', roleIds: [role.entity.id] })).id;

    // The guide's application: read tickets, edit tickets, read customers, and the asset permissions; logging in as the agent.
    const app = await admin('POST', '/v1/applications', {
      name: 'Cybertest',
      agentId: ids.agent,
      permissions: ['tickets:read', 'tickets:edit', 'customers:read', 'assets:read', 'assets:edit'],
    });
    const config = new client.Configuration({ issuer: baseUrl, token_endpoint: `${baseUrl}/auth/token` }, app.application.clientId, app.clientSecret, client.ClientSecretPost(app.clientSecret));
    client.allowInsecureRequests(config);
    token = (await client.clientCredentialsGrant(config)).access_token;

    // A ticket of a team the integration is not in.
    ids.projectTicket = (await admin('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.vulnerability, summary: 'Project work', teamId: ids.projects })).ticket.id;
  });
  afterAll(async () => t?.close());

  it('acts with exactly what the application and the agent both grant', async () => {
    const me = await integration('GET', '/v1/agents/me');
    expect(me.status).toBe(200);
    expect(me.body.effective.permissions).toEqual(['assets:edit', 'assets:read', 'customers:read', 'tickets:edit', 'tickets:read', 'users:read']);
  });

  it('reads customers and their users', async () => {
    expect((await integration('GET', '/v1/customers?q=Acme')).body.items.map((c: Json) => c.id)).toEqual([ids.acme]);
    expect((await integration('GET', `/v1/customers/${ids.acme}`)).status).toBe(200);
    expect((await integration('GET', `/v1/users?customerId=${ids.acme}`)).body.items.map((u: Json) => u.id)).toEqual([ids.pat]);
    expect((await integration('GET', `/v1/users/${ids.pat}`)).body).toMatchObject({ email: 'pat@acme.test' });
  });

  it('logs a ticket for its team and updates it — summary, details, status, a note — even once a colleague has it', async () => {
    const logged = await integration('POST', '/v1/tickets', { customerId: ids.acme, userId: ids.pat, ticketTypeId: ids.vulnerability, summary: 'CVE-2024-3094 on ACME-WS-01', teamId: ids.firstLine });
    expect(logged).toMatchObject({ status: 201, body: { ticket: { teamId: ids.firstLine, agentId: null, statusId: ids.statusNew } } });
    const id = logged.body.ticket.id as string;

    const updated = await integration('PATCH', `/v1/tickets/${id}`, { details: 'Severity: critical. Affected: xz 5.6.0.', priority: 2 });
    expect(updated).toMatchObject({ status: 200, body: { details: 'Severity: critical. Affected: xz 5.6.0.', priority: 2 } });
    expect((await integration('POST', `/v1/tickets/${id}/actions`, { kind: 'note', note: 'Rescan found it again.' })).status).toBe(201);

    // A technician takes the ticket; the integration still updates it, and closes it when the scan is clean.
    await admin('PATCH', `/v1/tickets/${id}`, { agentId: ids.colleague });
    expect((await integration('PATCH', `/v1/tickets/${id}`, { summary: 'CVE-2024-3094 on ACME-WS-01 (remediated)', statusId: ids.statusClosed })).body).toMatchObject({ closed: true, agentId: ids.colleague });
    expect((await integration('POST', `/v1/tickets/${id}/actions`, { kind: 'note', note: 'Closed by the scanner.' })).status).toBe(201);
    expect((await integration('GET', '/v1/tickets?q=CVE-2024-3094')).body.items.map((i: Json) => i.id)).toEqual([id]);
  });

  it('creates an asset, updates it, and adds a ticket’s details to it', async () => {
    const created = await integration('POST', '/v1/assets', { name: 'ACME-WS-01', assetTypeId: ids.workstation, customerId: ids.acme, userIds: [ids.pat], fields: { os: 'Fedora 40' } });
    expect(created.status).toBe(201);
    const id = created.body.entity.id as string;
    const ticket = (await integration('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.vulnerability, summary: 'Outdated OpenSSH on ACME-WS-01', teamId: ids.secondLine })).body.ticket;
    const current = await integration('GET', `/v1/assets/${id}`);
    const detailed = await integration('PUT', `/v1/assets/${id}`, { ...current.body.body, fields: { ...current.body.body.fields, lastScan: '2026-01-05', openTicket: ticket.number } });
    expect(detailed.status).toBe(200);
    expect((await integration('GET', `/v1/assets?customerId=${ids.acme}`)).body.items).toEqual([expect.objectContaining({ id, body: expect.objectContaining({ fields: { os: 'Fedora 40', lastScan: '2026-01-05', openTicket: ticket.number } }) })]);
  });

  it('sees nothing of the teams it is not in: their tickets are not found, and stay as they were', async () => {
    const before = await admin('GET', `/v1/tickets/${ids.projectTicket}`);
    expect((await integration('GET', `/v1/tickets/${ids.projectTicket}`)).body.code).toBe('TICKET_NOT_FOUND');
    expect((await integration('PATCH', `/v1/tickets/${ids.projectTicket}`, { summary: 'Mine' })).body.code).toBe('TICKET_NOT_FOUND');
    expect((await integration('POST', `/v1/tickets/${ids.projectTicket}/actions`, { kind: 'note', note: 'x' })).body.code).toBe('TICKET_NOT_FOUND');
    expect((await integration('GET', '/v1/tickets?q=Project')).body.items).toEqual([]);
    expect(await admin('GET', `/v1/tickets/${ids.projectTicket}`)).toEqual(before);
  });

  it('is refused every route that needs more — configuration, access management, editing customers and users, sync — with nothing changed', async () => {
    const granted = new Set(['tickets:read', 'tickets:edit', 'customers:read', 'users:read', 'assets:read', 'assets:edit', 'public', 'authenticated']);
    const others = t.routeTable.filter((r) => !granted.has(r.permission));
    expect(others.map((r) => r.permission)).toEqual(expect.arrayContaining(['config:read', 'config:edit', 'access:manage', 'customers:edit', 'users:edit', 'config:push', 'audit:read']));
    const before = await fingerprint();
    for (const route of others) {
      const path = route.url.replace(/:(\w+)/g, (_, name: string) => (name === 'type' ? 'teams' : name === 'id' ? ids.acme : 'staging'));
      const res = await integration(route.method, path, ['GET', 'DELETE'].includes(route.method) ? undefined : { name: 'Integration probe', customerId: ids.acme });
      expect(res, `${route.method} ${route.url} (${route.permission})`).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', permission: route.permission } });
    }
    expect(await fingerprint()).toBe(before);
  });
});
