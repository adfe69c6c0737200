import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { AgentRecord, Stores } from '../store/ports.js';
import { customerReferenceProblem, inScope, type CustomerScope } from './customer-scope.js';

type CustomerFields = Pick<AgentRecord, 'coManagedCustomerId' | 'customerGroupOverrideId' | 'clientRestrictions'>;

/** The fields of an agent that name customers of its instance (co-managed customer, group override, client restrictions), with where. */
export function customersNamedBy(agent: CustomerFields): { path: string; id: string }[] {
  return [
    ...(agent.coManagedCustomerId === null ? [] : [{ path: 'coManagedCustomerId', id: agent.coManagedCustomerId }]),
    ...(agent.customerGroupOverrideId === null ? [] : [{ path: 'customerGroupOverrideId', id: agent.customerGroupOverrideId }]),
    ...agent.clientRestrictions.customerIds.map((id, i) => ({ path: `clientRestrictions.customerIds[${i}]`, id })),
  ];
}

/**
 * Refuses an agent naming a customer this instance lacks, or one outside the caller's customers (which it cannot
 * know), each at its field. Customers the agent named before are not checked again: disabling an agent never waits on them.
 */
export async function refuseUnknownCustomers(stores: Stores, agent: CustomerFields, before: CustomerFields | null, scope: CustomerScope): Promise<void> {
  const named = new Set(before ? customersNamedBy(before).map((field) => field.id) : []);
  const wanted = customersNamedBy(agent).filter((field) => !named.has(field.id));
  if (wanted.length === 0) return;
  const here = new Set((await stores.records.byIds('customer', [...new Set(wanted.map((field) => field.id))])).map((customer) => customer.id));
  const problems: FieldProblem[] = wanted
    .filter((field) => !here.has(field.id) || !inScope(scope, field.id))
    .map((field) => customerReferenceProblem(field.path, field.id));
  if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', 'The agent names customers that do not exist on this instance.', { errors: problems });
}
