import { z } from 'zod';
import type { Principal } from '../access/agent-access.js';
import { canSeeAgent } from '../access/agent-service.js';
import { inScope } from '../access/customer-scope.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { EntityRecord, Stores, TicketListRecord, Transactor } from '../store/ports.js';
import { decodeCursor } from '../tracking/cursor.js';
import { pageOf, type Page } from './customer-service.js';
import { deskCaller, memberOf, type DeskCaller } from './desk-caller.js';
import type { TicketService, TicketView, ViewFilters } from './ticket-service.js';

const recordId = () => z.string().trim().min(1).max(100);

export const ticketListFiltersSchema = z.strictObject({
  customerId: recordId().optional(),
  teamId: recordId().optional(),
  agentId: recordId().optional(),
  statusId: recordId().optional(),
  closed: z.boolean().optional(),
  q: z.string().trim().min(1).max(200).optional().describe('Text in the summary.'),
});

export const ticketListInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  shared: z.boolean().default(false).describe('Seen and run by every agent, each within the tickets it may see.'),
  filters: ticketListFiltersSchema.default({}),
});

export const ticketListPatchSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  shared: z.boolean().optional(),
  filters: ticketListFiltersSchema.optional(),
});

export type TicketListView = Omit<TicketListRecord, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

/** A view list (tracked configuration) as an agent sees it. */
export interface ViewListView extends ViewFilters {
  id: string;
  name: string;
  description: string | null;
  visibleToTeamIds: string[];
}

export interface TicketListService {
  /** The view lists of the configuration the caller sees: those for every agent, and those for its teams. */
  views(principal: Principal): Promise<{ items: ViewListView[] }>;
  /** Runs a view list: the tickets matching it, within what the caller may see. */
  viewTickets(principal: Principal, id: string, query: { limit: number; cursor?: string }): Promise<Page<TicketView>>;
  list(principal: Principal, query: { limit: number; cursor?: string }): Promise<Page<TicketListView>>;
  get(principal: Principal, id: string): Promise<TicketListView>;
  create(principal: Principal, input: z.infer<typeof ticketListInputSchema>): Promise<TicketListView>;
  update(principal: Principal, id: string, patch: z.infer<typeof ticketListPatchSchema>): Promise<TicketListView>;
  remove(principal: Principal, id: string): Promise<void>;
  /** Runs a list: the tickets matching its filters, within what the caller may see. */
  tickets(principal: Principal, id: string, query: { limit: number; cursor?: string }): Promise<Page<TicketView>>;
}

const view = (l: TicketListRecord): TicketListView => ({ ...l, createdAt: new Date(l.createdAt).toISOString(), updatedAt: new Date(l.updatedAt).toISOString() });
function viewListView(entity: EntityRecord): ViewListView {
  const b = entity.body as Partial<ViewListView>;
  return {
    id: entity.id,
    name: entity.name,
    description: b.description ?? null,
    ticketTypeIds: b.ticketTypeIds ?? [],
    teamIds: b.teamIds ?? [],
    statusIds: b.statusIds ?? [],
    ...(b.closed !== undefined ? { closed: b.closed } : {}),
    ...(b.summaryContains ? { summaryContains: b.summaryContains } : {}),
    visibleToTeamIds: b.visibleToTeamIds ?? [],
  };
}

/** Whether the caller sees a view list: an administrator, a list for every agent, or one for a team it is in. */
function seesView(principal: Principal, view: ViewListView): boolean {
  return principal.isAdministrator || view.visibleToTeamIds.length === 0 || view.visibleToTeamIds.some((teamId) => memberOf(principal.access, teamId));
}

const notFound = (id: string) => new DomainError('TICKET_LIST_NOT_FOUND', `There is no ticket list with id ${id}.`, { id });

/**
 * Saved ticket lists: an agent's named filters, its own or shared. Agents using co-managed functionality cannot create
 * lists (nor search with filters): they run the lists shared with them, within their own customers.
 */
