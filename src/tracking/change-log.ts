import { everyCustomer, hiddenChanges, seesChange, type CustomerScope } from '../access/customer-scope.js';
import type { Catalog } from '../catalog/catalog.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import { DomainError } from '../shared/errors.js';
import { isoTime } from '../shared/iso-time.js';
import type { ChangeFilter, ChangeOp, ChangeReceipt, ChangeRecord, ChangeSummary, NumberedPage, Transactor } from '../store/ports.js';
import { diffBodies, type FieldDiff } from './body-diff.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { HistoryKeys } from './history-keys.js';
import { verifyHistory, type VerifyResult } from './history-verify.js';
import { changedSecrets, maskSecrets } from './secrets.js';

export type { VerifyResult } from './history-verify.js';

/** A row of the change list. */
export interface ChangeListItem extends Omit<ChangeSummary, 'at'> {
  at: string;
}

export interface ChangeListQuery extends Omit<ChangeFilter, 'beforeSeq' | 'from' | 'to'> {
  from?: string;
  to?: string;
  cursor?: string;
  /** Whose records the caller sees: a change to another customer's record is not listed. */
  scope?: CustomerScope;
}

export interface RollbackStep {
  op: ChangeOp;
  type: string;
  entityId: string;
  /** The body the entity returns to (secrets masked); null when the step deletes it. */
  body: Record<string, unknown> | null;
  fields: FieldDiff[];
}

export interface ChangeDetail extends ChangeListItem {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  diff: FieldDiff[];
  secretsChanged: string[];
  requires: string[];
  request: ChangeRecord['request'];
  /** Who brought the change here from another instance or a file, how and when (its `actor` and `at` are the origin's). */
  received: (Omit<ChangeReceipt, 'at'> & { at: string }) | null;
  digest: string;
  hash: string;
  rollbackScript: RollbackStep[];
  dependents: { items: ChangeListItem[]; more: boolean };
}

export interface ChangeLog {
  list(query: ChangeListQuery): Promise<{ items: ChangeListItem[]; nextCursor: string | null }>;
  /** A numbered page of the changes the caller sees (by name), in seq order, and how many it sees in all (counted). */
  page(query: { nameContains?: string; scope?: CustomerScope }, page: NumberedPage<'seq'>): Promise<{ items: ChangeListItem[]; total: number }>;
  /** One change; a change to a record of a customer outside `scope` is not found. */
  detail(id: string, scope?: CustomerScope): Promise<ChangeDetail>;
  verify(): Promise<VerifyResult>;
}

const inverseOp: Record<ChangeOp, ChangeOp> = { create: 'delete', delete: 'create', update: 'update' };

export function toListItem(summary: ChangeSummary): ChangeListItem {
  return { ...summary, at: isoTime(summary.at) };
}

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new DomainError('VALIDATION_FAILED', 'The time range is not valid.', {
      errors: [{ path: field, code: 'invalid-date', message: 'Expected an ISO 8601 date-time.' }],
    });
  }
  return ms;
}

const DEPENDENTS_SHOWN = 100;
/** Rows read per step while filling a page for a caller who sees only some customers' records. */
const SCAN_STEP = 200;

export function createChangeLog(deps: { db: Transactor; catalog: Catalog; keys: HistoryKeys }): ChangeLog {
  const { db, catalog, keys } = deps;
  const mask = (def: EntityTypeDefinition | undefined, body: Record<string, unknown> | null) => (def ? maskSecrets(def, body) : body);

  return {
    async list(query) {
      const { cursor, from, to, scope = everyCustomer, ...rest } = query;
      const filter: ChangeFilter = { ...rest, limit: scope.kind === 'all' ? query.limit + 1 : SCAN_STEP };
      const fromMs = parseTime(from, 'from');
      const toMs = parseTime(to, 'to');
      if (fromMs !== undefined) filter.from = fromMs;
      if (toMs !== undefined) filter.to = toMs;
      if (cursor) filter.beforeSeq = decodeCursor(cursor, 'number');
      const rows = await db.read(async (stores) => {
        const found: ChangeSummary[] = [];
        // Pages are read until the page is full: changes to other customers' records are skipped.
        for (;;) {
          const batch = await stores.changes.list(filter);
          const hidden = await hiddenChanges(stores, catalog, scope, batch);
          for (const row of batch) {
            if (!hidden.has(row.id)) found.push(row);
            if (found.length > query.limit) return found;
          }
          if (batch.length < filter.limit) return found;
          filter.beforeSeq = batch[batch.length - 1]!.seq;
        }
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return { items: page.map(toListItem), nextCursor: rows.length > query.limit && last ? encodeCursor(last.seq) : null };
    },

    async page({ nameContains, scope = everyCustomer }, page) {
      const customerField = Object.fromEntries(catalog.list().flatMap((def) => (def.customerRecord ? [[def.key, def.customerRecord.customer]] : [])));
      const filter = {
        ...(nameContains ? { nameContains } : {}),
        ...(scope.kind === 'only' ? { customerRecords: { customerIds: [...scope.customerIds], customerField } } : {}),
      };
      const { rows, total } = await db.read((stores) => stores.changes.page(filter, page));
      return { items: rows.map(toListItem), total };
    },

    async detail(id, scope = everyCustomer) {
      return db.read(async (stores) => {
        const change = await stores.changes.findById(id);
        if (!change || !seesChange(scope, catalog, change)) throw new DomainError('CHANGE_NOT_FOUND', `There is no change with id ${id}.`, { id });
        const def = catalog.find(change.type);
        const before = mask(def, change.before);
        const after = mask(def, change.after);
        const found: ChangeSummary[] = [];
        const next = await stores.changes.nextOfEntity(change.entityId, change.seq);
        if (next && next.parent === change.id) found.push(next);
        found.push(...(await stores.changes.requiring(change.id, change.seq, DEPENDENTS_SHOWN)));
        const hidden = await hiddenChanges(stores, catalog, scope, found);
        const dependents = found.filter((d) => !hidden.has(d.id)).sort((a, b) => a.seq - b.seq);
        const { before: _b, after: _a, requires, request, digest, hash, received, ...summary } = change;
        return {
          ...toListItem(summary),
          before,
          after,
          diff: diffBodies(before, after),
          secretsChanged: def ? changedSecrets(def, change.before, change.after) : [],
          requires,
          request,
          received: received === null ? null : { ...received, at: isoTime(received.at) },
          digest,
          hash,
          rollbackScript: [{ op: inverseOp[change.op], type: change.type, entityId: change.entityId, body: before, fields: diffBodies(after, before) }],
          dependents: { items: dependents.slice(0, DEPENDENTS_SHOWN).map(toListItem), more: dependents.length > DEPENDENTS_SHOWN },
        };
      });
    },

    verify: () => db.read((stores) => verifyHistory(stores, { catalog, keys })),
  };
}
