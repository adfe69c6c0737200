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

/** Stores are made on first use: a transaction builds only the few it touches (a tracked write uses three). */
export function createStores(db: Kysely<Database>): Stores {
  const made: Partial<Stores> = {};
  return {
    get entities() {
      return (made.entities ??= createEntityStore(db));
    },
    get changes() {
      return (made.changes ??= createChangeStore(db));
    },
    get instance() {
      return (made.instance ??= createInstanceStore(db));
    },
    get settings() {
      return (made.settings ??= createSettingsStore(db));
    },
    get agents() {
      return (made.agents ??= createAgentStore(db));
    },
    get tokens() {
      return (made.tokens ??= createTokenStore(db));
    },
    get applications() {
      return (made.applications ??= createApplicationStore(db));
    },
    get accessTokens() {
      return (made.accessTokens ??= createAccessTokenStore(db));
    },
    get sessions() {
      return (made.sessions ??= createSessionStore(db));
    },
    get audit() {
      return (made.audit ??= createAuditStore(db));
    },
    get throttle() {
      return (made.throttle ??= createThrottleStore(db));
    },
    get peers() {
      return (made.peers ??= createPeerStore(db));
    },
    get downstream() {
      return (made.downstream ??= createDownstreamStore(db));
    },
    get summary() {
      return (made.summary ??= createChangeSummaryStore(db));
    },
    get history() {
      return (made.history ??= createSyncHistoryStore(db));
    },
    get syncRequests() {
      return (made.syncRequests ??= createSyncRequestStore(db));
    },
  };
}

export function createTransactor(dialect: StoreDialect): Transactor {
  return {
    write: (fn) => dialect.writeTransaction((trx) => fn(createStores(trx))),
    read: (fn) => dialect.readTransaction((trx) => fn(createStores(trx))),
  };
}
