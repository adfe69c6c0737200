import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ticketActionInputSchema, ticketInputSchema, ticketPatchSchema, type TicketActionView, type TicketDetailView, type TicketView } from '../../../desk/ticket-service.js';
import { parseOrThrow } from '../../../shared/validation.js';
import type { Services } from '../../../services.js';
import { DomainError } from '../../../shared/errors.js';
import { writeContext } from '../../plugins/auth.js';
import type { TicketSortKey } from '../../../store/ports.js';
import { globalIdField, haloBoolean, haloId, haloResource, idField, inHaloTerms, nullableId, pageOfAll, referenceOf, type HaloRecord } from './resource.js';
import { teamIdByName, teamNames } from './names.js';

const ticketRecord = z.object({
  id: idField,
  shiplog_id: globalIdField,
  summary: z.string(),
  details: z.string(),
  client_id: nullableId,
  user_id: nullableId,
  tickettype_id: nullableId,
  status_id: nullableId,
  priority_id: z.number().int().nullable().describe('The priority level (1 is the most urgent), as the SLA’s priorities number them'),
  team: z.string().nullable().describe('The team’s name'),
  agent_id: nullableId,
  workflow_id: nullableId,
  workflow_stage: z.string().nullable().describe('The id of the current step of the ticket’s workflow'),
  dateoccurred: z.string(),
  last_update: z.string(),
  inactive: z.boolean().describe('Whether the ticket is closed'),
});

const ticketInput = z.object({
  summary: z.string().optional(),
  details: z.string().optional(),
  client_id: z.number().int().optional(),
  user_id: z.number().int().nullable().optional(),
  tickettype_id: z.number().int().optional(),
  status_id: z.number().int().nullable().optional(),
  priority_id: z.number().int().nullable().optional(),
  team: z.string().max(200).nullable().optional().describe('The team, by name'),
  team_id: z.number().int().nullable().optional().describe('The team, by integer id (Shiplog accepts either)'),
  agent_id: z.number().int().nullable().optional(),
});

const ticketFields = { customerId: 'client_id', userId: 'user_id', ticketTypeId: 'tickettype_id', statusId: 'status_id', priority: 'priority_id', teamId: 'team', agentId: 'agent_id' };

const actionRecord = z.object({
  id: idField,
  shiplog_id: globalIdField,
  ticket_id: idField,
  outcome: z.string().describe('Note, Ticket logged, Ticket updated, or the workflow action’s name'),
  note: z.string(),
  datetime: z.string(),
  who_type: z.number().int().describe('1 agent, 2 application, 3 sync or system'),
  who_agentid: nullableId,
});
const actionInput = z.object({
  ticket_id: z.number().int().optional(),
  note: z.string().optional(),
  outcome: z.string().max(200).optional().describe('A workflow action of the ticket’s current step, by name or id; absent or "Note": a note'),
});

type TicketWithNames = (TicketView | TicketDetailView) & { teamName: string | null };
type ActionOfTicket = TicketActionView & { ticketId: string };

const whoType = { agent: 1, application: 2, sync: 3, system: 3 } as const;

