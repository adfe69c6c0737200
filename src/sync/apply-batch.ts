import type { Catalog } from '../catalog/catalog.js';
import { isTrackableType, withInstanceLocal, type EntityTypeDefinition } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { isDomainError } from '../shared/errors.js';
import type { ChangeReceipt, ChangeRecord, EntityRecord, Stores } from '../store/ports.js';
import { chainHash } from '../tracking/change-chain.js';
import { nameOf, referencesIn, storedReferencesIn, type WriteGuard } from '../tracking/change-writer.js';
import { customerRecordProblems } from '../tracking/customer-records.js';
import { maskSecrets } from '../tracking/secrets.js';
import type { RecordDescription } from './record-descriptions.js';
import { resolveRecords } from './record-resolution.js';
import { copyRefusal, ownOriginRefusal, stateRefusal, takenKeyRefusal, takenKeys, type ReceivedChecks } from './received-change.js';
import {
  fromTransfer,
  plannedOf,
  type BatchOutcome,
  type PlannedChange,
  type PlannedEntity,
  type SyncProblem,
  type SyncProblemKind,
  type TransferChange,
} from './transfer.js';

const LOAD_CHUNK = 500;

interface EntityState {
  record: EntityRecord | null;
  /** Whether a row exists in the store (before this batch). */
  stored: boolean;
  touched: boolean;
  /** Outgoing references while the batch runs (touched entities only). */
  refs: { toId: string; path: string }[];
}

export interface ApplyOptions {
  /** The instance the batch came from, recorded on every applied change. */
  appliedFrom: string;
  /** Who brought the batch here, how and when, recorded on every applied change. */
  receipt: ChangeReceipt;
  /** Change ids the caller accepts as absent: a parent or requirement among them does not refuse a change. */
  allowMissing: ReadonlySet<string>;
  /** Who applies the batch here (for a push, the application the sender logs in as): the guards judge its authority. */
  ctx: WriteContext;
  /** The sender's descriptions of the records the changes name (see record-resolution.ts). */
  records?: readonly RecordDescription[];
}

/** The problem a guard's refusal of a received change is: a refusal for want of authority unless named here. */
const guardProblemKinds: Partial<Record<string, SyncProblemKind>> = { CONFIG_LOCKED: 'locked', REFERENCE_NOT_FOUND: 'reference-missing' };

async function loadEntities(stores: Stores, ids: string[]): Promise<Map<string, EntityRecord>> {
  const found = new Map<string, EntityRecord>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += LOAD_CHUNK) {
    for (const e of await stores.entities.findMany(unique.slice(i, i + LOAD_CHUNK))) found.set(e.id, e);
  }
  return found;
}

/**
 * Checks and applies a batch of foreign changes, in the given order, inside the caller's write transaction.
 * Every change is checked even after a problem, so the outcome lists every problem. The checks read only what the
 * store held before the batch; the batch is written at the end, in bulk, and only when no change has a problem.
 * Each change also passes the guards given (who may grant a role, who may change sign-in), as local writes do:
 * judged against the state the batch leaves its entity in, with the authority of whoever applies the batch here.
 */
