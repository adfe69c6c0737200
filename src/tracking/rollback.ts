import { everyCustomer, seesChange, type CustomerScope } from '../access/customer-scope.js';
import type { Catalog } from '../catalog/catalog.js';
import type { AuditLog } from '../access/audit-log.js';
import { withInstanceLocal } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import { withStores, type ChangeOp, type ChangeRecord, type EntityRecord, type EntityStore, type Stores, type Transactor } from '../store/ports.js';
import type { ChangeWriter } from './change-writer.js';
import { localRecordIds } from './record-references.js';
import { maskSecrets } from './secrets.js';
import { readSettings } from './settings-service.js';

export interface RevertedChange {
  changeId: string;
  seq: number;
  type: string;
  entityId: string;
  entityName: string;
  op: ChangeOp;
  /** The operation that reverts it. */
  revertOp: ChangeOp;
  /** The change written to revert it; null in a dry run, or when the entity already was in that state. */
  revertedBy: string | null;
}

export interface EntityOutcome {
  type: string;
  id: string;
  name: string;
  /** The entity's state after the rollback (secrets masked); null when it no longer exists. */
  state: Record<string, unknown> | null;
}

export interface RollbackResult {
  target: string;
  dryRun: boolean;
  reverted: RevertedChange[];
  entities: EntityOutcome[];
  counts: { changes: number; entities: number; written: number };
}

export interface RollbackService {
  /**
   * Reverts `changeId` and every later change, newest first, in one transaction; a dry run writes nothing. A caller
   * confined to some customers cannot see, so cannot revert, changes to other customers' records (`scope`).
   */
  rollbackBefore(ctx: WriteContext, changeId: string, options: { dryRun: boolean; scope?: CustomerScope }): Promise<RollbackResult>;
}

const inverseOp: Record<ChangeOp, ChangeOp> = { create: 'delete', delete: 'create', update: 'update' };

/** The audit kind of a rollback that ran (previews are not recorded). */
const ROLLBACK = 'changes.rollback';

class DryRunComplete extends Error {
  constructor(readonly result: RollbackResult) {
    super('dry run');
  }
}

const BATCH = 500;

/**
 * The stores a rollback writes through: each entity row is written once, at `flush`, with its final state (reads
 * see the pending state), and the log head is stored once. Changes and references are written as they come.
 */
function deferredStores(stores: Stores): { stores: Stores; flush(): Promise<void> } {
  const inner = stores.entities;
  // Final state per entity (null: removed), and whether its row existed before the rollback touched it.
  const pending = new Map<string, { record: EntityRecord | null; stored: boolean }>();
  let appended = false;
  const track = (id: string, record: EntityRecord | null, stored: boolean): void => {
    pending.set(id, { record, stored: pending.get(id)?.stored ?? stored });
  };
  const flushEntities = async (): Promise<void> => {
    for (const [id, { record, stored }] of pending) {
      if (record === null) {
        if (stored) await inner.remove(id);
      } else if (stored) await inner.update(record);
      else await inner.insert(record);
    }
    pending.clear();
  };
  const entities: EntityStore = {
    ...inner,
    async find(id) {
      const entry = pending.get(id);
      return entry ? (entry.record ?? undefined) : inner.find(id);
    },
    async findMany(ids) {
      const unique = [...new Set(ids)];
      const found = await inner.findMany(unique.filter((id) => !pending.has(id)));
      for (const id of unique) {
        const record = pending.get(id)?.record;
        if (record) found.push(record);
      }
      return found;
    },
    async list(query) {
      await flushEntities();
      return inner.list(query);
    },
    async listAll(type) {
      await flushEntities();
      return inner.listAll(type);
    },
    async insert(record) {
      track(record.id, record, false);
    },
    async update(record) {
      track(record.id, record, true);
    },
    async remove(id) {
      // Outgoing references go at once, so `referrers` stays exact for the steps still to come.
      await inner.replaceReferences(id, '', []);
      track(id, null, true);
    },
  };
  const changes = {
    ...stores.changes,
    async append(change: ChangeRecord) {
      appended = true;
      await stores.changes.appendDeferred(change);
    },
  };
  return {
    stores: withStores(stores, { entities, changes }),
    async flush() {
      await flushEntities();
      if (appended) await stores.changes.saveHead();
    },
  };
}

