import type { Actor } from '../shared/actor.js';
import { canonicalTextOf } from '../shared/body-text.js';
import { contentDigestOf } from '../tracking/change-chain.js';
import type { ChangeOp, ChangeRecord } from '../store/ports.js';

/** A change as it travels between instances and in export files: the portable fields and their digest. */
export type TransferChange = Omit<ChangeRecord, 'seq' | 'appliedFrom' | 'hash'>;

export function toTransfer(change: TransferChange): TransferChange {
  // Member by member: copying by spread or rest was several times slower on batches of thousands.
  return {
    id: change.id,
    origin: change.origin,
    originSeq: change.originSeq,
    type: change.type,
    entityId: change.entityId,
    entityName: change.entityName,
    op: change.op,
    before: change.before,
    after: change.after,
    parent: change.parent,
    requires: change.requires,
    actor: change.actor,
    at: change.at,
    request: change.request,
    changeSet: change.changeSet,
    revertOf: change.revertOf,
    digest: change.digest,
  };
}

/** The change as this log stores it, at `seq`, arrived from `appliedFrom`, chained with `hash`. */
export function fromTransfer(change: TransferChange, seq: number, appliedFrom: string | null, hash: string): ChangeRecord {
  const record = toTransfer(change) as ChangeRecord;
  record.seq = seq;
  record.appliedFrom = appliedFrom;
  record.hash = hash;
  return record;
}

/**
 * `digestOf` the change's content (all but its digest), computed from the change as it travels, without copying it.
 * The snapshots' canonical texts are remembered with them (`canonicalTextOf`): the receiver stores those bodies next,
 * and their JSON texts are then made natively instead of by a second walk that builds the canonical text again.
 */
export function transferDigestOf(change: TransferChange): string {
  return contentDigestOf(change, canonicalTextOf);
}

/** Who sends a batch, as the receiver checks it. */
export interface SenderInfo {
  instanceId: string;
  name: string;
  kind: string;
  version: string;
  /** Whether the sender has a source or is one: then the receiver accepts it only along a pipeline edge. */
  inPipeline: boolean;
}

export type SyncProblemKind =
  | 'conflict'
  | 'missing-dependency'
  | 'version-mismatch'
  | 'not-a-pipeline-edge'
  | 'pushes-refused'
  | 'locked'
  | 'forbidden'
  | 'tampered'
  | 'unknown-type'
  | 'reference-missing'
  | 'still-referenced'
  | 'secret-key-unknown'
  | 'unknown-change';

/** One reason a batch cannot be applied. */
export interface SyncProblem {
  kind: SyncProblemKind;
  message: string;
  changeId?: string;
  entity?: { type: string; id: string; name: string };
  /** Missing changes (missing-dependency). */
  missing?: string[];
  /** Conflict: the receiver's current version and the incoming one (secrets masked). */
  receiver?: { head: string | null; body: Record<string, unknown> | null };
  incoming?: { parent: string | null; before: Record<string, unknown> | null; after: Record<string, unknown> | null };
}

/** A change in a plan. */
export interface PlannedChange {
  id: string;
  origin: string;
  originSeq: number;
  type: string;
  entityId: string;
  entityName: string;
  op: ChangeOp;
  at: number;
  actor: Actor;
  changeSet: string | null;
  /** apply: will be (was) written; present: the receiver has it; refused: a problem names it. */
  action: 'apply' | 'present' | 'refused';
}

/** A change the plan added to a selection, and why. */
export interface AddedChange {
  id: string;
  reason: 'parent' | 'requires';
  of: string;
  changeSet: string | null;
}

export interface PlannedEntity {
  type: string;
  id: string;
  name: string;
  changes: string[];
}

/** What a batch does (or did) on the receiver: the changes in order, per entity, with problems and counts. */
export interface BatchOutcome {
  changes: PlannedChange[];
  entities: PlannedEntity[];
  problems: SyncProblem[];
  /** Changes applied although a parent or requirement was skipped with `allowMissing`. */
  skippedDependencies: string[];
  counts: { received: number; toApply: number; alreadyPresent: number; refused: number; entities: number; problems: number };
  applied: boolean;
}

const problemCodes = {
  conflict: 'SYNC_CONFLICT',
  'missing-dependency': 'MISSING_DEPENDENCY',
  'version-mismatch': 'VERSION_MISMATCH',
  'not-a-pipeline-edge': 'NOT_A_PIPELINE_EDGE',
  'pushes-refused': 'PUSHES_REFUSED',
  locked: 'CONFIG_LOCKED',
  forbidden: 'FORBIDDEN',
} as const;

/** The problem code of a refusal: the kind's own code when every problem is of one kind. */
export function refusalCode(problems: SyncProblem[]): (typeof problemCodes)[keyof typeof problemCodes] | 'SYNC_REFUSED' {
  const kinds = new Set(problems.map((p) => p.kind));
  if (kinds.size !== 1) return 'SYNC_REFUSED';
  const [kind] = kinds;
  return problemCodes[kind as keyof typeof problemCodes] ?? 'SYNC_REFUSED';
}
