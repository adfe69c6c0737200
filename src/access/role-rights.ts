import type { Authority } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import { roleGrants, type Permission, type RoleGrants } from './permissions.js';

type Body = Record<string, unknown> | null;

/** What a role gives whoever holds it: permissions, ticket permissions, and the scope they apply in. */
export interface RoleRights {
  permissions: ReadonlySet<Permission>;
  ticketPermissions: ReadonlySet<string>;
  /** Team id → access to the team's tickets. */
  teams: ReadonlyMap<string, 'read' | 'modify'>;
  /** Every customer, or only these. */
  customers: 'all' | ReadonlySet<string>;
  /** Every ticket group, or only these. */
  ticketGroups: 'all' | ReadonlySet<string>;
}

/** What a write of a role changes in who holds it and in what it gives. */
export interface RoleWrite {
  /** Holders gained and lost, as `agent <id>` and `third-party id <id>`. */
  holdersAdded: string[];
  holdersRemoved: string[];
  /** Whether someone holds the role both before and after the write. */
  keptHolders: boolean;
  /** What the role gives after the write that it did not before: permissions, ticket permissions, wider scope. */
  widened: { permissions: Permission[]; ticketPermissions: string[]; scope: string[] };
  /**
   * The rights the write hands to someone: everything the role gives, to new holders; to holders it keeps, what the
   * write widens (all of the role's rights when their scope widens).
   */
  granted: { permissions: Permission[]; ticketPermissions: string[] };
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});

/** Who holds a role as its body says: agents by their id here, and by third-party id. */
export function holdersOf(body: Body): Set<string> {
  return new Set([...strings(body?.agentIds).map((id) => `agent ${id}`), ...strings(body?.agentThirdPartyIds).map((id) => `third-party id ${id}`)]);
}

export function rightsOf(body: Body): RoleRights {
  if (body === null) return { permissions: new Set(), ticketPermissions: new Set(), teams: new Map(), customers: new Set(), ticketGroups: new Set() };
  const flags = Object.entries(record(body.ticketPermissions));
  const teams = new Map<string, 'read' | 'modify'>();
  for (const m of Array.isArray(body.teamMemberships) ? body.teamMemberships : []) {
    const { teamId, access } = record(m);
    if (typeof teamId !== 'string') continue;
    if (access === 'modify' || !teams.has(teamId)) teams.set(teamId, access === 'modify' ? 'modify' : 'read');
  }
  const customers = record(body.customerRestrictions);
  const groups = record(body.ticketGroupRestrictions);
  return {
    permissions: roleGrants(body as RoleGrants),
    ticketPermissions: new Set(flags.filter(([, on]) => on === true).map(([flag]) => flag)),
    teams,
    // The schema's defaults: all customers unless restricted, every ticket group unless restricted to some.
    customers: customers.allowAllCustomers === false ? new Set(strings(customers.customerIds)) : 'all',
    ticketGroups: groups.restrictToGroups === true ? new Set(strings(groups.ticketGroupIds)) : 'all',
  };
}

function loosened(label: string, before: 'all' | ReadonlySet<string>, after: 'all' | ReadonlySet<string>): string[] {
  if (after === 'all') return before === 'all' ? [] : [`every ${label}`];
  if (before === 'all') return [];
  return [...after].filter((id) => !before.has(id)).map((id) => `${label} ${id}`);
}

/** What `after` gives that `before` does not. */
export function widening(before: RoleRights, after: RoleRights): RoleWrite['widened'] {
  const teams = [...after.teams].filter(([id, access]) => {
    const had = before.teams.get(id);
    return had === undefined || (had === 'read' && access === 'modify');
  });
  return {
    permissions: [...after.permissions].filter((p) => !before.permissions.has(p)),
    ticketPermissions: [...after.ticketPermissions].filter((flag) => !before.ticketPermissions.has(flag)),
    scope: [
      ...teams.map(([id, access]) => `team ${id} (${access})`),
      ...loosened('customer', before.customers, after.customers),
      ...loosened('ticket group', before.ticketGroups, after.ticketGroups),
    ],
  };
}

