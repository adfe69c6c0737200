import type { Catalog } from '../catalog/catalog.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import type { ChangeOp, ChangeRecord, EntityRecord, Stores, Transactor } from '../store/ports.js';
import type { ChangeWriter } from './change-writer.js';
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
  /** Reverts `changeId` and every later change, newest first, in one transaction; a dry run writes nothing. */
  rollbackBefore(ctx: WriteContext, changeId: string, options: { dryRun: boolean }): Promise<RollbackResult>;
}

const inverseOp: Record<ChangeOp, ChangeOp> = { create: 'delete', delete: 'create', update: 'update' };

class DryRunComplete extends Error {
  constructor(readonly result: RollbackResult) {
    super('dry run');
  }
}

const BATCH = 500;

export function createRollbackService(deps: { db: Transactor; catalog: Catalog; writer: ChangeWriter }): RollbackService {
  const { db, catalog, writer } = deps;

  async function run(stores: Stores, ctx: WriteContext, changeId: string, dryRun: boolean): Promise<RollbackResult> {
    const target = await stores.changes.findById(changeId);
    if (!target) throw new DomainError('CHANGE_NOT_FOUND', `There is no change with id ${changeId}.`, { id: changeId });
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
    let below = top + 1;
    for (;;) {
      const batch = await stores.changes.descending(target.seq, below, BATCH);
      for (const change of batch) reverted.push(await revert(stores, ctx, change, states, settings));
      if (batch.length < BATCH) break;
      below = batch.at(-1)!.seq;
    }
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
    try {
      const result = await writer.write(stores, {
        def,
        entityId: change.entityId,
        current,
        next: change.before,
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
      throw new DomainError('ROLLBACK_BLOCKED', `Reverting change ${change.id} (${change.op} of "${change.entityName}") is not possible: ${error.message}`, {
        changeId: change.id,
        cause: { code: error.code, ...error.details },
      });
    }
  }

  return {
    async rollbackBefore(ctx, changeId, { dryRun }) {
      try {
        return await db.write(async (stores) => {
          const result = await run(stores, ctx, changeId, dryRun);
          // A dry run performs the very same writes, then rolls them back: the preview cannot drift from the real run.
          if (dryRun) throw new DryRunComplete(result);
          return result;
        });
      } catch (error) {
        if (error instanceof DryRunComplete) return error.result;
        throw error;
      }
    },
  };
}
