import type { Principal, TeamMembership } from '../access/agent-access.js';
import { inScope, type CustomerScope } from '../access/customer-scope.js';
import { intersect, type Permission } from '../access/permissions.js';
import { DomainError } from '../shared/errors.js';
import type { AgentRecord, EntityRecord, Stores, TicketRecord, TicketVisibility } from '../store/ports.js';

/** The role flags of the guide's ticket permissions (the `roles` type's `ticketPermissions`). */
export type TicketPermission =
  | 'addTickets'
  | 'editClosedTickets'
  | 'viewUnassignedTickets'
  | 'viewTicketsAssignedToOthers'
  | 'changeTicketType'
  | 'reassignTickets'
  | 'assignOutsideOwnTeams'
  | 'editTicketsNotAssigned'
  | 'exportTickets';

/** Who is working the desk, with everything the desk's access rules read: built per request, so changes apply at once. */
export interface DeskCaller {
  agentId: string;
  isAdministrator: boolean;
  permissions: ReadonlySet<Permission>;
  ticketPermissions: ReadonlySet<string>;
  teamMemberships: TeamMembership[];
  roleIds: string[];
  scope: CustomerScope;
  /** The ticket types whose tickets the caller sees and logs: every one, or those of its roles' ticket groups. */
  ticketTypes: TicketTypeScope;
  /** Uses co-managed functionality: acts for a separate organisation, the co-managed IT customer set on the agent. */
  coManaged: boolean;
}

export type TicketTypeScope = { kind: 'all' } | { kind: 'only'; ticketTypeIds: ReadonlySet<string> };

interface GroupRestriction {
  restrictToGroups?: boolean;
  ticketGroupIds?: string[];
}

/**
 * The ticket types of the roles' ticket group restrictions: a restricting role allows the types of its groups, and,
 * like client restrictions, restrictions only narrow — with several restricting roles, a type must be allowed by each.
 */
async function ticketTypeScope(stores: Stores, isAdministrator: boolean, roles: EntityRecord[]): Promise<TicketTypeScope> {
  if (isAdministrator) return { kind: 'all' };
  const restricting = roles.map((role) => role.body.ticketGroupRestrictions as GroupRestriction | undefined).filter((r): r is GroupRestriction => r?.restrictToGroups === true);
  if (restricting.length === 0) return { kind: 'all' };
  const groupIds = [...new Set(restricting.flatMap((r) => r.ticketGroupIds ?? []))];
  const groups = new Map((groupIds.length > 0 ? await stores.entities.findMany(groupIds) : []).filter((g) => g.type === 'ticket-groups').map((g) => [g.id, g]));
  const allowedBy = restricting.map((r) => new Set((r.ticketGroupIds ?? []).flatMap((id) => (groups.get(id)?.body.ticketTypeIds as string[] | undefined) ?? [])));
  return { kind: 'only', ticketTypeIds: allowedBy.reduce((a, b) => intersect(a, b)) };
}

export function ticketTypeAllowed(caller: Pick<DeskCaller, 'ticketTypes'>, ticketTypeId: string): boolean {
  return caller.ticketTypes.kind === 'all' || caller.ticketTypes.ticketTypeIds.has(ticketTypeId);
}

/** The ticket type ids a list is narrowed to; undefined when the caller may see every type. */
export function scopedTicketTypeIds(caller: DeskCaller): string[] | undefined {
  return caller.ticketTypes.kind === 'all' ? undefined : [...caller.ticketTypes.ticketTypeIds];
}

/** Whether an agent uses co-managed functionality (the guide's "Co-Managed IT" option on the agent). */
export function isCoManagedAgent(agent: Pick<AgentRecord, 'coManagedCustomerId'>): boolean {
  return agent.coManagedCustomerId !== null;
}

export async function deskCaller(stores: Stores, principal: Principal): Promise<DeskCaller> {
  const roles = principal.access.roleIds.length > 0 ? await stores.entities.findMany(principal.access.roleIds) : [];
  return {
    agentId: principal.agent.id,
    isAdministrator: principal.isAdministrator,
    permissions: principal.permissions,
    ticketPermissions: principal.access.ticketPermissions,
    teamMemberships: principal.access.teamMemberships,
    roleIds: principal.access.roleIds,
    scope: principal.access.customers,
    ticketTypes: await ticketTypeScope(stores, principal.isAdministrator, roles),
    coManaged: isCoManagedAgent(principal.agent),
  };
}

export function holds(caller: DeskCaller, flag: TicketPermission): boolean {
  return caller.isAdministrator || caller.ticketPermissions.has(flag);
}

/** The customer ids a list is narrowed to; undefined when the caller may see every customer. */
export function scopedCustomerIds(caller: DeskCaller): string[] | undefined {
  return caller.scope.kind === 'all' ? undefined : [...caller.scope.customerIds];
}

export function ticketVisibility(caller: DeskCaller): TicketVisibility {
  if (caller.isAdministrator) return { kind: 'all' };
  return {
    kind: 'limited',
    agentId: caller.agentId,
    teamIds: caller.teamMemberships.map((m) => m.teamId),
    unassigned: holds(caller, 'viewUnassignedTickets'),
    assignedToOthers: holds(caller, 'viewTicketsAssignedToOthers'),
  };
}

/**
 * Whether the caller sees the ticket: within its customers and ticket types, and then its own tickets, or another's or
 * an unassigned one in its teams (or in no team) as its view permissions allow. The same rule as the store's list filter.
 */
export function seesTicket(caller: DeskCaller, ticket: TicketRecord): boolean {
  if (!inScope(caller.scope, ticket.customerId) || !ticketTypeAllowed(caller, ticket.ticketTypeId)) return false;
  const visibility = ticketVisibility(caller);
  if (visibility.kind === 'all' || ticket.agentId === caller.agentId) return true;
  const inTeams = ticket.teamId === null || visibility.teamIds.includes(ticket.teamId);
  const reach = ticket.agentId === null ? visibility.unassigned : visibility.assignedToOthers;
  return inTeams && reach;
}

export function requireTicketPermission(caller: DeskCaller, flag: TicketPermission, doing: string): void {
  if (holds(caller, flag)) return;
  throw new DomainError('TICKET_PERMISSION_REQUIRED', `${doing} needs the "${flag}" ticket permission of a role.`, { ticketPermission: flag });
}

/**
 * Whether the team's tickets are the caller's own work: its access to the team is "modify" (or it is an administrator).
 * A ticket in no team is no team's work.
 */
export function modifiesTeam(caller: DeskCaller, teamId: string | null): boolean {
  if (caller.isAdministrator) return true;
  return teamId !== null && caller.teamMemberships.some((m) => m.teamId === teamId && m.access === 'modify');
}

export function memberOf(caller: Pick<DeskCaller, 'teamMemberships'>, teamId: string): boolean {
  return caller.teamMemberships.some((m) => m.teamId === teamId);
}
