import type { Catalog } from '../catalog/catalog.js';
import type { ChangeRecord, EntityRecord } from '../store/ports.js';
import { sameEntityState } from '../tracking/entity-state.js';
import { keyIdOfMark, type HistoryKeys } from '../tracking/history-keys.js';
import { digestCheck, toTransfer, type SyncProblem, type TransferChange } from './transfer.js';

/** A problem of one received change, before it is named (changeId, entity) in the outcome. */
export type Refusal = Omit<SyncProblem, 'changeId' | 'entity'>;

/** Why a received change does not pass its digest, or null when it does: the key decides, never the sender. */
export function digestRefusal(change: TransferChange, keys: HistoryKeys): Refusal | null {
  switch (digestCheck(change, keys)) {
    case 'ok':
      return null;
    case 'key-unknown':
      return {
        kind: 'secret-key-unknown',
        message: `Change ${change.id} is digested under key ${keyIdOfMark(change.digest) ?? '?'}, which this instance does not have: the instances of a pipeline share one secret key.`,
      };
    case 'unkeyed':
      return {
        kind: 'unkeyed-digest',
        message: `Change ${change.id} carries an unkeyed digest, made by a version before keyed digests: nothing vouches for its content. Export it again from an instance that holds it.`,
      };
    default:
      return { kind: 'tampered', message: `Change ${change.id} does not match its digest: it was altered after it was made, or made without the pipeline's key.` };
  }
}

/**
 * What a restore copies from production, held to the pipeline's key: every change's digest, and every entity's state
 * against its head change among them. A copy that fails is refused whole, before anything is replaced.
 */
export function copiedHistoryProblems(copy: { changes: ChangeRecord[]; entities: EntityRecord[] }, catalog: Catalog, keys: HistoryKeys): SyncProblem[] {
  const problems: SyncProblem[] = [];
  const byId = new Map<string, ChangeRecord>();
  for (const change of copy.changes) {
    const transfer = toTransfer(change);
    const forged = digestRefusal(transfer, keys);
    if (forged) problems.push({ ...forged, changeId: change.id, entity: { type: change.type, id: change.entityId, name: change.entityName } });
    byId.set(change.id, change);
  }
  for (const entity of copy.entities) {
    const def = catalog.find(entity.type);
    if (!def || entity.head === null) continue;
    const head = byId.get(entity.head);
    if (head?.after && head.entityId === entity.id && sameEntityState(def, entity.body, head.after)) continue;
    problems.push({
      kind: 'tampered',
      message: `"${entity.name}" as the source holds it is not what its head change ${entity.head} recorded.`,
      changeId: entity.head,
      entity: { type: entity.type, id: entity.id, name: entity.name },
    });
  }
  return problems;
}
