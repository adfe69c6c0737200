import { z } from 'zod';
import type { Principal } from '../access/agent-access.js';
import { agentAccess } from '../access/agent-access.js';
import { customerReferenceProblem } from '../access/customer-scope.js';
import { canSeeAgent } from '../access/agent-service.js';
import { noAuthority, type Actor, type WriteContext } from '../shared/actor.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Settings } from '../shared/settings.js';
import type { EntityRecord, InboundMailRecord, NumberedPage, Stores, TicketActionRecord, TicketFilter, TicketListFilters, TicketRecord, TicketSortKey, Transactor } from '../store/ports.js';
import { decodeCursor } from '../tracking/cursor.js';
import { readSettings } from '../tracking/settings-service.js';
import { mayNameCustomer, pageOf, type CountedPage, type Page } from './customer-service.js';
import {
  deskCaller,
  isCoManagedAgent,
  memberOf,
  modifiesTeam,
  requireTicketPermission,
  scopedCustomerIds,
  scopedTicketTypeIds,
  seesTicket,
  ticketTypeAllowed,
  ticketVisibility,
  type DeskCaller,
} from './desk-caller.js';
import { mailboxActor, messageKey, replyText, routeInboundMail, summaryOf, type InboundMessage, type MailboxSource } from './inbound-mail.js';
import { applyTicketRules, type RuleSubject, type TicketRule } from './ticket-rules.js';
import { queueWebhookEvent, type TicketEvent } from './webhooks.js';

/** The global setting (a tracked `global-settings` entity) of the co-managed guide's general settings. */
export const CO_MANAGED_CANNOT_REASSIGN = 'tickets.coManagedCannotReassign';

const recordId = () => z.string().trim().min(1).max(100);
const priority = () => z.number().int().min(1).max(10);

export const ticketInputSchema = z.strictObject({
  customerId: recordId(),
  userId: recordId().nullable().default(null),
  ticketTypeId: recordId(),
  summary: z.string().trim().min(1).max(500),
  details: z.string().max(100_000).default(''),
  priority: priority().nullable().default(null),
  teamId: recordId().nullable().optional().describe('Team; omitted: the ticket type’s default team.'),
  agentId: recordId().nullable().optional(),
  statusId: recordId().nullable().optional().describe('Status; omitted: the workflow’s first step, the ticket type’s or the default ticket status.'),
});

export const ticketPatchSchema = z.strictObject({
  summary: z.string().trim().min(1).max(500).optional(),
  details: z.string().max(100_000).optional(),
  priority: priority().nullable().optional(),
  ticketTypeId: recordId().optional(),
  teamId: recordId().nullable().optional(),
  agentId: recordId().nullable().optional(),
  statusId: recordId().nullable().optional(),
});

export const ticketActionInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('note'), note: z.string().trim().min(1).max(100_000) }),
  z.strictObject({ kind: z.literal('workflow-action'), actionId: z.string().trim().min(1).max(100), note: z.string().max(100_000).default('') }),
]);

/** A ticket as the API shows it: the record, with ISO times and without who logged it (its first action says). */
export type TicketView = Omit<TicketRecord, 'createdBy' | 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

export interface TicketDetailView extends TicketView {
  /** Workflow actions of the current step that this caller may use. */
  availableActions: { id: string; name: string }[];
}

export interface TicketActionView {
  id: string;
  kind: TicketActionRecord['kind'];
  name: string;
  note: string;
  actor: Actor;
  details: Record<string, unknown>;
  at: string;
}

/** A page of the ticket list, by the filters a saved list holds too. */
export interface TicketQuery extends TicketListFilters {
  limit: number;
  cursor?: string;
}

/** The filters of a view list (tracked configuration): any of these types, teams and statuses. */
export interface ViewFilters {
  ticketTypeIds: string[];
  teamIds: string[];
  statusIds: string[];
  closed?: boolean;
  summaryContains?: string;
}

/** The filters of a ticket list beyond a text search, which agents using co-managed functionality may not use. */
export const TICKET_FILTERS = ['customerId', 'teamId', 'agentId', 'statusId', 'closed'] as const;

