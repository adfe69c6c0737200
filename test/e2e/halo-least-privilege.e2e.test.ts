import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { HaloClient, type HaloJson } from '../support/halo-client.js';
import { contractProblems } from '../support/halo-contract.js';
import { createTestApp, type TestApp } from '../support/instance.js';

const TABLES = ['entities', 'changes', 'customers', 'desk_users', 'tickets', 'ticket_actions', 'agents', 'applications', 'peers', 'id_aliases'] as const;

/**
 * The least-privilege guide's integration, written against Halo's API and pointed at a Shiplog instance: a token with
 * scope=all, Halo's envelopes, paging and array POSTs over real HTTP. It reads customers and users, logs tickets for its
 * team and updates them, creates and updates assets, and is refused everything else with nothing changed.
 */
describe.each(engines)('a Halo integration under least privilege on %s', (engine) => {
  let t: TestApp;
  let halo: HaloClient;
  let admin: HaloClient;
  let baseUrl: string;
  const ids: Record<string, number> = {};

  const v1 = async (method: string, path: string, body?: unknown): Promise<HaloJson> => {
    const res = await fetch(`${baseUrl}${path}`, { method, headers: { ...t.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const fingerprint = async () => JSON.stringify(await Promise.all(TABLES.map((table) => t.database.dialect.db.selectFrom(table).selectAll().execute())));

  beforeAll(async () => {
    t = await createTestApp(engine);
    baseUrl = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/\/$/, '');
    // The administrator sets the desk up through /api too, with a token of an application of its own.
    const adminApp = await v1('POST', '/v1/applications', { name: 'Setup script', agentId: t.ctx.actor.id, permissions: ['config:read', 'config:edit', 'customers:read', 'customers:edit', 'tickets:read', 'tickets:edit', 'access:manage'] });
    admin = new HaloClient(baseUrl, adminApp.application.clientId, adminApp.clientSecret);
    await admin.authenticate();
    const [first, second, projects] = await admin.save('Team', { name: '1st Line Support' }, { name: '2nd Line Support' }, { name: 'Projects' });
    Object.assign(ids, { firstLine: first.id, secondLine: second.id, projects: projects.id });
    ids.statusNew = (await admin.save('Status', { name: 'New' })).id;
    ids.statusClosed = (await admin.save('Status', { name: 'Closed', type: 1 })).id;
    ids.vulnerability = (await admin.save('TicketType', { name: 'Vulnerability', initial_status: ids.statusNew })).id;
    ids.workstation = (await admin.save('AssetType', { name: 'Workstation' })).id;
    const [acme] = await admin.save('Client', { name: 'Acme' }, { name: 'Globex' }, { name: 'Initech' });
    ids.acme = acme.id;
    ids.pat = (await admin.save('Users', { name: 'Pat at Acme', client_id: ids.acme, emailaddress: 'pat@acme.test' })).id;
    ids.projectTicket = (await admin.save('Tickets', { summary: 'Project work', client_id: ids.acme, tickettype_id: ids.vulnerability, team: 'Projects' })).id;

    // The guide's agent (API-only, ticket/client/user access, the ticket permissions, its teams) and application.
    const teamOf = async (alias: number) => (await admin.get(`Team/${alias}`)).shiplog_id as string;
    const role = await v1('POST', '/v1/config/roles', {
      name: 'HaloPSA integration',
      ticketAccess: 'modify',
      customerAccess: 'modify',
      userAccess: 'modify',
      ticketPermissions: Object.fromEntries(['addTickets', 'editClosedTickets', 'viewUnassignedTickets', 'viewTicketsAssignedToOthers', 'changeTicketType', 'reassignTickets', 'assignOutsideOwnTeams', 'editTicketsNotAssigned', 'overrideMaxPriority', 'overrideReviewProcessing', 'treatAsSpam', 'exportTickets'].map((p) => [p, true])),
      teamMemberships: [{ teamId: await teamOf(ids.firstLine!) }, { teamId: await teamOf(ids.secondLine!) }],
    });
    const agent = await v1('POST', '/v1/agents', { name: 'TesthaloIntegration', email: 'halo-integration@msp.test', apiOnly: true, roleIds: [role.entity.id] });
    const app = await v1('POST', '/v1/applications', { name: 'Cybertest', agentId: agent.id, permissions: ['tickets:read', 'tickets:edit', 'customers:read', 'assets:read', 'assets:edit'] });
    halo = new HaloClient(baseUrl, app.application.clientId, app.clientSecret);
  });
  afterAll(async () => t?.close());

  it('gets a token with scope=all (tenant ignored) holding what its application has', async () => {
    expect((await halo.authenticate('all')).split(' ').sort()).toEqual(['assets:edit', 'assets:read', 'customers:read', 'tickets:edit', 'tickets:read']);
    expect((await halo.authenticate('read:tickets edit:tickets read:customers read:assets edit:assets')).split(' ').sort()).toEqual(['assets:edit', 'assets:read', 'customers:read', 'tickets:edit', 'tickets:read']);
    await expect(halo.authenticate('admin')).rejects.toMatchObject({ error: 'invalid_scope' });
    await halo.authenticate('all');
    const me = await halo.get('Agent/me');
    expect(me).toMatchObject({ name: 'TesthaloIntegration', isapiagent: true });
    expect(contractProblems('Uname', me)).toEqual([]);
  });

  it('reads customers page by page and their users by client_id', async () => {
    const clients = await halo.all('Client', 'clients');
    expect(clients.map((c: HaloJson) => c.name).sort()).toEqual(['Acme', 'Globex', 'Initech']);
    expect(new Set(clients.map((c: HaloJson) => c.id)).size).toBe(3);
    const users = await halo.get(`Users?client_id=${ids.acme}`);
    expect(users).toMatchObject({ record_count: 1, users: [{ id: ids.pat, name: 'Pat at Acme', client_id: ids.acme, client_name: 'Acme', emailaddress: 'pat@acme.test' }] });
  });

  it('logs a ticket for its team by name and updates it, and adds a note', async () => {
    const logged = await halo.save('Tickets', { summary: 'CVE-2024-3094 on ACME-WS-01', client_id: ids.acme, user_id: ids.pat, tickettype_id: ids.vulnerability, team: '1st Line Support', dateoccurred: '2026-12-07T10:00:00Z' });
    expect(logged).toMatchObject({ summary: 'CVE-2024-3094 on ACME-WS-01', team: '1st Line Support', status_id: ids.statusNew, agent_id: null });
    const updated = await halo.save('Tickets', { id: logged.id, details: 'Severity: critical.', priority_id: 2 });
    expect(updated).toMatchObject({ id: logged.id, summary: 'CVE-2024-3094 on ACME-WS-01', details: 'Severity: critical.', priority_id: 2 });
    const note = await halo.save('Actions', { ticket_id: logged.id, note: 'Rescan found it again.', outcome: 'Note' });
    expect(note).toMatchObject({ ticket_id: logged.id, note: 'Rescan found it again.', who_type: 2 });
    const closed = await halo.save('Tickets', { id: logged.id, status_id: ids.statusClosed });
    expect(closed.inactive).toBe(true);
    expect((await halo.get(`Actions?ticket_id=${logged.id}`)).actions.map((a: HaloJson) => a.outcome)).toEqual(['Ticket logged', 'Ticket updated', 'Note', 'Ticket updated']);
    expect((await halo.get('Tickets?search=CVE-2024-3094')).tickets.map((x: HaloJson) => x.id)).toEqual([logged.id]);
  });

  it('creates assets in one array POST, updates one, and adds a generated ticket’s details to it', async () => {
    const [ws1, ws2] = await halo.save(
      'Asset',
      { inventory_number: 'ACME-WS-01', assettype_id: ids.workstation, client_id: ids.acme, users: [{ id: ids.pat }], fields: [{ name: 'os', value: 'Fedora 40' }] },
      { inventory_number: 'ACME-WS-02', assettype_id: ids.workstation, client_id: ids.acme },
    );
    expect(ws2.id).toBeGreaterThan(ws1.id);
    const ticket = await halo.save('Tickets', { summary: 'Outdated OpenSSH on ACME-WS-01', client_id: ids.acme, tickettype_id: ids.vulnerability, team: '2nd Line Support' });
    const detailed = await halo.save('Asset', { id: ws1.id, fields: [{ name: 'lastScan', value: '2026-12-07' }, { name: 'openTicket', value: ticket.id }] });
    expect(detailed.fields).toEqual([
      { name: 'os', value: 'Fedora 40' },
      { name: 'lastScan', value: '2026-12-07' },
      { name: 'openTicket', value: ticket.id },
    ]);
    expect((await halo.all('Asset', 'assets', `client_id=${ids.acme}`)).map((a: HaloJson) => a.inventory_number).sort()).toEqual(['ACME-WS-01', 'ACME-WS-02']);
  });

  it('does not see the tickets of teams it is not in', async () => {
    expect((await halo.request('GET', `Tickets/${ids.projectTicket}`)).status).toBe(404);
    expect((await halo.request('POST', 'Tickets', [{ id: ids.projectTicket, summary: 'Mine' }])).status).toBe(404);
    expect((await halo.get('Tickets?search=Project')).tickets).toEqual([]);
    // record_count counts only the tickets it sees: paging by it reads each of them once.
    const seen = await halo.all('Tickets', 'tickets', '', 1);
    expect(seen.map((x: HaloJson) => x.summary).sort()).toEqual(['CVE-2024-3094 on ACME-WS-01', 'Outdated OpenSSH on ACME-WS-01']);
    expect((await halo.get('Tickets?pageinate=true&page_size=1')).record_count).toBe(2);
    const newestFirst = (await halo.get('Tickets?order=dateoccurred&orderdesc=true')).tickets.map((x: HaloJson) => x.summary);
    expect(newestFirst).toEqual(['Outdated OpenSSH on ACME-WS-01', 'CVE-2024-3094 on ACME-WS-01']);
  });

  it('is refused everything else with 403 and a reason, and nothing it is refused changes anything', async () => {
    const before = await fingerprint();
    const refused: [string, string, unknown?][] = [
      ['POST', 'Client', [{ name: 'Hooli' }]],
      ['DELETE', `Client/${ids.acme}`],
      ['POST', 'Users', [{ id: ids.pat, name: 'Renamed' }]],
      ['POST', 'Team', [{ name: 'Shadow team' }]],
      ['GET', 'Team'],
      ['GET', 'ConfigCommit'],
      ['POST', 'ConfigCommit', [{ id: 1, _rollback: true }]],
      ['GET', 'Agent'],
      ['POST', 'Agent', [{ name: 'Backdoor', email: 'x@y.test' }]],
      ['GET', 'Instance'],
      ['POST', 'ConnectedInstance', [{ name: 'evil', apiurl: 'http://127.0.0.1:9', clientid: 'x', new_clientsecret: 'y' }]],
      ['GET', 'Roles'],
    ];
    for (const [method, path, body] of refused) {
      const res = await halo.request(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body, `${method} ${path}`).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('permission') });
    }
    expect(await fingerprint()).toBe(before);
  });
});