export async function applyBatch(
  stores: Stores,
  deps: { catalog: Catalog; checks: ReceivedChecks; instanceId: string; guards?: readonly WriteGuard[] },
  batch: TransferChange[],
  options: ApplyOptions,
): Promise<BatchOutcome> {
  const { catalog, checks } = deps;
  const problems: SyncProblem[] = [];
  const planned: PlannedChange[] = [];
  const skippedDependencies = new Set<string>();
  const held = await stores.history.heldDigests([...batch.map((c) => c.id), ...batch.flatMap((c) => (c.parent ? [c.parent, ...c.requires] : c.requires))]);
  const present = new Set(held.keys());
  const taken = await takenKeys(stores, batch, present);
  const inBatch = new Map(batch.map((c, i) => [c.id, i]));

  const wanted: string[] = [];
  // Each change's references, found once: the entities to load, then the checks.
  const referencesOf = batch.map((change) => {
    wanted.push(change.entityId);
    const def = catalog.find(change.type);
    const refs = def && change.after ? referencesIn(def, change.after) : [];
    for (const r of refs) wanted.push(r.toId);
    return refs;
  });
  const loaded = await loadEntities(stores, wanted);
  // Records (customers, users, agents) the changes name, resolved to this instance's own.
  const named = await resolveRecords(stores, catalog, batch, options.records ?? []);
  const states = new Map<string, EntityState>();
  const stateOf = (id: string): EntityState => {
    let state = states.get(id);
    if (!state) {
      const record = loaded.get(id) ?? null;
      state = { record, stored: record !== null, touched: false, refs: [] };
      states.set(id, state);
    }
    return state;
  };

  const guardsByType = new Map<string, readonly WriteGuard[]>();
  const guardsOf = (def: EntityTypeDefinition): readonly WriteGuard[] => {
    let found = guardsByType.get(def.key);
    if (!found) guardsByType.set(def.key, (found = (deps.guards ?? []).filter((guard) => guard.appliesTo?.(def) ?? true)));
    return found;
  };

  const applied = new Set<string>();
  const seen = new Map<string, TransferChange>();
  const perEntity = new Map<string, PlannedEntity>();
  // Changes to append, chained from the log head as they are accepted; written only if the whole batch passes.
  const records: ChangeRecord[] = [];
  let head = await stores.changes.head();

  for (const [index, change] of batch.entries()) {
    const refuse = (problem: Omit<SyncProblem, 'changeId' | 'entity'>): void => {
      problems.push({ ...problem, changeId: change.id, entity: { type: change.type, id: change.entityId, name: change.entityName } });
    };
    if (present.has(change.id) || seen.has(change.id)) {
      const other = await copyRefusal(stores, change, { earlier: seen.get(change.id), heldDigest: held.get(change.id) }, checks);
      if (other) refuse(other);
      planned.push(plannedOf(change, other ? 'refused' : 'present'));
      continue;
    }
    seen.set(change.id, change);
    const before = problems.length;

    const def = catalog.find(change.type);
    if (!def || !isTrackableType(def)) {
      refuse({ kind: 'unknown-type', message: `Type "${change.type}" is not a tracked type on this instance.` });
      planned.push(plannedOf(change, 'refused'));
      continue;
    }
    // Received changes are held to what a write here could have recorded (ADR 12); a forged one is refused for that alone.
    const forged = checks.forgedOf(change);
    if (forged) {
      refuse(forged);
      planned.push(plannedOf(change, 'refused'));
      continue;
    }
    const ownOrigin = ownOriginRefusal(change, deps.instanceId);
    if (ownOrigin) refuse(ownOrigin);
    const takenKey = takenKeyRefusal(change, taken);
    if (takenKey) refuse(takenKey);
    for (const refusal of checks.problemsOf(change)) refuse(refusal);

    checkParent(change, def, stateOf(change.entityId), { present, applied, inBatch, index, allowMissing: options.allowMissing, skippedDependencies, refuse });
    const stale = stateRefusal(def, change, stateOf(change.entityId).record, named.localBefore(index));
    if (stale) refuse(stale);
    const missing = change.requires.filter((id) => !present.has(id) && !applied.has(id) && !options.allowMissing.has(id));
    for (const id of change.requires) if (options.allowMissing.has(id) && !present.has(id) && !applied.has(id)) skippedDependencies.add(id);
    if (missing.length > 0) {
      const later = missing.filter((id) => (inBatch.get(id) ?? -1) > index);
      refuse({
        kind: 'missing-dependency',
        message:
          later.length > 0
            ? `Change ${change.id} requires ${missing.join(', ')}; ${later.join(', ')} comes later in the batch.`
            : `Change ${change.id} requires ${missing.join(', ')}, which this instance does not have and the batch does not bring.`,
        missing,
      });
    }
    const refs = referencesOf[index]!;
    if (missing.length === 0) {
      const absent = refs.filter((r) => {
        const target = stateOf(r.toId).record;
        return !target || target.type !== r.target;
      });
      if (absent.length > 0) {
        refuse({
          kind: 'reference-missing',
          message: `Change ${change.id} references ${absent.map((r) => `${r.target} ${r.toId} (${r.path})`).join(', ')}, which this instance lacks.`,
          missing: absent.map((r) => r.toId),
        });
      }
    }
    const unresolved = named.problemOf(index);
    if (unresolved) refuse(unresolved);
    const state = stateOf(change.entityId);
    const body = withInstanceLocal(def, change.entityId, named.localAfter(index), state.record?.body ?? null);
    // A customer's record names that customer's people here too: received changes are held to the rule local writes are.
    const strangers = body && !unresolved && def.customerRecord ? await customerRecordProblems(stores, def, body) : [];
    if (strangers.length > 0) {
      refuse({ kind: 'invalid', message: `Change ${change.id} names people who are not its customer's here: ${strangers.map((p) => `${p.path} (${p.message})`).join('; ')}` });
    }
    if (change.op === 'delete') {
      const referrers = await referrersOf(stores, states, change.entityId);
      if (referrers.length > 0) {
        refuse({ kind: 'still-referenced', message: `Change ${change.id} deletes an entity that ${referrers.join(', ')} still reference here.` });
      }
    }

    if (problems.length === before) {
      for (const guard of guardsOf(def)) {
        try {
          await guard.check(stores, def, change.entityId, state.record?.body ?? null, body, options.ctx);
        } catch (error) {
          if (!isDomainError(error)) throw error;
          refuse({ kind: guardProblemKinds[error.code] ?? 'forbidden', message: `Change ${change.id}: ${error.message}` });
        }
      }
    }

    if (problems.length > before) {
      planned.push(plannedOf(change, 'refused'));
      continue;
    }
    planned.push(plannedOf(change, 'apply'));
    applied.add(change.id);
    state.touched = true;
    state.refs = body ? storedReferencesIn(def, body, refs) : [];
    state.record = body
      ? {
          id: change.entityId,
          type: change.type,
          name: nameOf(def, change.entityId, body),
          body,
          head: change.id,
          createdAt: state.record?.createdAt ?? change.at,
          updatedAt: change.at,
        }
      : null;
    const entity = perEntity.get(change.entityId) ?? { type: change.type, id: change.entityId, name: change.entityName, changes: [] };
    entity.name = change.entityName;
    entity.changes.push(change.id);
    perEntity.set(change.entityId, entity);

    if (problems.length === 0) {
      const seq = head.seq + 1;
      const record = fromTransfer(change, seq, options.appliedFrom, options.receipt);
      record.hash = chainHash(checks.keys, head.hash, record);
      records.push(record);
      head = { seq: record.seq, hash: record.hash, originOffset: head.originOffset };
    }
  }

  if (problems.length === 0) {
    await stores.changes.appendMany(records);
    const saved: EntityRecord[] = [];
    const references: { fromId: string; fromType: string; refs: { toId: string; path: string }[] }[] = [];
    for (const [id, state] of states) {
      if (!state.touched) continue;
      if (state.record === null) {
        if (state.stored) await stores.entities.remove(id);
        continue;
      }
      saved.push(state.record);
      references.push({ fromId: id, fromType: state.record.type, refs: state.refs });
    }
    await stores.entities.saveMany(saved);
    await stores.entities.replaceReferencesMany(references);
    await named.save(stores, applied);
    await stores.changes.saveHead();
  }

  const toApply = planned.filter((p) => p.action === 'apply').length;
  return {
    changes: planned,
    entities: [...perEntity.values()],
    problems,
    skippedDependencies: [...skippedDependencies],
    counts: {
      received: batch.length,
      toApply,
      alreadyPresent: planned.filter((p) => p.action === 'present').length,
      refused: planned.filter((p) => p.action === 'refused').length,
      entities: perEntity.size,
      problems: problems.length,
    },
    applied: false,
  };
}

