import { createHash } from 'node:crypto';
import type { Catalog } from '../../src/catalog/catalog.js';
import type { Transactor } from '../../src/store/ports.js';

const ALL = 1_000_000;

/**
 * A digest of what an instance holds, read through its stores: every entity of every catalog type (with its head), the
 * change log's head, agents, API applications, customers, users, tickets, webhook
 * deliveries, settings, linked peers and downstream instances. A refused request must leave it exactly as it was.
 * The audit log, throttle counts and sign-in attempts are left out: a refusal may record itself there.
 */
export async function stateFingerprint(db: Transactor, catalog: Catalog): Promise<string> {
  const state = await db.read(async (stores) => {
    const entities: unknown[] = [];
    for (const def of catalog.list()) entities.push(await stores.entities.listAll(def.key));
    return {
      head: await stores.changes.head(),
      entities,
      agents: await stores.agents.list({ limit: ALL }),
      applications: await stores.applications.list({ limit: ALL }),
      customers: await stores.desk.listCustomers({ limit: ALL }),
      users: await stores.desk.listUsers({ limit: ALL }),
      tickets: await stores.desk.listTickets({ visibility: { kind: 'all' }, limit: ALL }),
      deliveries: await stores.deliveries.list({ limit: ALL }),
      settings: await stores.settings.all(),
      peers: await stores.peers.list(),
      downstream: await stores.downstream.list(),
    };
  });
  return createHash('sha256').update(JSON.stringify(state)).digest('hex');
}
