import type { AgentRecord } from '../store/ports.js';

/** The fields of an agent that name customers of its instance (co-managed customer, group override, client restrictions), with where. */
export function customersNamedBy(agent: Pick<AgentRecord, 'coManagedCustomerId' | 'customerGroupOverrideId' | 'clientRestrictions'>): { path: string; id: string }[] {
  return [
    ...(agent.coManagedCustomerId === null ? [] : [{ path: 'coManagedCustomerId', id: agent.coManagedCustomerId }]),
    ...(agent.customerGroupOverrideId === null ? [] : [{ path: 'customerGroupOverrideId', id: agent.customerGroupOverrideId }]),
    ...agent.clientRestrictions.customerIds.map((id, i) => ({ path: `clientRestrictions.customerIds[${i}]`, id })),
  ];
}
