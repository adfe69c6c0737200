import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';
import type { Database } from '../schema.js';
import type { Stores, Transactor } from '../ports.js';
import { createChangeStore } from './change-store.js';
import { createEntityStore } from './entity-store.js';
import {
  createAccessTokenStore,
  createAgentStore,
  createApplicationStore,
  createAuditStore,
  createSessionStore,
  createThrottleStore,
  createTokenStore,
} from './access-stores.js';
import { createInstanceStore, createSettingsStore } from './instance-stores.js';
import { createChangeSummaryStore, createDownstreamStore, createPeerStore, createSyncHistoryStore, createSyncRequestStore } from './sync-stores.js';

export function createStores(db: Kysely<Database>): Stores {
  return {
    entities: createEntityStore(db),
    changes: createChangeStore(db),
    instance: createInstanceStore(db),
    settings: createSettingsStore(db),
    agents: createAgentStore(db),
    tokens: createTokenStore(db),
    applications: createApplicationStore(db),
    accessTokens: createAccessTokenStore(db),
    sessions: createSessionStore(db),
    audit: createAuditStore(db),
    throttle: createThrottleStore(db),
    peers: createPeerStore(db),
    downstream: createDownstreamStore(db),
    summary: createChangeSummaryStore(db),
    history: createSyncHistoryStore(db),
    syncRequests: createSyncRequestStore(db),
  };
}

export function createTransactor(dialect: StoreDialect): Transactor {
  return {
    write: (fn) => dialect.writeTransaction((trx) => fn(createStores(trx))),
    read: (fn) => dialect.readTransaction((trx) => fn(createStores(trx))),
  };
}