function checkParent(
  change: TransferChange,
  def: EntityTypeDefinition,
  state: EntityState,
  ctx: {
    present: Set<string>;
    applied: Set<string>;
    inBatch: Map<string, number>;
    index: number;
    allowMissing: ReadonlySet<string>;
    skippedDependencies: Set<string>;
    refuse: (problem: Omit<SyncProblem, 'changeId' | 'entity'>) => void;
  },
): void {
  const current = state.record;
  const head = current ? current.head : null;
  const fits = change.op === 'create' ? current === null && change.parent === null : current !== null && head === change.parent;
  if (fits) return;
  const parent = change.parent;
  const parentKnown = parent === null || ctx.present.has(parent) || ctx.applied.has(parent);
  if (parent !== null && !parentKnown) {
    if (ctx.allowMissing.has(parent)) {
      ctx.skippedDependencies.add(parent);
      return;
    }
    const later = (ctx.inBatch.get(parent) ?? -1) > ctx.index;
    ctx.refuse({
      kind: 'missing-dependency',
      message: later
        ? `Change ${change.id} follows ${parent} on "${change.entityName}", which comes later in the batch.`
        : `Change ${change.id} follows ${parent} on "${change.entityName}", which this instance does not have and the batch does not bring.`,
      missing: [parent],
    });
    return;
  }
  ctx.refuse({
    kind: 'conflict',
    message: current
      ? `"${change.entityName}" was changed here (head ${head ?? 'untracked'}) since ${parent ?? 'its creation'}, which change ${change.id} builds on.`
      : `"${change.entityName}" no longer exists here; change ${change.id} expects it at ${parent ?? 'creation'}.`,
    receiver: { head, body: current ? maskSecrets(def, current.body) : null },
    incoming: { parent, before: maskSecrets(def, change.before), after: maskSecrets(def, change.after) },
  });
}

async function referrersOf(stores: Stores, states: Map<string, EntityState>, id: string): Promise<string[]> {
  const names = new Set<string>();
  for (const r of await stores.entities.referrers(id, 50)) {
    const state = states.get(r.fromId);
    if (state?.touched) continue;
    names.add(`${r.fromType} ${r.fromId}`);
  }
  for (const [fromId, state] of states) {
    if (state.touched && state.record && state.refs.some((ref) => ref.toId === id)) names.add(`${state.record.type} ${fromId}`);
  }
  return [...names];
}
