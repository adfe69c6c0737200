import type { Settings } from '../shared/settings.js';
import type { AgentRecord, EntityRecord } from '../store/ports.js';
import { ADMINISTRATOR_ROLE_ID } from './administrator-role.js';
import { holdsRole } from './agent-access.js';
import { customerScope } from './customer-scope.js';
import { permissions, roleGrants, type Permission, type RoleGrants } from './permissions.js';

/** A role, and the setting of it that gives the right. */
export interface RightSource {
  roleId: string;
  roleName: string;
  because: string;
}

/** Why an agent holds what it holds: each right with every role (and setting) that gives it. */
export interface RightsExplanation {
  agentId: string;
  disabled: boolean;
  isAdministrator: boolean;
  roles: { id: string; name: string }[];
  permissions: { permission: Permission; grantedBy: RightSource[] }[];
  /** Permissions no held role gives, listed so a reader sees what is missing as plainly as what is there. */
  notGranted: Permission[];
  ticketPermissions: { flag: string; grantedBy: RightSource[] }[];
  teams: { teamId: string; teamName: string | null; access: 'read' | 'modify'; grantedBy: RightSource[] }[];
  customers: {
    /** All customers, or only those listed (the intersection of every restriction below). */
    all: boolean;
    customers: { id: string; name: string | null }[];
    restrictedBy: { source: 'agent' | 'role'; roleId: string | null; roleName: string | null; customers: { id: string; name: string | null }[] }[];
  };
}

/** Names of the teams and customers an explanation mentions, where the reader may not look them up. */
export interface RecordNames {
  team(id: string): string | null;
  customer(id: string): string | null;
}

const noNames: RecordNames = { team: () => null, customer: () => null };

/** The role fields that grant permissions, each with the words a person reads. */
const grantFields: { field: keyof RoleGrants; label: string }[] = [
  { field: 'configAccess', label: 'Configuration access' },
  { field: 'canPushConfig', label: 'Can push configuration changes' },
  { field: 'ticketAccess', label: 'Ticket access' },
  { field: 'customerAccess', label: 'Client access' },
  { field: 'userAccess', label: 'Users access' },
  { field: 'assetAccess', label: 'Asset access' },
  { field: 'canApprovePromotions', label: 'Can approve promotion requests' },
  { field: 'canBypassPromotionWindows', label: 'Can apply outside deploy windows in an emergency' },
];

const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function addSource<K>(map: Map<K, RightSource[]>, key: K, source: RightSource): void {
  const list = map.get(key) ?? [];
  list.push(source);
  map.set(key, list);
}

/**
 * Explains an agent's rights from the roles it holds. Each field of a role is asked of `roleGrants` alone, so the
 * explanation grants exactly what access checks grant; the Administrator role gives every permission by itself.
 */
export function explainRights(agent: AgentRecord, roles: readonly EntityRecord[], settings: Settings, names: RecordNames = noNames): RightsExplanation {
  const held = agent.disabled ? [] : roles.filter((role) => holdsRole(role, agent, settings));
  const granted = new Map<Permission, RightSource[]>();
  const flags = new Map<string, RightSource[]>();
  const teams = new Map<string, { access: 'read' | 'modify'; grantedBy: RightSource[] }>();
  for (const role of held) {
    const named = { roleId: role.id, roleName: role.name };
    if (role.id === ADMINISTRATOR_ROLE_ID) for (const p of permissions) addSource(granted, p, { ...named, because: 'Administrator role: every permission' });
    for (const { field, label } of grantFields) {
      const value = role.body[field];
      const because = typeof value === 'boolean' ? label : `${label}: ${String(value)}`;
      for (const p of roleGrants({ [field]: value } as RoleGrants)) {
        const already = granted.get(p)?.some((s) => s.roleId === role.id && s.because === because);
        if (!already) addSource(granted, p, { ...named, because });
      }
    }
    for (const [flag, on] of Object.entries(record(role.body.ticketPermissions))) if (on === true) addSource(flags, flag, { ...named, because: 'Ticket permission' });
    for (const m of Array.isArray(role.body.teamMemberships) ? role.body.teamMemberships : []) {
      const { teamId, access } = record(m);
      if (typeof teamId !== 'string') continue;
      const level = access === 'modify' ? 'modify' : 'read';
      const team = teams.get(teamId) ?? { access: level, grantedBy: [] };
      if (level === 'modify') team.access = 'modify';
      team.grantedBy.push({ ...named, because: `Team membership: ${level}` });
      teams.set(teamId, team);
    }
  }
  const scope = customerScope(agent, held);
  const named = (id: string) => ({ id, name: names.customer(id) });
  const restrictedBy: RightsExplanation['customers']['restrictedBy'] = [];
  if (!agent.clientRestrictions.allowAllCustomers) restrictedBy.push({ source: 'agent', roleId: null, roleName: null, customers: agent.clientRestrictions.customerIds.map(named) });
  for (const role of held) {
    const r = record(role.body.customerRestrictions);
    if (r.allowAllCustomers === false) restrictedBy.push({ source: 'role', roleId: role.id, roleName: role.name, customers: strings(r.customerIds).map(named) });
  }
  return {
    agentId: agent.id,
    disabled: agent.disabled,
    isAdministrator: held.some((role) => role.id === ADMINISTRATOR_ROLE_ID),
    roles: held.map((role) => ({ id: role.id, name: role.name })),
    permissions: permissions.filter((p) => granted.has(p)).map((permission) => ({ permission, grantedBy: granted.get(permission)! })),
    notGranted: permissions.filter((p) => !granted.has(p)),
    ticketPermissions: [...flags].sort(([a], [b]) => a.localeCompare(b)).map(([flag, grantedBy]) => ({ flag, grantedBy })),
    teams: [...teams].map(([teamId, t]) => ({ teamId, teamName: names.team(teamId), access: t.access, grantedBy: t.grantedBy })),
    customers: {
      all: scope.kind === 'all',
      customers: scope.kind === 'all' ? [] : [...scope.customerIds].sort().map(named),
      restrictedBy,
    },
  };
}