export interface TicketService {
  /**
   * The tickets the caller sees that match; `savedList` runs a saved list's filters, and `view` a view list's, which
   * co-managed agents may use.
   */
  list(principal: Principal, query: TicketQuery, options?: { savedList?: boolean; view?: ViewFilters }): Promise<Page<TicketView>>;
  /** A numbered page of the tickets the caller sees that match, and how many match in all. */
  page(principal: Principal, query: Omit<TicketQuery, 'limit' | 'cursor'>, page: NumberedPage<TicketSortKey>, options?: { view?: ViewFilters }): Promise<CountedPage<TicketView>>;
  /** The tickets the caller sees that match the filters, as CSV (newest first): needs the "export tickets" permission. */
  exportCsv(principal: Principal, query: Omit<TicketQuery, 'limit' | 'cursor'>): Promise<string>;
  get(principal: Principal, id: string): Promise<TicketDetailView>;
  create(ctx: WriteContext, principal: Principal, input: z.infer<typeof ticketInputSchema>): Promise<{ ticket: TicketDetailView; matchedRules: { id: string; name: string }[] }>;
  update(ctx: WriteContext, principal: Principal, id: string, patch: z.infer<typeof ticketPatchSchema>): Promise<TicketDetailView>;
  actions(principal: Principal, id: string): Promise<TicketActionView[]>;
  act(ctx: WriteContext, principal: Principal, id: string, input: z.infer<typeof ticketActionInputSchema>): Promise<{ ticket: TicketDetailView; action: TicketActionView }>;
  /**
   * Acts on one message read from a mailbox, as the mailbox: logs a ticket for the sender's customer (through the ticket
   * rules), adds a reply as a note, or ignores it with the reason — and logs the message in the same transaction, so a
   * message read again is acted on once.
   */
  receiveMail(mailbox: MailboxSource, message: InboundMessage): Promise<InboundMailRecord>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function ticketView(t: TicketRecord): TicketView {
  const { createdBy: _by, createdAt, updatedAt, ...rest } = t;
  return { ...rest, createdAt: iso(createdAt), updatedAt: iso(updatedAt) };
}

function actionView(a: TicketActionRecord): TicketActionView {
  return { id: a.id, kind: a.kind, name: a.name, note: a.note, actor: a.actor, details: a.details, at: iso(a.at) };
}

const EXPORT_COLUMNS = ['number', 'id', 'customerId', 'userId', 'ticketTypeId', 'statusId', 'teamId', 'agentId', 'priority', 'summary', 'closed', 'createdAt', 'updatedAt'] as const;
const EXPORT_PAGE = 1000;
/** Rows an export holds at most. */
const EXPORT_MAX = 100_000;

/**
 * One CSV cell (RFC 4180 quoting). Text a spreadsheet would read as a formula (starting with =, +, -, @, tab or
 * carriage return) is prefixed with an apostrophe, so an exported summary cannot run in the reader's spreadsheet.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The guide's "co-managed agents cannot search using filters": a text search only, or a saved list. */
function refuseCoManagedFilters(caller: DeskCaller, query: Partial<Record<(typeof TICKET_FILTERS)[number], unknown>>): void {
  if (!caller.coManaged) return;
  const used = TICKET_FILTERS.filter((name) => query[name] !== undefined);
  if (used.length === 0) return;
  throw new DomainError('CO_MANAGED_REFUSED', 'Agents using co-managed functionality cannot search using filters: search by text, or run a shared list.', {
    errors: used.map((name) => ({ path: name, code: 'not-for-co-managed', message: 'A filter co-managed agents may not use.' })),
  });
}

/** The store filter of a ticket query, within what the caller may see. */
function filterOf(caller: DeskCaller, query: Omit<TicketQuery, 'limit'> & { limit: number }, view?: ViewFilters): TicketFilter {
  const customerIds = scopedCustomerIds(caller);
  const restricted = scopedTicketTypeIds(caller);
  const viewTypes = view && view.ticketTypeIds.length > 0 ? view.ticketTypeIds : undefined;
  const ticketTypeIds = restricted && viewTypes ? viewTypes.filter((id) => restricted.includes(id)) : (restricted ?? viewTypes);
  return {
    visibility: ticketVisibility(caller),
    limit: query.limit,
    ...(customerIds ? { customerIds } : {}),
    ...(ticketTypeIds ? { ticketTypeIds } : {}),
    ...(view && view.teamIds.length > 0 ? { teamIdsIn: view.teamIds } : {}),
    ...(view && view.statusIds.length > 0 ? { statusIdsIn: view.statusIds } : {}),
    ...(view?.closed !== undefined ? { closed: view.closed } : {}),
    ...(view?.summaryContains ? { summaryContains: view.summaryContains } : {}),
    ...(query.customerId ? { customerId: query.customerId } : {}),
    ...(query.teamId ? { teamId: query.teamId } : {}),
    ...(query.agentId ? { agentId: query.agentId } : {}),
    ...(query.statusId ? { statusId: query.statusId } : {}),
    ...(query.closed !== undefined ? { closed: query.closed } : {}),
    ...(query.q ? { summaryContains: query.q } : {}),
    ...(query.cursor ? { beforeId: decodeCursor(query.cursor) } : {}),
  };
}

/** A ticket type outside the caller's ticket groups: its tickets are not the caller's to log or move into. */
function refuseTicketType(caller: DeskCaller, type: EntityRecord): void {
  if (ticketTypeAllowed(caller, type.id)) return;
  throw new DomainError('FORBIDDEN', `Tickets of type ${type.name} are outside the agent’s ticket groups.`, {
    errors: [{ path: 'ticketTypeId', code: 'outside-ticket-groups', message: 'Not a ticket type of the agent’s ticket groups.' }],
  });
}

const ticketNotFound = (id: string) => new DomainError('TICKET_NOT_FOUND', `There is no ticket with id ${id}.`, { id });

interface WorkflowAction {
  id: string;
  name: string;
  nextStepId?: string;
  setStatusId?: string;
  restrictAccess: boolean;
  restrictToTeamIds: string[];
  restrictToRoleIds: string[];
}
interface WorkflowStep {
  id: string;
  name: string;
  statusId?: string;
  actions: WorkflowAction[];
}
interface WorkflowBody {
  steps: WorkflowStep[];
  startStepId: string;
}

/** Whether the caller may use a workflow action: unrestricted, or it names one of the caller's teams or roles. */
export function mayUseAction(caller: Pick<DeskCaller, 'teamMemberships' | 'roleIds'>, action: WorkflowAction): boolean {
  if (!action.restrictAccess) return true;
  return action.restrictToTeamIds.some((teamId) => caller.teamMemberships.some((m) => m.teamId === teamId)) || action.restrictToRoleIds.some((roleId) => caller.roleIds.includes(roleId));
}

/**
 * Tickets: logged through the ticket rules, seen and changed within the caller's customers, teams and ticket
 * permissions, moved through their workflow by its actions.
 */
export function createTicketService(deps: {
  db: Transactor;
  clock: Clock;
  instance: { id: string; name: string };
  /** Called after a transaction that queued webhook deliveries has committed. */
  onQueued?: () => void;
}): TicketService {
  const { db, clock, instance } = deps;

  /** Runs a write that may raise ticket events; their webhook deliveries commit with it, and are sent after. */
  async function writing<T>(fn: (stores: Stores, raise: (event: TicketEvent, ticket: TicketRecord, data?: Record<string, unknown>) => Promise<void>) => Promise<T>): Promise<T> {
    let queued = 0;
    const result = await db.write((stores) =>
      fn(stores, async (event, ticket, data = {}) => {
        queued += await queueWebhookEvent(stores, instance, clock.now(), event, ticket.id, { ticket: ticketView(ticket), ...data });
      }),
    );
    if (queued > 0) deps.onQueued?.();
    return result;
  }

  async function entityOf(stores: Stores, type: string, id: string, path: string, problems: FieldProblem[], label: string): Promise<EntityRecord | undefined> {
    const entity = await stores.entities.find(id);
    if (entity && entity.type === type) return entity;
    problems.push({ path, code: 'reference-not-found', message: `No ${label} has id ${id}.` });
    return undefined;
  }

  function refuse(problems: FieldProblem[]): void {
    if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', 'The ticket references records that do not exist here.', { errors: problems });
  }

  async function visibleTicket(stores: Stores, caller: DeskCaller, id: string): Promise<TicketRecord> {
    const ticket = await stores.desk.findTicket(id);
    if (!ticket || !seesTicket(caller, ticket)) throw ticketNotFound(id);
    return ticket;
  }

  async function workflowOf(stores: Stores, ticket: Pick<TicketRecord, 'workflowId'>): Promise<WorkflowBody | null> {
    if (!ticket.workflowId) return null;
    const workflow = await stores.entities.find(ticket.workflowId);
    return workflow?.type === 'workflows' ? (workflow.body as unknown as WorkflowBody) : null;
  }

  async function detail(stores: Stores, caller: DeskCaller, ticket: TicketRecord): Promise<TicketDetailView> {
    const workflow = await workflowOf(stores, ticket);
    const step = workflow?.steps.find((s) => s.id === ticket.stepId);
    const availableActions = ticket.closed || !step ? [] : step.actions.filter((a) => mayUseAction(caller, a)).map((a) => ({ id: a.id, name: a.name }));
    return { ...ticketView(ticket), availableActions };
  }

  async function isClosedStatus(stores: Stores, statusId: string | null): Promise<boolean> {
    if (!statusId) return false;
    const status = await stores.entities.find(statusId);
    return status?.type === 'statuses' && status.body.isClosed === true;
  }

  async function defaultTicketStatus(stores: Stores): Promise<string | null> {
    const statuses = await stores.entities.listAll('statuses');
    return statuses.find((s) => s.body.kind === 'ticket' && s.body.isDefault === true)?.id ?? null;
  }

  async function globalFlag(stores: Stores, key: string): Promise<boolean> {
    return (await stores.entities.listAll('global-settings')).some((s) => s.body.name === key && s.body.value === true);
  }

  async function rulesFor(stores: Stores): Promise<TicketRule[]> {
    return (await stores.entities.listAll('ticket-rules')).map((r) => ({ id: r.id, name: r.name, ...(r.body as Omit<TicketRule, 'id' | 'name'>) }));
  }

  /**
   * A rule's agent outcome as an enabled agent of this instance: its agent id (received rules are stored with this
   * instance's own ids); failing that — a rule an older version received still names another instance's agent — with
   * linking by third-party id on, the agent holding its `agentThirdPartyId`.
   */
  async function ruleAgents(stores: Stores, rules: TicketRule[], settings: Settings): Promise<(o: { agentId: string; agentThirdPartyId?: string }) => string | null> {
    const wanted = rules.flatMap((r) => r.outcomes.flatMap((o) => (o.field === 'agent' ? [o] : [])));
    if (wanted.length === 0) return () => null;
    const byId = new Set((await stores.agents.findMany(wanted.map((o) => o.agentId))).filter((a) => !a.disabled).map((a) => a.id));
    const byThirdParty = new Map<string, string>();
    const linking = settings.useThirdPartyIds && wanted.some((o) => o.agentThirdPartyId);
    if (linking) {
      for (const agent of await stores.agents.list({ limit: 1_000_000 })) if (agent.thirdPartyId && !agent.disabled) byThirdParty.set(agent.thirdPartyId, agent.id);
    }
    return (o) => (byId.has(o.agentId) ? o.agentId : linking && o.agentThirdPartyId ? (byThirdParty.get(o.agentThirdPartyId) ?? null) : null);
  }

  /**
   * The assignment checks of a change of agent or team by the caller: re-assigning another's ticket, assigning outside
   * the caller's teams, the co-managed re-assignment setting, and agents the caller cannot see (customer groups).
   */
  async function checkAssignment(
    stores: Stores,
    caller: DeskCaller,
    principal: Principal,
    before: Pick<TicketRecord, 'agentId' | 'teamId'> | null,
    after: Pick<TicketRecord, 'agentId' | 'teamId'>,
    problems: FieldProblem[],
  ): Promise<void> {
    const agentChanges = after.agentId !== (before?.agentId ?? null);
    const teamChanges = after.teamId !== (before?.teamId ?? null);
    if (agentChanges && before?.agentId && before.agentId !== caller.agentId) {
      requireTicketPermission(caller, 'reassignTickets', 'Re-assigning a ticket assigned to another agent');
      if (caller.coManaged && (await globalFlag(stores, CO_MANAGED_CANNOT_REASSIGN))) {
        const current = await stores.agents.find(before.agentId);
        if (current && !isCoManagedAgent(current)) {
          throw new DomainError('REASSIGN_REFUSED', 'Agents using co-managed functionality cannot re-assign tickets from agents who do not.', { setting: CO_MANAGED_CANNOT_REASSIGN });
        }
      }
    }
    if (teamChanges && after.teamId !== null && !caller.isAdministrator && !memberOf(caller, after.teamId)) {
      requireTicketPermission(caller, 'assignOutsideOwnTeams', 'Assigning a ticket to a team the agent is not a member of');
    }
    if (agentChanges && after.agentId !== null) {
      const agent = await stores.agents.find(after.agentId);
      if (!agent || agent.disabled || !canSeeAgent(principal.agent, agent)) {
        problems.push({ path: 'agentId', code: 'reference-not-found', message: `No agent has id ${after.agentId}.` });
        return;
      }
      if (after.agentId !== caller.agentId && !caller.isAdministrator) {
        const access = await agentAccess(stores, agent, await readSettings(stores));
        const shares = access.teamMemberships.some((m) => memberOf(caller, m.teamId));
        if (!shares) requireTicketPermission(caller, 'assignOutsideOwnTeams', 'Assigning a ticket to an agent outside the agent’s own teams');
      }
    }
  }

  /**
   * What editing a ticket the caller sees needs, beyond ticket access: a closed one, "edit closed tickets"; one not its
   * own, either "edit tickets not assigned to them" (for every ticket it sees) or "modify" access to the ticket's team
   * (for that team's tickets). Team access adds to the ticket permissions; it never takes from them.
   */
  function checkEditable(caller: DeskCaller, ticket: TicketRecord): void {
    if (ticket.closed) requireTicketPermission(caller, 'editClosedTickets', 'Editing a closed ticket');
    if (ticket.agentId === caller.agentId || modifiesTeam(caller, ticket.teamId)) return;
    requireTicketPermission(caller, 'editTicketsNotAssigned', 'Editing a ticket not assigned to the agent');
  }

  async function record(stores: Stores, ctx: WriteContext, ticketId: string, kind: TicketActionRecord['kind'], name: string, note: string, details: Record<string, unknown>): Promise<TicketActionRecord> {
    const now = clock.now();
    const action: TicketActionRecord = { id: newId(now), ticketId, kind, name, note, actor: ctx.actor, details, at: now };
    await stores.desk.addAction(action);
    return action;
  }

  const subjectOf = (t: Omit<TicketRecord, 'id' | 'number' | 'createdAt' | 'updatedAt' | 'createdBy' | 'closed' | 'workflowId' | 'stepId' | 'userId'>): RuleSubject => ({
    customerId: t.customerId,
    ticketTypeId: t.ticketTypeId,
    summary: t.summary,
    details: t.details,
    priority: t.priority,
    teamId: t.teamId,
    agentId: t.agentId,
    statusId: t.statusId,
  });

  /** Checks that the fields rules or the caller set name records of this instance. */
  async function checkReferences(stores: Stores, t: RuleSubject, problems: FieldProblem[]): Promise<EntityRecord | undefined> {
    const type = await entityOf(stores, 'ticket-types', t.ticketTypeId, 'ticketTypeId', problems, 'ticket type');
    if (t.teamId) await entityOf(stores, 'teams', t.teamId, 'teamId', problems, 'team');
    if (t.statusId) {
      const status = await entityOf(stores, 'statuses', t.statusId, 'statusId', problems, 'status');
      if (status && status.body.kind !== 'ticket') problems.push({ path: 'statusId', code: 'wrong-kind', message: `Status ${status.name} is not a ticket status.` });
    }
    return type;
  }

  type Raise = (event: TicketEvent, ticket: TicketRecord, data?: Record<string, unknown>) => Promise<void>;

  /**
   * Logs a ticket whose caller checks are done: its status from the workflow's first step, the ticket type or the
   * default ticket status; the ticket rules applied; its references checked; the "created" action and events recorded.
   */
  async function logTicket(
    stores: Stores,
    raise: Raise,
    ctx: WriteContext,
    type: EntityRecord,
    input: Pick<TicketRecord, 'customerId' | 'userId' | 'ticketTypeId' | 'summary' | 'details' | 'priority' | 'teamId' | 'agentId'> & { statusId?: string | null | undefined },
    problems: FieldProblem[],
    details: Record<string, unknown>,
  ): Promise<{ ticket: TicketRecord; matched: { id: string; name: string }[] }> {
    const workflowId = typeof type.body.workflowId === 'string' ? type.body.workflowId : null;
    const workflow = await workflowOf(stores, { workflowId });
    const startStep = workflow?.steps.find((s) => s.id === workflow.startStepId);
    const settings = await readSettings(stores);
    const rules = await rulesFor(stores);
    const statusId =
      input.statusId !== undefined ? input.statusId : (startStep?.statusId ?? (type.body.defaultStatusId as string | undefined) ?? (await defaultTicketStatus(stores)));
    const { ticket: ruled, matched } = applyTicketRules(
      rules,
      'new',
      subjectOf({ customerId: input.customerId, ticketTypeId: input.ticketTypeId, summary: input.summary, details: input.details, priority: input.priority, teamId: input.teamId, agentId: input.agentId, statusId }),
      await ruleAgents(stores, rules, settings),
    );
    await checkReferences(stores, ruled, problems);
    refuse(problems);
    const now = clock.now();
    const ticket: TicketRecord = {
      id: newId(now),
      number: await stores.desk.nextTicketNumber(),
      ...ruled,
      userId: input.userId,
      closed: await isClosedStatus(stores, ruled.statusId),
      workflowId,
      stepId: startStep?.id ?? null,
      createdBy: ctx.actor.id,
      createdAt: now,
      updatedAt: now,
    };
    await stores.desk.insertTicket(ticket);
    await record(stores, ctx, ticket.id, 'created', 'Ticket logged', '', { matchedRules: matched, ...details });
    await raise('ticket.created', ticket, { matchedRules: matched });
    if (ticket.agentId !== null) await raise('ticket.assigned', ticket, { previousAgentId: null });
    return { ticket, matched };
  }

  return {
    async list(principal, query, options = {}) {
      const rows = await db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        if (!options.savedList && !options.view) refuseCoManagedFilters(caller, query);
        return stores.desk.listTickets({ ...filterOf(caller, query, options.view), limit: query.limit + 1 });
      });
      return pageOf(rows, query.limit, ticketView);
    },

