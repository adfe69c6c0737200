import type { Actor } from '../shared/actor.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { canonicalTextOf, jsonTextOf } from '../shared/body-text.js';
import { contentDigestOf, contentTextOf } from '../tracking/change-chain.js';
import type { HistoryKeys, MarkCheck } from '../tracking/history-keys.js';
import type { ChangeOp, ChangeReceipt, ChangeRecord } from '../store/ports.js';

/** A change as it travels between instances and in export files: the portable fields and their digest. */
export type TransferChange = Omit<ChangeRecord, 'seq' | 'appliedFrom' | 'received' | 'hash'>;

/** A change as it travels, but its `before` and `after`. */
export type TransferHead = Omit<TransferChange, 'before' | 'after'>;

/** The fields of a change as it travels, but its bodies (whatever else the change holds is left behind). */
export function headOf(change: TransferHead): TransferHead {
  // Member by member: copying by spread or rest was several times slower on batches of thousands.
  return {
    id: change.id,
    origin: change.origin,
    originSeq: change.originSeq,
    type: change.type,
    entityId: change.entityId,
    entityName: change.entityName,
    op: change.op,
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

export function toTransfer(change: TransferChange): TransferChange {
  const transfer = headOf(change) as TransferChange;
  transfer.before = change.before;
  transfer.after = change.after;
  return transfer;
}

/** The change as this log stores it, at `seq`, arrived from `appliedFrom` as `received` says; its hash is filled in by the caller. */
export function fromTransfer(change: TransferChange, seq: number, appliedFrom: string | null, received: ChangeReceipt | null): ChangeRecord {
  const record = toTransfer(change) as ChangeRecord;
  record.seq = seq;
  record.appliedFrom = appliedFrom;
  record.received = received;
  record.hash = '';
  return record;
}

/**
 * `digestOf` the change's content (all but its digest), computed from the change as it travels, without copying it.
 * The snapshots' canonical texts are remembered with them (`canonicalTextOf`): the receiver stores those bodies next,
 * and their JSON texts are then made natively instead of by a second walk that builds the canonical text again.
 */
export function transferDigestOf(change: TransferChange, keys: HistoryKeys): string {
  return contentDigestOf(change, canonicalTextOf, keys);
}

/**
 * A change as a batch carries it between instances: `before` is left out when it is the `after` of the change's parent
 * carried earlier in the same batch. Most changes of a batch follow one another on the same entities, so this leaves
 * out about a third of a batch's bytes; the receiver puts each `before` back (`unpackBatch`) before it checks digests.
 */
export type PackedChange = Omit<TransferChange, 'before'> & { before?: TransferChange['before'] };

type Body = NonNullable<TransferChange['after']>;

const sameBody = (a: Body | null, b: Body | null): boolean => a === b || (a !== null && b !== null && jsonTextOf(a) === jsonTextOf(b));

/**
 * The packing rule, decided change by change in batch order: whether a change's `before` is the `after` its parent,
 * earlier in the batch, came with — then the change may leave it out. `same` compares the two as the caller holds
 * them (bodies, or their stored JSON texts).
 */
export function createPackRule<B>(same: (before: B, parentAfter: B) => boolean): (change: { id: string; parent: string | null }, before: B, after: B) => boolean {
  const afterOf = new Map<string, B>();
  return (change, before, after) => {
    const given = change.parent !== null && afterOf.has(change.parent) && same(before, afterOf.get(change.parent) as B);
    afterOf.set(change.id, after);
    return given;
  };
}

/**
 * The batch as it goes on the wire: each `before` that its parent earlier in the batch gives is left out (set to
 * undefined, which JSON leaves out, so every change keeps toTransfer's shape).
 */
export function packBatch(changes: TransferChange[]): PackedChange[] {
  const given = createPackRule(sameBody);
  return changes.map((change) => {
    const packed: PackedChange = toTransfer(change);
    if (given(change, change.before, change.after)) packed.before = undefined;
    return packed;
  });
}

/** Where a packed batch cannot be unpacked: a change without `before` whose parent is not earlier in the batch. */
export class UnpackError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

type Unpacked<T extends PackedChange> = Omit<T, 'before'> & { before: TransferChange['before'] };

/**
 * Unpacks the changes of one batch as they come, in order: each left-out `before` is put back as the very `after` of
 * the change's parent (so its texts, once made for the parent's digest, serve the change's too). The digest check then
 * proves it is the `before` the change was made with. Throws UnpackError for a change that left out a `before` the
 * batch cannot give. A change that carries its `before` is returned as it is.
 */
export function createUnpacker(): <T extends PackedChange>(change: T, index: number) => Unpacked<T> {
  const afterOf = new Map<string, Body | null>();
  return <T extends PackedChange>(change: T, index: number) => {
    const parentAfter = change.parent === null ? undefined : afterOf.get(change.parent);
    afterOf.set(change.id, change.after);
    if (change.before !== undefined) return change as Unpacked<T>;
    if (parentAfter === undefined) {
      throw new UnpackError(
        index,
        change.parent === null
          ? `Change ${change.id} leaves out its before, which only a change whose parent comes earlier in the batch may do.`
          : `Change ${change.id} leaves out its before, but its parent ${change.parent} does not come earlier in the batch.`,
      );
    }
    change.before = parentAfter;
    return change as Unpacked<T>;
  };
}

/** The batch `packBatch` packed (see createUnpacker). */
export function unpackBatch<T extends PackedChange>(changes: T[]): Unpacked<T>[] {
  const unpack = createUnpacker();
  return changes.map((change, index) => unpack(change, index));
}

/**
 * Whether the change matches its digest under the key the digest names. Text that canonical JSON refuses (not
 * well-formed Unicode) is a mismatch. Received changes are checked once, as they arrive (ReceivedChecks remembers it).
 */
export function digestCheck(change: TransferChange, keys: HistoryKeys): MarkCheck {
  try {
    return keys.digest.check(change.digest, contentTextOf(change, canonicalTextOf));
  } catch {
    return 'mismatch';
  }
}

/** Whether the change matches its digest (see digestCheck). */
export const digestMatches = (change: TransferChange, keys: HistoryKeys): boolean => digestCheck(change, keys) === 'ok';

/** A planned change made from the change it plans. */
export function plannedOf(change: Omit<PlannedChange, 'action'>, action: PlannedChange['action']): PlannedChange {
  return {
    id: change.id,
    origin: change.origin,
    originSeq: change.originSeq,
    type: change.type,
    entityId: change.entityId,
    entityName: change.entityName,
    op: change.op,
    at: change.at,
    actor: change.actor,
    changeSet: change.changeSet,
    action,
  };
}

const ACTION_LETTERS = { apply: 'a', present: 'p', refused: 'r' } as const;
const LETTER_ACTIONS: Record<string, PlannedChange['action']> = { a: 'apply', p: 'present', r: 'refused' };

/** A receiver's answer as it goes back to the sender: when its changes are exactly the batch's, only their actions. */
export type PackedOutcome<T extends BatchOutcome> = Omit<T, 'changes'> & ({ changes: PlannedChange[] } | { actions: string });

/**
 * The answer to a batch with its planned changes reduced to one letter each (a, p, r) when they are the batch's own
 * changes in the batch's order, as a receiver answers a batch (a replayed answer may be another batch's: it stays whole).
 */
export function packOutcome<T extends BatchOutcome>(batch: readonly { id: string }[], outcome: T): PackedOutcome<T> {
  const { changes, ...rest } = outcome;
  if (changes.length !== batch.length || changes.some((c, i) => c.id !== batch[i]!.id)) return outcome;
  let actions = '';
  for (const change of changes) actions += ACTION_LETTERS[change.action];
  return { ...rest, actions };
}

/** The answer `packOutcome` packed, its planned changes made again from the batch that was sent. */
export function unpackOutcome<T extends BatchOutcome>(batch: readonly Omit<PlannedChange, 'action'>[], packed: PackedOutcome<T>): T {
  if (!('actions' in packed)) return packed as unknown as T;
  const { actions, ...rest } = packed;
  if (typeof actions !== 'string' || actions.length !== batch.length) throw new Error(`the answer names ${String(actions?.length)} actions for a batch of ${batch.length}`);
  const changes: PlannedChange[] = [];
  for (let i = 0; i < actions.length; i += 1) {
    const action = LETTER_ACTIONS[actions[i]!];
    if (!action) throw new Error(`the answer names an unknown action "${actions[i]}"`);
    changes.push(plannedOf(batch[i]!, action));
  }
  return { ...rest, changes } as unknown as T;
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
  | 'record-missing'
  | 'still-referenced'
  | 'secret-key-unknown'
  | 'unknown-change'
  | 'invalid'
  | 'unkeyed-digest'
  | 'own-origin'
  | 'content-mismatch';

/** A record a change names that the receiver cannot resolve to one of its own (record-missing). */
export interface UnresolvedRecord {
  /** Where the change names it: `criteria[0].customerIds[0]`. */
  path: string;
  kind: 'customer' | 'user' | 'agent' | 'agent-or-user';
  /** The id the change names it by (null when it names it by third-party id). */
  id: string | null;
  /** Its name on the sender, as the sender described it (null when it did not). */
  name: string | null;
  thirdPartyId: string | null;
}

/** One reason a batch cannot be applied. */
export interface SyncProblem {
  kind: SyncProblemKind;
  message: string;
  changeId?: string;
  entity?: { type: string; id: string; name: string };
  /** Missing changes (missing-dependency). */
  missing?: string[];
  /** Records the receiver cannot resolve (record-missing). */
  records?: UnresolvedRecord[];
  /** The fields at fault (invalid): each with its path in the change, a stable code and why. */
  errors?: FieldProblem[];
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
  'record-missing': 'RECORD_MISSING',
} as const;

/** The problem code of a refusal: the kind's own code when every problem is of one kind. */
export function refusalCode(problems: SyncProblem[]): (typeof problemCodes)[keyof typeof problemCodes] | 'SYNC_REFUSED' {
  const kinds = new Set(problems.map((p) => p.kind));
  if (kinds.size !== 1) return 'SYNC_REFUSED';
  const [kind] = kinds;
  return problemCodes[kind as keyof typeof problemCodes] ?? 'SYNC_REFUSED';
}

/** The error of a refused operation: nothing was written; every problem, and the plan, in its details. */
export function refuse(problems: SyncProblem[], plan: unknown): DomainError {
  const code = refusalCode(problems);
  const summary = problems.length === 1 ? problems[0]!.message : `${problems.length} problems: ${problems.map((p) => p.kind).filter((k, i, all) => all.indexOf(k) === i).join(', ')}.`;
  return new DomainError(code, `Nothing was written. ${summary}`, { problems, plan });
}
