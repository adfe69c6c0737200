import { customerOfBody, customerReferenceNotFound, everyCustomer, inScope, seesBody, type CustomerScope } from '../access/customer-scope.js';
import type { AuditLog } from '../access/audit-log.js';
import type { Catalog } from '../catalog/catalog.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import { isTrackedWrite } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { sha256Hex } from '../shared/canonical-json.js';
import { DomainError } from '../shared/errors.js';
import { isRecord } from '../shared/field-path.js';
import { newId } from '../shared/ids.js';
import type { Settings } from '../shared/settings.js';
import { parseOrThrow } from '../shared/validation.js';
import type { BodyMatch, ChangeRecord, EntityRecord, EntitySortKey, NumberedPage, Stores, Transactor } from '../store/ports.js';
import { canonicalOf, type ChangeWriter } from './change-writer.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { SecretBox } from './secret-box.js';
import { maskSecrets, openSecret, prepareSecretInput, refuseMisplacedSecrets, sealSecrets } from './secrets.js';
import { readSettings } from './settings-service.js';

/** An entity as the API shows it: secrets masked, a version for optimistic concurrency. */
export interface EntityView {
  id: string;
  type: string;
  name: string;
  head: string | null;
  version: string;
  createdAt: string;
  updatedAt: string;
  body: Record<string, unknown>;
}

export interface WriteOutcome {
  entity: EntityView | null;
  /** The recorded change's id; null when nothing was recorded (no-op save, local type, or tracking off). */
  changeId: string | null;
}

export interface EntityPage {
  items: EntityView[];
  nextCursor: string | null;
}

/** Whose records the caller sees (its client restrictions); absent: every customer's, as for the instance itself. */
export interface Scoped {
  scope?: CustomerScope;
}

export interface ConfigListQuery extends Scoped {
  cursor?: string;
  limit: number;
  q?: string;
  /** Only the records of this customer (types holding customers' records). */
  customerId?: string;
}

/** What a numbered page of a type takes: a text search, one customer's records, and conditions on body fields. */
export interface ConfigPageQuery extends Scoped {
  q?: string;
  customerId?: string;
  bodyMatches?: BodyMatch[];
}

/**
 * Configuration entities, read and written within the caller's client restrictions: a customer's record (an asset)
 * outside them is not found, and cannot be written for such a customer.
 */
export interface ConfigService {
  create(ctx: WriteContext, type: string, input: unknown, options?: Scoped): Promise<WriteOutcome>;
  replace(ctx: WriteContext, type: string, id: string, input: unknown, options?: { ifMatch?: string } & Scoped): Promise<WriteOutcome>;
  remove(ctx: WriteContext, type: string, id: string, options?: { ifMatch?: string } & Scoped): Promise<WriteOutcome>;
  get(type: string, id: string, options?: Scoped): Promise<EntityView>;
  list(type: string, query: ConfigListQuery): Promise<EntityPage>;
  /** A numbered page of the entities the caller sees that match, and how many match in all (counted in the store). */
  page(type: string, query: ConfigPageQuery, page: NumberedPage<EntitySortKey>): Promise<{ items: EntityView[]; total: number }>;
  /** Decrypts one secret for the parts that must use it; never exposed over HTTP. */
  readSecret(type: string, id: string, slot: string): Promise<string | null>;
}

export function versionOf(body: Record<string, unknown>): string {
  return sha256Hex(canonicalOf(body)).slice(0, 20);
}

export function toView(def: EntityTypeDefinition, record: EntityRecord): EntityView {
  return {
    id: record.id,
    type: record.type,
    name: record.name,
    head: record.head,
    version: versionOf(record.body),
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    body: maskSecrets(def, record.body),
  };
}

/** Rows read per step while filling a page for a caller who sees only some customers' records. */
const SCAN_STEP = 200;

