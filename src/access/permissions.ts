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
  'promotions:approve',
  'promotions:bypass',
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
  canApprovePromotions?: boolean;
  canBypassPromotionWindows?: boolean;
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
 * belong to the Administrator role alone, so no role can grant itself more. Client access covers the customers'
 * assets as well as their records — assets are customers' records, and the least-privilege guide's agent, given
 * client, user and ticket access alone, creates and updates them — while users keep a level of their own.
 */
export function roleGrants(role: RoleGrants): Set<Permission> {
  const granted = new Set<Permission>([
    ...levelGrants(role.configAccess, 'config:read', 'config:edit'),
    ...levelGrants(role.ticketAccess, 'tickets:read', 'tickets:edit'),
    ...levelGrants(role.customerAccess, 'customers:read', 'customers:edit'),
    ...levelGrants(role.customerAccess, 'assets:read', 'assets:edit'),
    ...levelGrants(role.userAccess, 'users:read', 'users:edit'),
    ...levelGrants(role.assetAccess, 'assets:read', 'assets:edit'),
  ]);
  if (role.configAccess === 'modify') granted.add('changes:rollback');
  if (role.canPushConfig) granted.add('config:push');
  if (role.canApprovePromotions) granted.add('promotions:approve');
  if (role.canBypassPromotionWindows) granted.add('promotions:bypass');
  return granted;
}

/** What an application's customer permissions (and a token's scopes) cover beyond their name: the customers' users. */
const coveredByApplications: Partial<Record<Permission, Permission>> = { 'customers:read': 'users:read', 'customers:edit': 'users:edit' };

/**
 * What an application's permissions, or its token's scopes, grant: each one, and for customers their users too, as the
 * least-privilege guide's application reads customers and users with "read customers". Still intersected with the
 * agent's own rights, so an application never reads users its agent may not.
 */
export function applicationGrants(values: Iterable<Permission>): Set<Permission> {
  const granted = new Set<Permission>();
  for (const p of values) {
    granted.add(p);
    const covered = coveredByApplications[p];
    if (covered) granted.add(covered);
  }
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
