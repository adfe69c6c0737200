import type { Principal } from '../access/agent-access.js';
import { seesBody } from '../access/customer-scope.js';
import type { Catalog } from '../catalog/catalog.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import type { EntitySortKey, NumberedPage, Transactor } from '../store/ports.js';
import type { ConfigService, EntityView, WriteOutcome } from '../tracking/config-service.js';
import type { CountedPage, Page } from './customer-service.js';

const ASSETS = 'assets';

export interface AssetQuery {
  limit: number;
  cursor?: string;
  customerId?: string;
  q?: string;
}

export interface AssetService {
  list(principal: Principal, query: AssetQuery): Promise<Page<EntityView>>;
  /** A numbered page of the assets the caller sees that match, and how many match in all. */
  page(principal: Principal, query: Omit<AssetQuery, 'limit' | 'cursor'>, page: NumberedPage<EntitySortKey>): Promise<CountedPage<EntityView>>;
  get(principal: Principal, id: string): Promise<EntityView>;
  create(ctx: WriteContext, principal: Principal, input: unknown): Promise<WriteOutcome>;
  replace(ctx: WriteContext, principal: Principal, id: string, input: unknown, options?: { ifMatch?: string }): Promise<WriteOutcome>;
  remove(ctx: WriteContext, principal: Principal, id: string, options?: { ifMatch?: string }): Promise<WriteOutcome>;
}

const assetNotFound = (id: string) => new DomainError('ASSET_NOT_FOUND', `There is no asset with id ${id}.`, { id });

/**
 * Assets as the desk sees them: the `assets` configuration type (tracked when it is a service or business application
 * and the services setting is on), read and written through the configuration service within the caller's client
 * restrictions — the same rule /v1/config/assets follows.
 */
export function createAssetService(deps: { db: Transactor; catalog: Catalog; config: ConfigService }): AssetService {
  const { db, catalog, config } = deps;
  const def = catalog.get(ASSETS);
  const scoped = (principal: Principal) => ({ scope: principal.access.customers });

  /** The desk's own "not found" for an asset the caller does not see (the configuration service checks again as it writes). */
  async function visible(principal: Principal, id: string): Promise<void> {
    const asset = await db.read((stores) => stores.entities.find(id));
    if (!asset || asset.type !== ASSETS || !seesBody(principal.access.customers, def, asset.body)) throw assetNotFound(id);
  }

  return {
    async list(principal, { limit, cursor, customerId, q }) {
      return config.list(ASSETS, { limit, ...(cursor ? { cursor } : {}), ...(customerId ? { customerId } : {}), ...(q ? { q } : {}), ...scoped(principal) });
    },
    async page(principal, { customerId, q }, page) {
      return config.page(ASSETS, { ...(customerId ? { customerId } : {}), ...(q ? { q } : {}), ...scoped(principal) }, page);
    },
    async get(principal, id) {
      await visible(principal, id);
      return config.get(ASSETS, id, scoped(principal));
    },
    async create(ctx, principal, input) {
      return config.create(ctx, ASSETS, input, scoped(principal));
    },
    async replace(ctx, principal, id, input, options = {}) {
      await visible(principal, id);
      return config.replace(ctx, ASSETS, id, input, { ...options, ...scoped(principal) });
    },
    async remove(ctx, principal, id, options = {}) {
      await visible(principal, id);
      return config.remove(ctx, ASSETS, id, { ...options, ...scoped(principal) });
    },
  };
}
