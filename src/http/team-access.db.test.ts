import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createAgent, createTeam } from '../../test/support/principals.js';

type Access = 'read' | 'modify';
type Holder = 'caller' | 'colleague' | 'nobody';

/**
 * Team access and ticket access: ticket access (with the ticket permissions) says what an agent may do to the tickets
 * it sees; a team membership puts the team's tickets within reach, and with "modify" access makes them the member's own
 * work. Every combination of membership, "edit tickets not assigned to them", holder and team is tried.
 */
describe.each(engines)('team access versus ticket access on %s', (engine) => {
  let t: TestApp;
  const ids = {} as Record<'team' | 'otherTeam' | 'acme' | 'type' | 'colleague', string>;

  const admin = async <T>(method: InjectOptions['method'], url: string, payload?: unknown) =>
    (await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) })).json<T>();

  beforeAll(async () => {
    t = await createTestApp(engine);
    ids.team = await createTeam(t, { name: 'Service desk' });
    ids.otherTeam = await createTeam(t, { name: 'Projects' });
    ids.acme = (await admin<{ id: string }>('POST', '/v1/customers', { name: 'Acme' })).id;
    ids.type = (await t.services.config.create(t.ctx, 'ticket-types', { name: 'Incident' })).entity!.id;
    ids.colleague = (await createAgent(t, { name: 'Colleague', roles: [{ ticketAccess: 'modify', teamMemberships: [{ teamId: ids.team, access: 'modify' }] }] })).agent.id;
  });
  afterAll(async () => t?.close());

  const cases = (['read', 'modify'] as const).flatMap((access) =>
    [false, true].flatMap((flag) => (['caller', 'colleague', 'nobody'] as const).flatMap((holder) => (['team', 'none'] as const).map((where) => [access, flag, holder, where] as const))),
  );

  it.each(cases)('membership %s, "edit tickets not assigned" %s, a ticket held by %s in %s team', async (access: Access, flag: boolean, holder: Holder, where) => {
    const caller = await createAgent(t, {
      roles: [
        {
          ticketAccess: 'modify',
          ticketPermissions: { viewUnassignedTickets: true, viewTicketsAssignedToOthers: true, editTicketsNotAssigned: flag },
          teamMemberships: [{ teamId: ids.team, access }],
        },
      ],
    });
    const agentId = holder === 'caller' ? caller.agent.id : holder === 'colleague' ? ids.colleague : null;
    const logged = await admin<{ ticket: { id: string } }>('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.type, summary: 'Printer', teamId: where === 'team' ? ids.team : null, agentId });
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/tickets/${logged.ticket.id}`, headers: caller.headers, payload: { summary: 'Printer (checked)' } });
    const allowed = holder === 'caller' || flag || (access === 'modify' && where === 'team');
    expect(res.statusCode, res.body).toBe(allowed ? 200 : 403);
    if (!allowed) expect(res.json()).toMatchObject({ code: 'TICKET_PERMISSION_REQUIRED', ticketPermission: 'editTicketsNotAssigned' });
    const stored = await admin<{ summary: string }>('GET', `/v1/tickets/${logged.ticket.id}`);
    expect(stored.summary).toBe(allowed ? 'Printer (checked)' : 'Printer');
  });

  it('never lets team access stand in for ticket access, or for editing closed tickets', async () => {
    const reader = await createAgent(t, { roles: [{ ticketAccess: 'read', ticketPermissions: { viewUnassignedTickets: true }, teamMemberships: [{ teamId: ids.team, access: 'modify' }] }] });
    const open = await admin<{ ticket: { id: string } }>('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.type, summary: 'Scanner', teamId: ids.team });
    const refused = await t.app.inject({ method: 'PATCH', url: `/v1/tickets/${open.ticket.id}`, headers: reader.headers, payload: { summary: 'x' } });
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'tickets:edit' });

    const member = await createAgent(t, { roles: [{ ticketAccess: 'modify', ticketPermissions: { viewUnassignedTickets: true }, teamMemberships: [{ teamId: ids.team, access: 'modify' }] }] });
    const closed = await admin<{ entity: { id: string } }>('POST', '/v1/config/statuses', { name: 'Closed', kind: 'ticket', isClosed: true });
    await admin('PATCH', `/v1/tickets/${open.ticket.id}`, { statusId: closed.entity.id });
    const onClosed = await t.app.inject({ method: 'PATCH', url: `/v1/tickets/${open.ticket.id}`, headers: member.headers, payload: { summary: 'x' } });
    expect(onClosed.json()).toMatchObject({ code: 'TICKET_PERMISSION_REQUIRED', ticketPermission: 'editClosedTickets' });

    // Another team's tickets are out of reach: not found, whatever the membership elsewhere.
    const elsewhere = await admin<{ ticket: { id: string } }>('POST', '/v1/tickets', { customerId: ids.acme, ticketTypeId: ids.type, summary: 'Rollout', teamId: ids.otherTeam });
    expect((await t.app.inject({ method: 'PATCH', url: `/v1/tickets/${elsewhere.ticket.id}`, headers: member.headers, payload: { summary: 'x' } })).json()).toMatchObject({ code: 'TICKET_NOT_FOUND' });
  });
});