export function assessRoleWrite(before: Body, after: Body): RoleWrite {
  const was = holdersOf(before);
  const is = holdersOf(after);
  const holdersAdded = [...is].filter((h) => !was.has(h));
  const holdersRemoved = [...was].filter((h) => !is.has(h));
  const keptHolders = [...is].some((h) => was.has(h));
  const rights = rightsOf(after);
  const widened = widening(rightsOf(before), rights);
  const permissions = new Set<Permission>();
  const ticketPermissions = new Set<string>();
  if (holdersAdded.length > 0 || (keptHolders && widened.scope.length > 0)) {
    for (const p of rights.permissions) permissions.add(p);
    for (const flag of rights.ticketPermissions) ticketPermissions.add(flag);
  } else if (keptHolders) {
    for (const p of widened.permissions) permissions.add(p);
    for (const flag of widened.ticketPermissions) ticketPermissions.add(flag);
  }
  return { holdersAdded, holdersRemoved, keptHolders, widened, granted: { permissions: [...permissions], ticketPermissions: [...ticketPermissions] } };
}

/** Whether the write changes who holds the role. */
export const changesHolders = (write: RoleWrite): boolean => write.holdersAdded.length > 0 || write.holdersRemoved.length > 0;

/** Whether the write gives a right to someone: a new holder, or a holder the role keeps while it widens. */
export function grantsRights(write: RoleWrite): boolean {
  const { permissions, ticketPermissions, scope } = write.widened;
  return write.holdersAdded.length > 0 || (write.keptHolders && permissions.length + ticketPermissions.length + scope.length > 0);
}

const list = (items: readonly string[]) => items.join(', ');

/**
 * Why `authority` may not write the role so, or null when it may. Changing who holds a role, or widening a role that
 * is held, is access management: it needs `access:manage` and every right the write hands out. Who holds the
 * Administrator role is changed only by an administrator acting itself, never through an application.
 */
export function roleWriteRefusal(role: { id: string; name: string; isAdministrator: boolean }, write: RoleWrite, authority: Authority): DomainError | null {
  const subject = { role: { id: role.id, name: role.name } };
  if (role.isAdministrator && changesHolders(write)) {
    if (authority.isAdministrator && !authority.viaApplication) return null;
    return new DomainError(
      'FORBIDDEN',
      `Who holds the Administrator role is changed only by an administrator of this instance, signed in or with their own API token, never through an API application (${list([...write.holdersAdded, ...write.holdersRemoved])}).`,
      { ...subject, holdersAdded: write.holdersAdded, holdersRemoved: write.holdersRemoved, needs: ['administrator'] },
    );
  }
  if (authority.isAdministrator || !(changesHolders(write) || grantsRights(write))) return null;
  const missing = [
    ...(authority.permissions.has('access:manage') ? [] : ['access:manage']),
    ...write.granted.permissions.filter((p) => !authority.permissions.has(p)),
    ...write.granted.ticketPermissions.filter((flag) => !authority.ticketPermissions.has(flag)).map((flag) => `ticket permission ${flag}`),
  ];
  if (missing.length === 0) return null;
  const grants = [...write.granted.permissions, ...write.granted.ticketPermissions.map((flag) => `ticket permission ${flag}`), ...write.widened.scope];
  const what = [
    ...(write.holdersAdded.length > 0 ? [`gives it to ${list(write.holdersAdded)}`] : []),
    ...(write.holdersRemoved.length > 0 ? [`takes it from ${list(write.holdersRemoved)}`] : []),
    ...(write.holdersAdded.length === 0 && grantsRights(write) ? ['widens it while agents here hold it'] : []),
  ];
  return new DomainError(
    'FORBIDDEN',
    `This write of role "${role.name}" ${what.join(' and ')}${grants.length > 0 ? `, granting ${list(grants)}` : ''}: that is access management, and the caller does not hold ${list(missing)}.`,
    { ...subject, holdersAdded: write.holdersAdded, holdersRemoved: write.holdersRemoved, grants, missing },
  );
}