    async page(principal, query, page, options = {}) {
      const { rows, total } = await db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        if (!options.view) refuseCoManagedFilters(caller, query);
        const { limit: _limit, ...filter } = filterOf(caller, { ...query, limit: page.limit }, options.view);
        return stores.desk.pageTickets(filter, page);
      });
      return { items: rows.map(ticketView), total };
    },

    async exportCsv(principal, query) {
      return db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        requireTicketPermission(caller, 'exportTickets', 'Exporting tickets');
        refuseCoManagedFilters(caller, query);
        const filter = filterOf(caller, { ...query, limit: EXPORT_PAGE });
        const lines = [EXPORT_COLUMNS.join(',')];
        let beforeId: string | undefined;
        // Newest first, page by page, as far as the caller sees: the same tickets the list would show.
        while (lines.length <= EXPORT_MAX) {
          const rows = await stores.desk.listTickets({ ...filter, ...(beforeId ? { beforeId } : {}) });
          for (const t of rows) lines.push(EXPORT_COLUMNS.map((column) => csvCell(ticketView(t)[column])).join(','));
          if (rows.length < EXPORT_PAGE) break;
          beforeId = rows[rows.length - 1]!.id;
        }
        return `${lines.slice(0, EXPORT_MAX + 1).join('\r\n')}\r\n`;
      });
    },

    async get(principal, id) {
      return db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        return detail(stores, caller, await visibleTicket(stores, caller, id));
      });
    },

    async create(ctx, principal, input) {
      return writing(async (stores, raise) => {
        const caller = await deskCaller(stores, principal);
        requireTicketPermission(caller, 'addTickets', 'Logging a ticket');
        const problems: FieldProblem[] = [];
        if (!(await mayNameCustomer(stores, caller, input.customerId))) problems.push(customerReferenceProblem('customerId', input.customerId));
        if (input.userId) {
          const user = await stores.desk.findUser(input.userId);
          if (!user || user.customerId !== input.customerId) problems.push({ path: 'userId', code: 'reference-not-found', message: `The customer has no user with id ${input.userId}.` });
        }
        const type = await entityOf(stores, 'ticket-types', input.ticketTypeId, 'ticketTypeId', problems, 'ticket type');
        refuse(problems);
        refuseTicketType(caller, type!);
        if (caller.coManaged && type!.body.allowedForCoManaged === false) {
          throw new DomainError('FORBIDDEN', `Agents using co-managed functionality cannot log tickets of type ${type!.name}.`, {
            errors: [{ path: 'ticketTypeId', code: 'not-for-co-managed', message: 'This ticket type is not allowed for co-managed agents.' }],
          });
        }
        // The ticket type's default team is the starting point: only what the caller asks for beyond it is checked.
        const defaults = { teamId: (type!.body.defaultTeamId as string | undefined) ?? null, agentId: null };
        const asked = { teamId: input.teamId !== undefined ? input.teamId : defaults.teamId, agentId: input.agentId ?? null };
        await checkAssignment(stores, caller, principal, defaults, asked, problems);
        const { ticket, matched } = await logTicket(stores, raise, ctx, type!, { ...input, ...asked }, problems, {});
        return { ticket: await detail(stores, caller, ticket), matchedRules: matched };
      });
    },

    async update(ctx, principal, id, patch) {
      return writing(async (stores, raise) => {
        const caller = await deskCaller(stores, principal);
        const ticket = await visibleTicket(stores, caller, id);
        checkEditable(caller, ticket);
        if (patch.ticketTypeId !== undefined && patch.ticketTypeId !== ticket.ticketTypeId) {
          requireTicketPermission(caller, 'changeTicketType', 'Changing a ticket’s type');
          const type = await stores.entities.find(patch.ticketTypeId);
          if (type?.type === 'ticket-types') refuseTicketType(caller, type);
        }
        const problems: FieldProblem[] = [];
        const asked = {
          teamId: patch.teamId !== undefined ? patch.teamId : ticket.teamId,
          agentId: patch.agentId !== undefined ? patch.agentId : ticket.agentId,
        };
        await checkAssignment(stores, caller, principal, ticket, asked, problems);
        const settings = await readSettings(stores);
        const rules = await rulesFor(stores);
        const { ticket: ruled, matched } = applyTicketRules(
          rules,
          'updated',
          subjectOf({
            customerId: ticket.customerId,
            ticketTypeId: patch.ticketTypeId ?? ticket.ticketTypeId,
            summary: patch.summary ?? ticket.summary,
            details: patch.details ?? ticket.details,
            priority: patch.priority !== undefined ? patch.priority : ticket.priority,
            statusId: patch.statusId !== undefined ? patch.statusId : ticket.statusId,
            ...asked,
          }),
          await ruleAgents(stores, rules, settings),
        );
        await checkReferences(stores, ruled, problems);
        refuse(problems);
        const next: TicketRecord = { ...ticket, ...ruled, closed: await isClosedStatus(stores, ruled.statusId), updatedAt: clock.now() };
        const changed = (Object.keys(ruled) as (keyof RuleSubject)[]).filter((key) => next[key] !== ticket[key]);
        if (changed.length === 0) return detail(stores, caller, ticket);
        await stores.desk.updateTicket(next);
        const changes = Object.fromEntries(changed.map((key) => [key, { from: ticket[key], to: next[key] }]));
        await record(stores, ctx, ticket.id, 'updated', 'Ticket updated', '', { changed: changes, matchedRules: matched });
        await raise('ticket.updated', next, { changed: changes });
        if (next.agentId !== null && next.agentId !== ticket.agentId) await raise('ticket.assigned', next, { previousAgentId: ticket.agentId });
        if (next.closed && !ticket.closed) await raise('ticket.closed', next);
        return detail(stores, caller, next);
      });
    },

    async actions(principal, id) {
      return db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        await visibleTicket(stores, caller, id);
        return (await stores.desk.listActions(id)).map(actionView);
      });
    },

    async act(ctx, principal, id, input) {
      return writing(async (stores, raise) => {
        const caller = await deskCaller(stores, principal);
        const ticket = await visibleTicket(stores, caller, id);
        checkEditable(caller, ticket);
        if (input.kind === 'note') {
          const action = await record(stores, ctx, ticket.id, 'note', 'Note', input.note, {});
          await raise('ticket.action', ticket, { action: actionView(action) });
          return { ticket: await detail(stores, caller, ticket), action: actionView(action) };
        }
        const workflow = await workflowOf(stores, ticket);
        const step = workflow?.steps.find((s) => s.id === ticket.stepId);
        const chosen = step?.actions.find((a) => a.id === input.actionId);
        if (!workflow || !step || !chosen) {
          throw new DomainError('ACTION_NOT_AVAILABLE', `The ticket's current step has no action "${input.actionId}".`, {
            errors: [{ path: 'actionId', code: 'not-available', message: 'Not an action of the ticket’s current workflow step.' }],
          });
        }
        if (!mayUseAction(caller, chosen)) {
          throw new DomainError('ACTION_RESTRICTED', `The action "${chosen.name}" is restricted to other teams and roles.`, { actionId: chosen.id });
        }
        const nextStep = workflow.steps.find((s) => s.id === (chosen.nextStepId ?? step.id))!;
        const statusId = chosen.setStatusId ?? nextStep.statusId ?? ticket.statusId;
        const next: TicketRecord = { ...ticket, stepId: nextStep.id, statusId, closed: await isClosedStatus(stores, statusId), updatedAt: clock.now() };
        await stores.desk.updateTicket(next);
        const action = await record(stores, ctx, ticket.id, 'workflow-action', chosen.name, input.note, {
          actionId: chosen.id,
          fromStepId: step.id,
          toStepId: nextStep.id,
          fromStatusId: ticket.statusId,
          toStatusId: statusId,
        });
        await raise('ticket.action', next, { action: actionView(action) });
        if (next.closed && !ticket.closed) await raise('ticket.closed', next);
        return { ticket: await detail(stores, caller, next), action: actionView(action) };
      });
    },

    async receiveMail(mailbox, message) {
      const ctx: WriteContext = { actor: mailboxActor(mailbox), request: null, changeSet: null, authority: noAuthority };
      const key = messageKey(message);
      const from = message.from?.address.toLowerCase() ?? null;
      const entry = (fields: Pick<InboundMailRecord, 'outcome' | 'ticketId' | 'reason'>): InboundMailRecord => ({
        id: newId(clock.now()),
        mailboxId: mailbox.id,
        mailboxName: mailbox.name,
        messageKey: key,
        fromAddress: from,
        subject: message.subject.slice(0, 500),
        receivedAt: clock.now(),
        ...fields,
      });
      const mail = { mailbox: mailbox.name, from, messageId: message.messageId };
      try {
        return await writing(async (stores, raise) => {
          const route = await routeInboundMail(stores, mailbox, message);
          if (route.kind === 'duplicate') return route.record;
          let logged: InboundMailRecord;
          if (route.kind === 'ignore') {
            logged = entry({ outcome: 'ignored', ticketId: null, reason: route.reason });
          } else if (route.kind === 'note') {
            const action = await record(stores, ctx, route.ticket.id, 'note', 'Email', replyText(message.text).slice(0, 100_000), { mail });
            await raise('ticket.action', route.ticket, { action: actionView(action) });
            logged = entry({ outcome: 'note-added', ticketId: route.ticket.id, reason: route.reason });
          } else {
            const problems: FieldProblem[] = [];
            const type = await entityOf(stores, 'ticket-types', route.ticketTypeId, 'defaultTicketTypeId', problems, 'ticket type');
            refuse(problems);
            const teamId = mailbox.defaultTeamId ?? (type!.body.defaultTeamId as string | undefined) ?? null;
            const input = {
              customerId: route.user.customerId,
              userId: route.user.id,
              ticketTypeId: type!.id,
              summary: summaryOf(message.subject),
              details: message.text.slice(0, 100_000),
              priority: null,
              teamId,
              agentId: null,
            };
            const { ticket } = await logTicket(stores, raise, ctx, type!, input, problems, { mail });
            logged = entry({ outcome: 'ticket-logged', ticketId: ticket.id, reason: null });
          }
          await stores.desk.insertInboundMail(logged);
          return logged;
        });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        // Configuration that cannot log the ticket (a rule naming a missing team, say) is said once in the mail log.
        const problems = (error.details.errors as FieldProblem[] | undefined)?.map((p) => `${p.path}: ${p.message}`) ?? [];
        const reason = [error.message, ...problems].join(' ');
        return writing(async (stores) => {
          const earlier = await stores.desk.findInboundMail(key, mailbox.id);
          if (earlier) return earlier;
          const logged = entry({ outcome: 'ignored', ticketId: null, reason });
          await stores.desk.insertInboundMail(logged);
          return logged;
        });
      }
    },
  };
}

