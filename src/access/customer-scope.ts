import type { Catalog } from '../catalog/catalog.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { AgentRecord, ChangeRecord, ChangeSummary, EntityRecord, Stores } from '../store/ports.js';
import { intersect } from './permissions.js';

/** Which customers' records a caller may see: all of them, or only the listed ones. */
export type CustomerScope = { kind: 'all' } | { kind: 'only'; customerIds: ReadonlySet<string> };

export const everyCustomer: CustomerScope = { kind: 'all' };

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
export function customerScope(agent: Pick<AgentRecord, 'clientRestrictions'>, heldRoles: EntityRecord[]): CustomerScope {
  const restrictions: RestrictionFields[] = [agent.clientRestrictions];
  for (const role of heldRoles) {
    const r = restrictionOf(role.body.customerRestrictions);
    if (r) restrictions.push(r);
  }
  const lists = restrictions.filter((r) => r.allowAllCustomers === false).map((r) => new Set<string>(r.customerIds ?? []));
  if (lists.length === 0) return everyCustomer;
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

/** The problem of a body naming at `path` a customer this instance lacks, or one outside the caller's customers: the same for both. */
export function customerReferenceProblem(path: string, customerId: string): FieldProblem {
  return { path, code: 'reference-not-found', message: `No customer has id ${customerId}.` };
}

/** The refusal of a body naming a customer the caller cannot name, at `path`: another customer's existence does not leak. */
export function customerReferenceNotFound(path: string, customerId: string): DomainError {
  return new DomainError('REFERENCE_NOT_FOUND', 'The body references a customer that does not exist on this instance.', { errors: [customerReferenceProblem(path, customerId)] });
}

/** The customer a body of a customer's record names; null when it names none. */
export function customerOfBody(def: Pick<EntityTypeDefinition, 'customerRecord'>, body: Record<string, unknown>): string | null {
  const value = def.customerRecord ? body[def.customerRecord.customer] : undefined;
  return typeof value === 'string' ? value : null;
}

/**
 * Whether the caller sees an entity body: every body of a type that holds no customer's records (configuration is
 * not a customer's), and a customer's record only when that customer is in scope.
 */
export function seesBody(scope: CustomerScope, def: Pick<EntityTypeDefinition, 'customerRecord'> | undefined, body: Record<string, unknown> | null): boolean {
  if (scope.kind === 'all' || !def?.customerRecord || body === null) return true;
  return inScope(scope, customerOfBody(def, body));
}

/** Whether the caller sees a change: it sees each of its bodies, before and after (a record moved between customers is both's). */
export function seesChange(scope: CustomerScope, catalog: Catalog, change: Pick<ChangeRecord, 'type' | 'before' | 'after'>): boolean {
  if (scope.kind === 'all') return true;
  const def = catalog.find(change.type);
  return seesBody(scope, def, change.before) && seesBody(scope, def, change.after);
}

/**
 * The changes among `summaries` the caller does not see. Only changes of types holding customers' records are read
 * whole, and only for a restricted caller.
 */
export async function hiddenChanges(stores: Stores, catalog: Catalog, scope: CustomerScope, summaries: Pick<ChangeSummary, 'id' | 'type'>[]): Promise<Set<string>> {
  if (scope.kind === 'all') return new Set();
  const toRead = summaries.filter((s) => catalog.find(s.type)?.customerRecord).map((s) => s.id);
  if (toRead.length === 0) return new Set();
  const changes = await stores.history.findByIds(toRead);
  return new Set(changes.filter((c) => !seesChange(scope, catalog, c)).map((c) => c.id));
}