export function createTicketListService(deps: { db: Transactor; clock: Clock; tickets: Pick<TicketService, 'list'> }): TicketListService {
  const { db, clock } = deps;

  async function visible(stores: Stores, principal: Principal, id: string): Promise<TicketListRecord> {
    const list = await stores.desk.findTicketList(id);
    if (!list || (!list.shared && list.agentId !== principal.agent.id)) throw notFound(id);
    return list;
  }

  /** Lists are changed by their owner, or an administrator when shared. */
  function refuseUnlessOwner(principal: Principal, list: TicketListRecord): void {
    if (list.agentId === principal.agent.id || principal.isAdministrator) return;
    throw new DomainError('FORBIDDEN', 'Only the agent who made a shared list, or an administrator, changes it.', { id: list.id });
  }

  function refuseCoManaged(caller: DeskCaller): void {
    if (caller.coManaged) throw new DomainError('CO_MANAGED_REFUSED', 'Agents using co-managed functionality cannot create ticket lists.');
  }

  /** Checks that a list's filters name records the caller sees here. */
  async function checkFilters(stores: Stores, caller: DeskCaller, principal: Principal, filters: TicketListRecord['filters']): Promise<void> {
    const problems: FieldProblem[] = [];
    const missing = (field: string, label: string, id: string) => problems.push({ path: `filters.${field}`, code: 'reference-not-found', message: `No ${label} has id ${id}.` });
    if (filters.customerId) {
      const customer = await stores.desk.findCustomer(filters.customerId);
      if (!customer || !inScope(caller.scope, customer.id)) missing('customerId', 'customer', filters.customerId);
    }
    for (const [field, type, label] of [
      ['teamId', 'teams', 'team'],
      ['statusId', 'statuses', 'status'],
    ] as const) {
      const id = filters[field];
      if (id && (await stores.entities.find(id))?.type !== type) missing(field, label, id);
    }
    if (filters.agentId) {
      const agent = await stores.agents.find(filters.agentId);
      if (!agent || !canSeeAgent(principal.agent, agent)) missing('agentId', 'agent', filters.agentId);
    }
    if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', 'The list’s filters name records that do not exist here.', { errors: problems });
  }

  return {
    async views(principal) {
      const all = await db.read((stores) => stores.entities.listAll('view-lists'));
      return { items: all.map(viewListView).filter((view) => seesView(principal, view)) };
    },

    async viewTickets(principal, id, { limit, cursor }) {
      const entity = await db.read((stores) => stores.entities.find(id));
      const view = entity?.type === 'view-lists' ? viewListView(entity) : undefined;
      if (!view || !seesView(principal, view)) throw new DomainError('VIEW_LIST_NOT_FOUND', `There is no view list with id ${id}.`, { id });
      return deps.tickets.list(principal, { limit, ...(cursor ? { cursor } : {}) }, { view });
    },

    async list(principal, { limit, cursor }) {
      const rows = await db.read((stores) => stores.desk.listTicketLists({ agentId: principal.agent.id, limit: limit + 1, ...(cursor ? { afterId: decodeCursor(cursor) } : {}) }));
      return pageOf(rows, limit, view);
    },

    async get(principal, id) {
      return view(await db.read((stores) => visible(stores, principal, id)));
    },

    async create(principal, input) {
      return db.write(async (stores) => {
        const caller = await deskCaller(stores, principal);
        refuseCoManaged(caller);
        await checkFilters(stores, caller, principal, input.filters);
        const now = clock.now();
        const list: TicketListRecord = { id: newId(now), agentId: principal.agent.id, name: input.name, shared: input.shared, filters: input.filters, createdAt: now, updatedAt: now };
        await stores.desk.insertTicketList(list);
        return view(list);
      });
    },

    async update(principal, id, patch) {
      return db.write(async (stores) => {
        const list = await visible(stores, principal, id);
        refuseUnlessOwner(principal, list);
        const caller = await deskCaller(stores, principal);
        refuseCoManaged(caller);
        if (patch.filters) await checkFilters(stores, caller, principal, patch.filters);
        const next: TicketListRecord = { ...list, ...patch, updatedAt: clock.now() };
        await stores.desk.updateTicketList(next);
        return view(next);
      });
    },

    async remove(principal, id) {
      await db.write(async (stores) => {
        refuseUnlessOwner(principal, await visible(stores, principal, id));
        await stores.desk.removeTicketList(id);
      });
    },

    async tickets(principal, id, { limit, cursor }) {
      const list = await db.read((stores) => visible(stores, principal, id));
      return deps.tickets.list(principal, { ...list.filters, limit, ...(cursor ? { cursor } : {}) }, { savedList: true });
    },
  };
}
