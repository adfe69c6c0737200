import type { DomainError } from '../shared/errors.js';
import type { EntityRecord } from '../store/ports.js';
import type { Principal } from './agent-access.js';
import { intersect } from './permissions.js';

/** Which customers' records a caller may see: all of them, or only the listed ones. */
export type CustomerScope = { kind: 'all' } | { kind: 'only'; customerIds: ReadonlySet<string> };

interface RestrictionFields {
  allowAllCustomers?: boolean;
  customerIds?: string[];
}

function restrictionOf(value: unknown): RestrictionFields | null {
  return typeof value === 'object' && value !== null ? (value as RestrictionFields) : null;
}

/**
 * The caller's customer scope: the agent's client restrictions narrowed by those of every role it holds.
 * Restrictions only ever narrow: a caller is unrestricted only if the agent and all its roles allow every customer.
 */
export function customerScope(principal: Pick<Principal, 'agent' | 'isAdministrator'>, heldRoles: EntityRecord[]): CustomerScope {
  const restrictions: RestrictionFields[] = [principal.agent.clientRestrictions];
  for (const role of heldRoles) {
    const r = restrictionOf(role.body.customerRestrictions);
    if (r) restrictions.push(r);
  }
  const lists = restrictions.filter((r) => r.allowAllCustomers === false).map((r) => new Set<string>(r.customerIds ?? []));
  if (lists.length === 0) return { kind: 'all' };
  return { kind: 'only', customerIds: lists.reduce((a, b) => intersect(a, b)) };
}

export function inScope(scope: CustomerScope, customerId: string | null): boolean {
  if (scope.kind === 'all') return true;
  return customerId !== null && scope.customerIds.has(customerId);
}

/**
 * Object-level check for a customer-scoped record: out of scope answers "not found", never "forbidden",
 * so a caller cannot learn that another customer's record exists.
 */
export function assertInScope(scope: CustomerScope, customerId: string | null, notFound: () => DomainError): void {
  if (!inScope(scope, customerId)) throw notFound();
}