/** `Tickets` and `Actions`: tickets and their notes and workflow actions, through the ticket service. */
export const haloTicketRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const { tickets } = services;
    const withNames = async (views: (TicketView | TicketDetailView)[], svc = services): Promise<TicketWithNames[]> => {
      const names = await teamNames(svc, views.map((t) => t.teamId), { batch: svc !== services });
      return views.map((t) => ({ ...t, teamName: t.teamId ? (names.get(t.teamId) ?? null) : null }));
    };
    const ref = (value: unknown, field: string, svc = services) => referenceOf(svc, value, field);

    async function teamOf(svc: Services, record: HaloRecord): Promise<string | null | undefined> {
      if (record.team_id !== undefined) return ref(record.team_id, 'team_id', svc);
      if (record.team === undefined) return undefined;
      if (record.team === null || record.team === '') return null;
      return teamIdByName(svc, record.team as string, 'team');
    }

    async function saveTicket(svc: Services, request: FastifyRequest, record: HaloRecord, id: string | null): Promise<TicketDetailView> {
      const optionalRef = async (field: string) => (record[field] === undefined ? undefined : ref(record[field], field, svc));
      const ctx = writeContext(request);
      const principal = request.principal!;
      const fields = {
        ...(record.summary !== undefined ? { summary: record.summary } : {}),
        ...(record.details !== undefined ? { details: record.details } : {}),
        ...(record.priority_id !== undefined ? { priority: record.priority_id } : {}),
      };
      const refs = {
        customerId: await optionalRef('client_id'),
        userId: await optionalRef('user_id'),
        ticketTypeId: await optionalRef('tickettype_id'),
        statusId: await optionalRef('status_id'),
        agentId: await optionalRef('agent_id'),
        teamId: await teamOf(svc, record),
      };
      const given = Object.fromEntries(Object.entries(refs).filter(([, v]) => v !== undefined));
      if (id === null) {
        return inHaloTerms(null, ticketFields, async () => (await svc.tickets.create(ctx, principal, parseOrThrow(ticketInputSchema, { ...fields, ...given }, 'ticket'))).ticket);
      }
      if (refs.customerId !== undefined || refs.userId !== undefined) {
        throw new DomainError('VALIDATION_FAILED', 'A ticket’s client and user are set when it is logged.', {
          errors: [{ path: refs.customerId !== undefined ? 'client_id' : 'user_id', code: 'read-only', message: 'Cannot be changed on an existing ticket.' }],
        });
      }
      const { customerId: _c, userId: _u, ...patch } = given;
      return inHaloTerms(null, ticketFields, () => svc.tickets.update(ctx, principal, id, parseOrThrow(ticketPatchSchema, { ...fields, ...patch }, 'ticket')));
    }

    await app.register(
      haloResource<TicketWithNames, TicketSortKey>(services, {
        path: 'Tickets',
        one: 'Ticket',
        listKey: 'tickets',
        noun: 'tickets',
        description: 'Tickets the caller may see (Halo’s Faults record), newest first; ticket permissions, ticket rules and workflows apply as on /v1/tickets.',
        record: ticketRecord,
        input: ticketInput,
        read: 'tickets:read',
        edit: 'tickets:edit',
        filters: {
          client_id: haloId.optional(),
          agent_id: haloId.optional(),
          team_id: haloId.optional(),
          status_id: haloId.optional(),
          tickettype_id: haloId.optional(),
          open_only: haloBoolean.optional(),
          closed_only: haloBoolean.optional(),
        },
        orders: { id: 'id', summary: 'summary', dateoccurred: 'createdAt', last_update: 'updatedAt', lastactiondate: 'updatedAt', priority_id: 'priority' },
        defaultOrder: { by: 'id', desc: true },
        async list(request, { offset, limit, order, search, query }) {
          const filter = async (name: string) => (query[name] === undefined ? undefined : ((await ref(query[name], name)) ?? undefined));
          const [customerId, agentId, teamId, statusId, ticketTypeId] = await Promise.all(['client_id', 'agent_id', 'team_id', 'status_id', 'tickettype_id'].map(filter));
          const closed = query.open_only === true ? false : query.closed_only === true ? true : undefined;
          const { items, total } = await tickets.page(
            request.principal!,
            {
              ...(search ? { q: search } : {}),
              ...(customerId ? { customerId } : {}),
              ...(agentId ? { agentId } : {}),
              ...(teamId ? { teamId } : {}),
              ...(statusId ? { statusId } : {}),
              ...(closed !== undefined ? { closed } : {}),
            },
            { ...order, offset, limit },
            ticketTypeId ? { view: { ticketTypeIds: [ticketTypeId], teamIds: [], statusIds: [] } } : {},
          );
          return { items: await withNames(items), total };
        },
        get: async (request, id) => (await withNames([await tickets.get(request.principal!, id)]))[0]!,
        save: async (request, record, id, svc) => (await withNames([await saveTicket(svc, request, record, id)], svc))[0]!,
        ids: (t) => [t.id, t.customerId, t.userId, t.ticketTypeId, t.statusId, t.agentId, t.workflowId],
        toHalo: (t, alias) => ({
          id: alias(t.id),
          shiplog_id: t.id,
          summary: t.summary,
          details: t.details,
          client_id: alias(t.customerId),
          user_id: alias(t.userId),
          tickettype_id: alias(t.ticketTypeId),
          status_id: alias(t.statusId),
          priority_id: t.priority,
          team: t.teamName,
          agent_id: alias(t.agentId),
          workflow_id: alias(t.workflowId),
          workflow_stage: t.stepId,
          dateoccurred: t.createdAt,
          last_update: t.updatedAt,
          inactive: t.closed,
        }),
      }),
    );

    const actionsOf = async (request: FastifyRequest, ticketId: string): Promise<ActionOfTicket[]> =>
      (await tickets.actions(request.principal!, ticketId)).map((a) => ({ ...a, ticketId }));
    const ticketParam = async (value: unknown, svc = services): Promise<string> => {
      const id = await ref(value, 'ticket_id', svc);
      if (!id) throw new DomainError('VALIDATION_FAILED', 'Name the ticket.', { errors: [{ path: 'ticket_id', code: 'required', message: 'The ticket’s integer id is required.' }] });
      return id;
    };

    await app.register(
      haloResource<ActionOfTicket>(services, {
        path: 'Actions',
        one: 'Action',
        listKey: 'actions',
        noun: 'actions of a ticket',
        description: 'A ticket’s actions, oldest first: its logging, updates, notes and workflow actions. ticket_id is required.',
        record: actionRecord,
        input: actionInput,
        read: 'tickets:read',
        edit: 'tickets:edit',
        filters: { ticket_id: haloId.optional() },
        getQuery: { ticket_id: haloId.optional() },
        orders: { id: 'id', datetime: 'at' },
        defaultOrder: { by: 'at', desc: false },
        async list(request, args) {
          return pageOfAll(await actionsOf(request, await ticketParam(args.query.ticket_id)), args, { id: (a) => a.id, at: (a) => a.at });
        },
        async get(request, id, query) {
          const action = (await actionsOf(request, await ticketParam(query.ticket_id))).find((a) => a.id === id);
          if (!action) throw new DomainError('RECORD_NOT_FOUND', 'The ticket has no such action.', { id });
          return action;
        },
        async save(request, record, id, svc) {
          if (id !== null) throw new DomainError('VALIDATION_FAILED', 'Actions are history: they are added, never changed.', { errors: [{ path: 'id', code: 'read-only', message: 'Post an action without an id.' }] });
          const ticketId = await ticketParam(record.ticket_id, svc);
          const ticket = await svc.tickets.get(request.principal!, ticketId);
          const outcome = typeof record.outcome === 'string' ? record.outcome.trim() : '';
          const chosen = outcome && outcome.toLowerCase() !== 'note' ? ticket.availableActions.find((a) => a.id === outcome || a.name.toLowerCase() === outcome.toLowerCase()) : undefined;
          if (outcome && outcome.toLowerCase() !== 'note' && !chosen) {
            throw new DomainError('ACTION_NOT_AVAILABLE', `The ticket's current step has no action "${outcome}".`, {
              errors: [{ path: 'outcome', code: 'not-available', message: 'Not an action of the ticket’s current workflow step that you may use.' }],
            });
          }
          const input = chosen ? { kind: 'workflow-action', actionId: chosen.id, note: record.note ?? '' } : { kind: 'note', note: record.note };
          const done = await inHaloTerms(null, { note: 'note', actionId: 'outcome' }, () =>
            svc.tickets.act(writeContext(request), request.principal!, ticketId, parseOrThrow(ticketActionInputSchema, input, 'action')),
          );
          return { ...done.action, ticketId };
        },
        ids: (a) => [a.id, a.ticketId, a.actor.kind === 'agent' ? a.actor.id : null],
        toHalo: (a, alias) => ({
          id: alias(a.id),
          shiplog_id: a.id,
          ticket_id: alias(a.ticketId),
          outcome: a.kind === 'note' ? 'Note' : a.name,
          note: a.note,
          datetime: a.at,
          who_type: whoType[a.actor.kind],
          who_agentid: a.actor.kind === 'agent' ? alias(a.actor.id) : null,
        }),
      }),
    );
  };
