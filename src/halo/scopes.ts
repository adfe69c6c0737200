import type { Permission } from '../access/permissions.js';

/**
 * Halo's OAuth scopes and the Shiplog permissions each one stands for. A token gets the permissions of the scopes asked
 * that its application has; each request then intersects them with the application's and its agent's current rights.
 */
export const haloScopes: Readonly<Record<string, readonly Permission[]>> = {
  'read:tickets': ['tickets:read'],
  'edit:tickets': ['tickets:edit'],
  'read:customers': ['customers:read'],
  'edit:customers': ['customers:edit'],
  'read:assets': ['assets:read'],
  'edit:assets': ['assets:edit'],
  'read:agents': ['config:read'],
  'edit:agents': ['config:edit'],
  'read:configuration': ['config:read'],
  'edit:configuration': ['config:edit'],
  admin: ['config:read', 'config:edit', 'config:push', 'changes:rollback', 'access:manage', 'audit:read'],
};

/** The scope that asks for every permission the application has. */
export const ALL_SCOPE = 'all';

/**
 * The permissions one scope token asks for, of those the application has: `all` is all of them, a Halo scope those it
 * maps to, a Shiplog permission itself. Null when the token names nothing the application has, or nothing at all.
 */
export function permissionsOfScope(token: string, own: readonly Permission[]): Permission[] | null {
  // Own keys only: a scope named like an Object member ("constructor") is a scope nobody has.
  const asked: readonly string[] = token === ALL_SCOPE ? own : Object.hasOwn(haloScopes, token) ? haloScopes[token]! : [token];
  const granted = own.filter((p) => asked.includes(p));
  return granted.length > 0 ? granted : null;
}