export function createConfigService(deps: { db: Transactor; catalog: Catalog; box: SecretBox; writer: ChangeWriter; audit: AuditLog }): ConfigService {
  const { db, catalog, box, writer, audit } = deps;

  function validate(def: EntityTypeDefinition, input: unknown): Record<string, unknown> {
    if (!isRecord(input)) {
      throw new DomainError('VALIDATION_FAILED', 'The body must be a JSON object.', {
        errors: [{ path: '', code: 'invalid-type', message: 'Expected a JSON object.' }],
      });
    }
    return parseOrThrow(def.schema, prepareSecretInput(def, input), `${def.label} body`) as Record<string, unknown>;
  }

  function refuseIfLocked(def: EntityTypeDefinition, settings: Settings, before: Record<string, unknown> | null, after: Record<string, unknown> | null): void {
    if (!settings.disableConfigEditing) return;
    if (!isTrackedWrite(def, before, after, { settings: { ...settings, configTracking: true } })) return;
    throw new DomainError('CONFIG_LOCKED', 'Editing of config-tracked entities is disabled on this instance.', { type: def.key });
  }

  /** The entity, when the caller sees it: another customer's record is not found, so its existence does not leak. */
  async function load(stores: Stores, def: EntityTypeDefinition, id: string, scope: CustomerScope = everyCustomer): Promise<EntityRecord> {
    const record = await stores.entities.find(id);
    if (!record || record.type !== def.key || !seesBody(scope, def, record.body)) {
      throw new DomainError('ENTITY_NOT_FOUND', `There is no ${def.label} with id ${id}.`, { type: def.key, id });
    }
    return record;
  }

  /** A customer's record is written for a customer that exists here and that the caller sees; a restricted caller must name one. */
  async function checkCustomer(stores: Stores, def: EntityTypeDefinition, body: Record<string, unknown>, scope: CustomerScope): Promise<void> {
    if (!def.customerRecord) return;
    const field = def.customerRecord.customer;
    const customerId = customerOfBody(def, body);
    if (customerId === null ? scope.kind === 'all' : inScope(scope, customerId) && (await stores.desk.findCustomer(customerId))) return;
    // A customer outside the caller's scope is one it cannot know: missing, as one that does not exist.
    if (customerId !== null) throw customerReferenceNotFound(field, customerId);
    throw new DomainError('VALIDATION_FAILED', `The ${def.label} body is not valid.`, {
      errors: [{ path: field, code: 'required', message: 'An agent restricted to some customers must name one of them.' }],
    });
  }

  function checkVersion(record: EntityRecord, ifMatch: string | undefined): void {
    if (ifMatch === undefined) return;
    const current = versionOf(record.body);
    if (ifMatch.replace(/^W\//, '').replace(/"/g, '') !== current) {
      throw new DomainError('PRECONDITION_FAILED', 'The entity was changed since you read it.', { currentVersion: current });
    }
  }

  // A write refused for want of authority (who may grant a role) is audited as a denial.
  const write = <T>(ctx: WriteContext, subject: string, run: (stores: Stores) => Promise<T>): Promise<T> => audit.denialsOf(ctx, subject, () => db.write(run));

  const outcome = (def: EntityTypeDefinition, entity: EntityRecord | null, change: ChangeRecord | null): WriteOutcome => ({
    entity: entity ? toView(def, entity) : null,
    changeId: change?.id ?? null,
  });

  return {
    async create(ctx, type, input, options = {}) {
      const def = catalog.get(type);
      const body = validate(def, input);
      const id = newId();
      return write(ctx, `${def.key} ${id}`, async (stores) => {
        await checkCustomer(stores, def, body, options.scope ?? everyCustomer);
        const settings = await readSettings(stores);
        const next = sealSecrets(def, box, id, body, null);
        refuseMisplacedSecrets(def, next, `${def.label} body`);
        refuseIfLocked(def, settings, null, next);
        const result = await writer.write(stores, { def, entityId: id, current: undefined, next, ctx, settings });
        return outcome(def, result.entity, result.change);
      });
    },
    async replace(ctx, type, id, input, options = {}) {
      const def = catalog.get(type);
      const body = validate(def, input);
      return write(ctx, `${def.key} ${id}`, async (stores) => {
        const current = await load(stores, def, id, options.scope);
        checkVersion(current, options.ifMatch);
        await checkCustomer(stores, def, body, options.scope ?? everyCustomer);
        const settings = await readSettings(stores);
        const next = sealSecrets(def, box, id, body, current.body);
        refuseMisplacedSecrets(def, next, `${def.label} body`);
        refuseIfLocked(def, settings, current.body, next);
        const result = await writer.write(stores, { def, entityId: id, current, next, ctx, settings });
        return outcome(def, result.entity, result.change);
      });
    },
    async remove(ctx, type, id, options = {}) {
      const def = catalog.get(type);
      return write(ctx, `${def.key} ${id}`, async (stores) => {
        const current = await load(stores, def, id, options.scope);
        checkVersion(current, options.ifMatch);
        const settings = await readSettings(stores);
        refuseIfLocked(def, settings, current.body, null);
        const result = await writer.write(stores, { def, entityId: id, current, next: null, ctx, settings });
        return outcome(def, null, result.change);
      });
    },
    async get(type, id, options = {}) {
      const def = catalog.get(type);
      return toView(def, await db.read((stores) => load(stores, def, id, options.scope)));
    },
    async list(type, query) {
      const def = catalog.get(type);
      const scope = query.scope ?? everyCustomer;
      const wanted = (record: EntityRecord) => seesBody(scope, def, record.body) && (query.customerId === undefined || customerOfBody(def, record.body) === query.customerId);
      const filtered = query.customerId !== undefined || (scope.kind === 'only' && def.customerRecord !== undefined);
      const rows = await db.read(async (stores) => {
        const found: EntityRecord[] = [];
        let afterId = query.cursor ? decodeCursor(query.cursor) : undefined;
        const step = filtered ? SCAN_STEP : query.limit + 1;
        // Pages are read until the page is full: the records a caller sees may be sparse among the type's.
        for (;;) {
          const batch = await stores.entities.list({ type: def.key, limit: step, ...(afterId ? { afterId } : {}), ...(query.q ? { nameContains: query.q } : {}) });
          for (const record of batch) {
            if (wanted(record)) found.push(record);
            if (found.length > query.limit) return found;
          }
          if (batch.length < step) return found;
          afterId = batch[batch.length - 1]!.id;
        }
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return { items: page.map((r) => toView(def, r)), nextCursor: rows.length > query.limit && last ? encodeCursor(last.id) : null };
    },
    async page(type, query, page) {
      const def = catalog.get(type);
      const scope = query.scope ?? everyCustomer;
      const matches = [...(query.bodyMatches ?? [])];
      // A customer's records are matched by the customer field of their bodies, as seesBody does.
      if (def.customerRecord && scope.kind === 'only') matches.push({ field: def.customerRecord.customer, anyOf: [...scope.customerIds] });
      if (def.customerRecord && query.customerId !== undefined) matches.push({ field: def.customerRecord.customer, anyOf: [query.customerId] });
      const { rows, total } = await db.read((stores) =>
        stores.entities.page({ type: def.key, ...(query.q ? { nameContains: query.q } : {}), ...(matches.length > 0 ? { bodyMatches: matches } : {}) }, page),
      );
      return { items: rows.map((r) => toView(def, r)), total };
    },
    async readSecret(type, id, slot) {
      const def = catalog.get(type);
      const record = await db.read((stores) => load(stores, def, id));
      return openSecret(def, box, id, record.body, slot);
    },
  };
}
