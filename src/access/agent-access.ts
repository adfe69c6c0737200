import type { Actor } from '../shared/actor.js';
import type { Settings } from '../shared/settings.js';
import type { AgentRecord, EntityRecord, Stores } from '../store/ports.js';
import { ADMINISTRATOR_ROLE_ID, ROLES_TYPE } from './administrator-role.js';
import { customerScope, type CustomerScope } from './customer-scope.js';
import { permissions, roleGrants, type Permission, type RoleGrants } from './permissions.js';

export interface TeamMembership {
  teamId: string;
  access: 'read' | 'modify';
}

/** What an agent may do, from the roles it holds: read fresh on every request, so a change applies at once. */
export interface AgentAccess {
  roleIds: string[];
  isAdministrator: boolean;
  permissions: ReadonlySet<Permission>;
  /** Ticket permissions granted by any held role (the guide's per-role yes/no list). */
  ticketPermissions: ReadonlySet<string>;
  teamMemberships: TeamMembership[];
  /** Whose records the agent sees: its client restrictions narrowed by those of its roles. */
  customers: CustomerScope;
}

/** An authenticated caller: the agent, the application acting for it (if any), and the effective rights. */
export interface Principal {
  actor: Actor;
  agent: AgentRecord;
  application: { id: string; name: string; clientId: string } | null;
  via: 'api-token' | 'access-token' | 'session';
  permissions: ReadonlySet<Permission>;
  isAdministrator: boolean;
  access: AgentAccess;
}

export function holdsRole(role: EntityRecord, agent: AgentRecord, settings: Settings): boolean {
  const ids = (role.body.agentIds as string[] | undefined) ?? [];
  if (ids.includes(agent.id)) return true;
  const thirdParty = (role.body.agentThirdPartyIds as string[] | undefined) ?? [];
  return settings.useThirdPartyIds && agent.thirdPartyId !== null && thirdParty.includes(agent.thirdPartyId);
}

export async function agentAccess(stores: Stores, agent: AgentRecord, settings: Settings): Promise<AgentAccess> {
  const held = agent.disabled ? [] : (await stores.entities.listAll(ROLES_TYPE)).filter((role) => holdsRole(role, agent, settings));
  const isAdministrator = held.some((role) => role.id === ADMINISTRATOR_ROLE_ID);
  const granted = new Set<Permission>(isAdministrator ? permissions : []);
  const ticketPermissions = new Set<string>();
  const memberships = new Map<string, TeamMembership>();
  for (const role of held) {
    for (const p of roleGrants(role.body as RoleGrants)) granted.add(p);
    const flags = (role.body.ticketPermissions ?? {}) as Record<string, unknown>;
    for (const [flag, on] of Object.entries(flags)) if (on === true) ticketPermissions.add(flag);
    for (const m of (role.body.teamMemberships ?? []) as TeamMembership[]) {
      const existing = memberships.get(m.teamId);
      if (!existing || (existing.access === 'read' && m.access === 'modify')) memberships.set(m.teamId, m);
    }
  }
  return {
    roleIds: held.map((r) => r.id),
    isAdministrator,
    permissions: granted,
    ticketPermissions,
    teamMemberships: [...memberships.values()],
    customers: customerScope(agent, held),
  };
}
