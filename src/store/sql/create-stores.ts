import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';
import type { Database } from '../schema.js';
import type { Stores, Transactor } from '../ports.js';
import { createChangeStore } from './change-store.js';
import { createDeskStore, createWebhookDeliveryStore } from './desk-stores.js';
import { createEntityStore } from './entity-store.js';
import {
  createAccessTokenStore,
  createAgentStore,
  createApplicationStore,
  createAuditStore,
  createSessionStore,
  createSsoAttemptStore,
  createThrottleStore,
  createTokenStore,
} from './access-stores.js';
import { createInstanceStore, createSettingsStore } from './instance-stores.js';
import { createRecordStore } from './record-store.js';
import { createIdAliasStore } from './alias-store.js';
import { createPromotionRequestStore } from './promotion-request-store.js';
import { createChangeSummaryStore, createDownstreamStore, createPeerStore, createSyncHistoryStore, createSyncRequestStore } from './sync-stores.js';

/**
 * Stores are made on first use: a transaction builds only the few it touches (a tracked write uses three). The getters
 * live on the prototype, so making the object for a transaction costs one allocation, not seventeen closures.
 */
class LazyStores implements Stores {
  // Plain (not #private) fields: an object made by `withStores` reaches them through its prototype.
  private readonly db: Kysely<Database>;
  private readonly made: Partial<Stores> = {};

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  get entities(): Stores['entities'] {
    return (this.made.entities ??= createEntityStore(this.db));
  }

  get changes(): Stores['changes'] {
    return (this.made.changes ??= createChangeStore(this.db));
  }

  get instance(): Stores['instance'] {
    return (this.made.instance ??= createInstanceStore(this.db));
  }

  get settings(): Stores['settings'] {
    return (this.made.settings ??= createSettingsStore(this.db));
  }

  get agents(): Stores['agents'] {
    return (this.made.agents ??= createAgentStore(this.db));
  }

  get tokens(): Stores['tokens'] {
    return (this.made.tokens ??= createTokenStore(this.db));
  }

  get applications(): Stores['applications'] {
    return (this.made.applications ??= createApplicationStore(this.db));
  }

  get accessTokens(): Stores['accessTokens'] {
    return (this.made.accessTokens ??= createAccessTokenStore(this.db));
  }

  get sessions(): Stores['sessions'] {
    return (this.made.sessions ??= createSessionStore(this.db));
  }

  get audit(): Stores['audit'] {
    return (this.made.audit ??= createAuditStore(this.db));
  }

  get throttle(): Stores['throttle'] {
    return (this.made.throttle ??= createThrottleStore(this.db));
  }

  get peers(): Stores['peers'] {
    return (this.made.peers ??= createPeerStore(this.db));
  }

  get downstream(): Stores['downstream'] {
    return (this.made.downstream ??= createDownstreamStore(this.db));
  }

  get summary(): Stores['summary'] {
    return (this.made.summary ??= createChangeSummaryStore(this.db));
  }

  get history(): Stores['history'] {
    return (this.made.history ??= createSyncHistoryStore(this.db));
  }

  get syncRequests(): Stores['syncRequests'] {
    return (this.made.syncRequests ??= createSyncRequestStore(this.db));
  }

  get desk(): Stores['desk'] {
    return (this.made.desk ??= createDeskStore(this.db));
  }

  get ssoAttempts(): Stores['ssoAttempts'] {
    return (this.made.ssoAttempts ??= createSsoAttemptStore(this.db));
  }

  get deliveries(): Stores['deliveries'] {
    return (this.made.deliveries ??= createWebhookDeliveryStore(this.db));
  }

  get records(): Stores['records'] {
    return (this.made.records ??= createRecordStore(this.db));
  }

  get aliases(): Stores['aliases'] {
    return (this.made.aliases ??= createIdAliasStore(this.db));
  }

  get promotionRequests(): Stores['promotionRequests'] {
    return (this.made.promotionRequests ??= createPromotionRequestStore(this.db));
  }
}

export function createStores(db: Kysely<Database>): Stores {
  return new LazyStores(db);
}

export function createTransactor(dialect: StoreDialect): Transactor {
  return {
    write: (fn) => dialect.writeTransaction((trx) => fn(createStores(trx))),
    read: (fn) => dialect.readTransaction((trx) => fn(createStores(trx))),
  };
}
