/** Every permission, as `resource:action`. Applications are granted a subset; agents get theirs from roles. */
export const permissions = [
  'tickets:read',
  'tickets:edit',
  'customers:read',
  'customers:edit',
  'users:read',
  'users:edit',
  'assets:read',
  'assets:edit',
  'config:read',
  'config:edit',
  'config:push',
  'changes:rollback',
  'access:manage',
  'audit:read',
] as const;

export type Permission = (typeof permissions)[number];

export function isPermission(value: string): value is Permission {
  return (permissions as readonly string[]).includes(value);
}

type AccessLevel = 'none' | 'read' | 'modify';

/** The fields of a role body that grant permissions. */
export interface RoleGrants {
  configAccess?: AccessLevel;
  canPushConfig?: boolean;
  ticketAccess?: AccessLevel;
  customerAccess?: AccessLevel;
  userAccess?: AccessLevel;
  assetAccess?: AccessLevel;
}

function levelGrants(level: AccessLevel | undefined, read: Permission, edit: Permission): Permission[] {
  if (level === 'modify') return [read, edit];
  if (level === 'read') return [read];
  return [];
}

/**
 * What a role grants. Configuration modify includes rolling back; managing access and reading the audit log
 * belong to the Administrator role alone, so no role can grant itself more.
 */
export function roleGrants(role: RoleGrants): Set<Permission> {
  const granted = new Set<Permission>([
    ...levelGrants(role.configAccess, 'config:read', 'config:edit'),
    ...levelGrants(role.ticketAccess, 'tickets:read', 'tickets:edit'),
    ...levelGrants(role.customerAccess, 'customers:read', 'customers:edit'),
    ...levelGrants(role.userAccess, 'users:read', 'users:edit'),
    ...levelGrants(role.assetAccess, 'assets:read', 'assets:edit'),
  ]);
  if (role.configAccess === 'modify') granted.add('changes:rollback');
  if (role.canPushConfig) granted.add('config:push');
  return granted;
}

export function intersect<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): Set<T> {
  return new Set([...a].filter((p) => b.has(p)));
}

/**
 * Effective rights: an agent's own; behind an application, the application's permissions intersected with the
 * agent's (and with the token's scopes, when it asked for fewer).
 */
export function effectivePermissions(agent: ReadonlySet<Permission>, application?: ReadonlySet<Permission>, scopes?: ReadonlySet<Permission>): Set<Permission> {
  let result = new Set(agent);
  if (application) result = intersect(result, application);
  if (scopes) result = intersect(result, scopes);
  return result;
}

export function isAllowed(required: Permission, effective: ReadonlySet<Permission>): boolean {
  return effective.has(required);
}
