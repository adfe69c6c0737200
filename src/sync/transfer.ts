import type { Actor } from '../shared/actor.js';
import type { ChangeOp, ChangeRecord } from '../store/ports.js';

/** A change as it travels between instances and in export files: the portable fields and their digest. */
export type TransferChange = Omit<ChangeRecord, 'seq' | 'appliedFrom' | 'hash'>;

export function toTransfer(change: ChangeRecord): TransferChange {
  const { seq: _seq, appliedFrom: _from, hash: _hash, ...portable } = change;
  return portable;
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