export function createRollbackService(deps: { db: Transactor; catalog: Catalog; writer: ChangeWriter; instanceId: string; audit: AuditLog }): RollbackService {
  const { db, catalog, writer } = deps;

  async function run(stores: Stores, ctx: WriteContext, changeId: string, dryRun: boolean, scope: CustomerScope): Promise<RollbackResult> {
    const target = await stores.changes.findById(changeId);
    if (!target || !seesChange(scope, catalog, target)) throw new DomainError('CHANGE_NOT_FOUND', `There is no change with id ${changeId}.`, { id: changeId });
    const settings = await readSettings(stores);
    if (!settings.configTracking) {
      throw new DomainError('TRACKING_DISABLED', 'Config change tracking is off; turn it on to roll back, so the rollback itself is recorded.');
    }
    // A rollback edits config-tracked entities, so the production lock covers it (the dry run reports what the real run would).
    if (settings.disableConfigEditing) {
      throw new DomainError('CONFIG_LOCKED', 'Editing of config-tracked entities is disabled on this instance; lift the lock to roll back.');
    }
    const top = (await stores.changes.head()).seq;
    const states = new Map<string, EntityRecord | null>();
    const reverted: RevertedChange[] = [];
    const deferred = deferredStores(stores);
    let below = top + 1;
    for (;;) {
      const batch = await stores.changes.descending(target.seq, below, BATCH);
      if (!batch.every((change) => seesChange(scope, catalog, change))) {
        throw new DomainError('FORBIDDEN', 'Later changes touch records of customers outside the caller’s client restrictions: an unrestricted agent can roll back here.', {
          reason: 'client-restrictions',
        });
      }
      for (const change of batch) reverted.push(await revert(deferred.stores, ctx, change, states, settings));
      if (batch.length < BATCH) break;
      below = batch.at(-1)!.seq;
    }
    await deferred.flush();
    const lastSeen = new Map(reverted.map((r) => [r.entityId, r]));
    const entities = [...states.entries()].map(([id, record]) => outcomeOf(record, lastSeen.get(id)!));
    entities.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return {
      target: changeId,
      dryRun,
      reverted: dryRun ? reverted.map((r) => ({ ...r, revertedBy: null })) : reverted,
      entities,
      counts: { changes: reverted.length, entities: entities.length, written: reverted.filter((r) => r.revertedBy !== null).length },
    };
  }

  function outcomeOf(record: EntityRecord | null, last: RevertedChange): EntityOutcome {
    const def = catalog.find(last.type);
    return {
      type: last.type,
      id: last.entityId,
      name: record?.name ?? last.entityName,
      state: record && def ? maskSecrets(def, record.body) : (record?.body ?? null),
    };
  }

  async function revert(
    stores: Stores,
    ctx: WriteContext,
    change: ChangeRecord,
    states: Map<string, EntityRecord | null>,
    settings: Awaited<ReturnType<typeof readSettings>>,
  ): Promise<RevertedChange> {
    const def = catalog.find(change.type);
    if (!def) {
      throw new DomainError('ROLLBACK_BLOCKED', `Change ${change.id} is of type "${change.type}", which this version does not know.`, {
        changeId: change.id,
      });
    }
    const current = states.has(change.entityId) ? (states.get(change.entityId) ?? undefined) : await stores.entities.find(change.entityId);
    // The records a change made elsewhere names are this instance's own once resolved: the state to go back to names them.
    const before = await localRecordIds(stores, def, change.before);
    try {
      const result = await writer.write(stores, {
        def,
        entityId: change.entityId,
        current,
        // A change made elsewhere never set this instance's own fields (a role's agents), so reverting keeps them.
        next: change.origin === deps.instanceId ? before : withInstanceLocal(def, change.entityId, before, current?.body ?? null),
        ctx,
        settings,
        revertOf: change.id,
        alwaysTrack: true,
      });
      states.set(change.entityId, result.entity);
      return {
        changeId: change.id,
        seq: change.seq,
        type: change.type,
        entityId: change.entityId,
        entityName: change.entityName,
        op: change.op,
        revertOp: inverseOp[change.op],
        revertedBy: result.change?.id ?? null,
      };
    } catch (error) {
      if (!isDomainError(error)) throw error;
      // A revert the caller has no authority for is refused as such, not as a blocked rollback.
      if (error.code === 'FORBIDDEN') {
        throw new DomainError('FORBIDDEN', `Reverting change ${change.id} (${change.op} of "${change.entityName}") is not allowed: ${error.message}`, {
          changeId: change.id,
          ...error.details,
        });
      }
      throw new DomainError('ROLLBACK_BLOCKED', `Reverting change ${change.id} (${change.op} of "${change.entityName}") is not possible: ${error.message}`, {
        changeId: change.id,
        cause: { code: error.code, ...error.details },
      });
    }
  }

  return {
    async rollbackBefore(ctx, changeId, { dryRun, scope = everyCustomer }) {
      const attempt = async () => {
        try {
          return await db.write(async (stores) => {
            const result = await run(stores, ctx, changeId, dryRun, scope);
            // A dry run performs the very same writes, then rolls them back: the preview cannot drift from the real run.
            if (dryRun) throw new DryRunComplete(result);
            return result;
          });
        } catch (error) {
          if (error instanceof DryRunComplete) return error.result;
          throw error;
        }
      };
      // A preview only asks; a real run refused for want of authority is a denial.
      if (dryRun) return attempt();
      const subject = `rollback before ${changeId}`;
      return deps.audit.denialsOf(ctx, subject, async () => {
        const event = { kind: ROLLBACK, actor: ctx.actor, request: ctx.request, subject };
        try {
          const result = await attempt();
          await deps.audit.record({ ...event, outcome: 'success', details: { changes: result.counts.changes, entities: result.counts.entities } });
          return result;
        } catch (error) {
          // A refusal for want of authority is recorded as a denial by denialsOf.
          if (!isDomainError(error) || error.code !== 'FORBIDDEN') await deps.audit.record({ ...event, outcome: 'failure', details: { code: isDomainError(error) ? error.code : 'INTERNAL' } });
          throw error;
        }
      });
    },
  };
}
