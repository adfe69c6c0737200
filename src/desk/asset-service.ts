import type { Principal } from '../access/agent-access.js';
import { inScope } from '../access/customer-scope.js';
import type { Catalog } from '../catalog/catalog.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import { isRecord } from '../shared/field-path.js';
import type { EntityRecord, Transactor } from '../store/ports.js';
import type { ConfigService, EntityView, WriteOutcome } from '../tracking/config-service.js';
import { toView } from '../tracking/config-service.js';
import { decodeCursor, encodeCursor } from '../tracking/cursor.js';
import type { Page } from './customer-service.js';
import { deskCaller, type DeskCaller } from './desk-caller.js';

const ASSETS = 'assets';
/** Rows read per step while filling a page of the assets a restricted caller may see. */
const SCAN_STEP = 200;

export interface AssetQuery {
  limit: number;
  cursor?: string;
  customerId?: string;
  q?: string;
}

export interface AssetService {
  list(principal: Principal, query: AssetQuery): Promise<Page<EntityView>>;
  get(principal: Principal, id: string): Promise<EntityView>;
  create(ctx: WriteContext, principal: Principal, input: unknown): Promise<WriteOutcome>;
  replace(ctx: WriteContext, principal: Principal, id: string, input: unknown, options?: { ifMatch?: string }): Promise<WriteOutcome>;
  remove(ctx: WriteContext, principal: Principal, id: string, options?: { ifMatch?: string }): Promise<WriteOutcome>;
}

const assetNotFound = (id: string) => new DomainError('ASSET_NOT_FOUND', `There is no asset with id ${id}.`, { id });
const customerOf = (body: Record<string, unknown>): string | null => (typeof body.customerId === 'string' ? body.customerId : null);

/**
 * Assets as the desk sees them: the `assets` configuration type (tracked when it is a service or business application
 * and the services setting is on), read and written within the caller's client restrictions.
 */
export function createAssetService(deps: { db: Transactor; catalog: Catalog; config: ConfigService }): AssetService {
  const { db, catalog, config } = deps;
  const def = catalog.get(ASSETS);

  const sees = (caller: DeskCaller, asset: EntityRecord) => inScope(caller.scope, customerOf(asset.body));

  async function visible(principal: Principal, id: string): Promise<DeskCaller> {
    return db.read(async (stores) => {
      const caller = await deskCaller(stores, principal);
      const asset = await stores.entities.find(id);
      if (!asset || asset.type !== ASSETS || !sees(caller, asset)) throw assetNotFound(id);
      return caller;
    });
  }

  /** The customer an asset is written for must be one the caller sees (and exist). */
  async function checkCustomer(principal: Principal, input: unknown): Promise<void> {
    const customerId = isRecord(input) && typeof input.customerId === 'string' ? input.customerId : null;
    await db.read(async (stores) => {
      const caller = await deskCaller(stores, principal);
      const customer = customerId === null ? undefined : await stores.desk.findCustomer(customerId);
      if (customerId === null ? caller.scope.kind === 'all' : customer && inScope(caller.scope, customerId)) return;
      throw new DomainError('VALIDATION_FAILED', 'The asset body is not valid.', {
        errors: [
          customerId === null
            ? { path: 'customerId', code: 'required', message: 'An agent restricted to some customers must name one of them.' }
            : { path: 'customerId', code: 'reference-not-found', message: `No customer has id ${customerId}.` },
        ],
      });
    });
  }

  return {
    async list(principal, { limit, cursor, customerId, q }) {
      const found = await db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        const rows: EntityRecord[] = [];
        let afterId = cursor ? decodeCursor(cursor) : undefined;
        // Pages of the type are read until the page is full: a restricted caller's assets may be sparse among them.
        for (;;) {
          const batch = await stores.entities.list({ type: ASSETS, limit: SCAN_STEP, ...(afterId ? { afterId } : {}), ...(q ? { nameContains: q } : {}) });
          for (const asset of batch) {
            if (sees(caller, asset) && (customerId === undefined || customerOf(asset.body) === customerId)) rows.push(asset);
            if (rows.length > limit) return rows;
          }
          if (batch.length < SCAN_STEP) return rows;
          afterId = batch[batch.length - 1]!.id;
        }
      });
      const page = found.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map((r) => toView(def, r)), nextCursor: found.length > limit && last ? encodeCursor(last.id) : null };
    },
    async get(principal, id) {
      await visible(principal, id);
      return config.get(ASSETS, id);
    },
    async create(ctx, principal, input) {
      await checkCustomer(principal, input);
      return config.create(ctx, ASSETS, input);
    },
    async replace(ctx, principal, id, input, options = {}) {
      await visible(principal, id);
      await checkCustomer(principal, input);
      return config.replace(ctx, ASSETS, id, input, options);
    },
    async remove(ctx, principal, id, options = {}) {
      await visible(principal, id);
      return config.remove(ctx, ASSETS, id, options);
    },
  };
}
