import type { Catalog } from '../catalog/catalog.js';
import { SECRET_KEEP } from '../catalog/define.js';
import { isTrackableType, type EntityTypeDefinition } from '../catalog/entity-type.js';
import { CHANGE_SET_LABEL } from '../shared/actor.js';
import { canonicalTextOf } from '../shared/body-text.js';
import { illFormedPath } from '../shared/canonical-json.js';
import type { Clock } from '../shared/clock.js';
import type { FieldProblem } from '../shared/errors.js';
import { collectPath, setAt } from '../shared/field-path.js';
import { isId } from '../shared/ids.js';
import { toFieldProblems } from '../shared/validation.js';
import type { ChangeRecord, EntityRecord, Stores } from '../store/ports.js';
import { contentTextOf } from '../tracking/change-chain.js';
import { nameOf } from '../tracking/change-writer.js';
import { sameEntityState } from '../tracking/entity-state.js';
import { historyKeysOf, keyIdOfMark, type HistoryKeys } from '../tracking/history-keys.js';
import { isSealed, type SecretBox } from '../tracking/secret-box.js';
import { maskSecrets, misplacedSecrets, receivedSecretProblems } from '../tracking/secrets.js';
import { digestCheck, toTransfer, type SyncProblem, type TransferChange } from './transfer.js';

/** A problem of one received change, before it is named (changeId, entity) in the outcome. */
export type Refusal = Omit<SyncProblem, 'changeId' | 'entity'>;

/** How far a change may be dated ahead of this instance's clock, or before its origin instance was made. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Bounds of what a write here records of its actor and request (writeContext's), so a change made here always fits. */
const ACTOR_ID_MAX = 100;
const ACTOR_NAME_MAX = 300;
const REQUEST_MAX = { method: 16, path: 2000, requestId: 200, remoteAddress: 100, userAgent: 1000, clientApplication: 500 } as const;
const REQUEST_FIELDS = Object.keys(REQUEST_MAX) as (keyof typeof REQUEST_MAX)[];

/**
 * The checks a change brought from elsewhere passes before it is applied: as strict as a local write (ADR 12). Push,
 * pull and import all go through applyBatch, which asks these; a restore asks the digest.
 */
export interface ReceivedChecks {
  keys: HistoryKeys;
  /** Why the change does not pass its digest (see digestRefusal), or null: found once per change object, as problemsOf's answer is. */
  forgedOf(change: TransferChange): Refusal | null;
  /**
   * What is wrong with the change on its own (its digest, its fields, its bodies against the type's schema, its
   * secrets, its time), remembered per change object: a batch streamed in is checked as it arrives.
   */
  problemsOf(change: TransferChange): Refusal[];
}

/** What a received change's own checks found so far: its digest's refusal, and its problems once asked for. */
interface Checked {
  forged: Refusal | null;
  problems: Refusal[] | undefined;
}

export function createReceivedChecks(deps: { catalog: Catalog; box: SecretBox; instanceId: string; clock: Clock }): ReceivedChecks {
  const { catalog, box, clock } = deps;
  const keys = historyKeysOf(box);
  const found = new WeakMap<TransferChange, Checked>();
  // Bodies already held to a type's schema (the after of a change, which its child's unpacked before is): by type.
  const schemaChecked = new WeakMap<object, string>();

  /** The body's problems against the type's schema, placed under `at`, added to `errors`. */
  function bodyProblems(def: EntityTypeDefinition, body: Record<string, unknown>, at: 'before' | 'after', errors: FieldProblem[]): void {
    if (schemaChecked.get(body) === def.key) return;
    const problems = schemaProblems(def, body);
    if (problems.length === 0) schemaChecked.set(body, def.key);
    for (const p of problems) errors.push({ ...p, path: p.path ? `${at}.${p.path}` : at });
  }

  /** A snapshot's problems (its schema, its secrets) added to `errors`; the keys its secrets are sealed with that this instance lacks, to `unknownKeys`. */
  function snapshotProblems(def: EntityTypeDefinition, change: TransferChange, at: 'before' | 'after', errors: FieldProblem[], unknownKeys: Set<string>): void {
    const snapshot = change[at];
    if (snapshot === null) return;
    bodyProblems(def, snapshot, at, errors);
    if (def.sensitive.length === 0) return;
    const secrets = receivedSecretProblems(def, box, change.entityId, snapshot);
    for (const keyId of secrets.unknownKeys) unknownKeys.add(keyId);
    for (const p of secrets.errors) errors.push({ ...p, path: `${at}.${p.path}` });
  }

  // The checks below add to one list of errors: a change that passes them (nearly every one) allocates no list per check.
  function check(change: TransferChange, forged: Refusal | null): Refusal[] {
    if (forged) return [forged];
    const def = catalog.find(change.type);
    // An unknown type is the batch's own problem (unknown-type): there is no schema to hold the change to.
    if (!def || !isTrackableType(def)) return [];
    const errors: FieldProblem[] = [];
    fieldProblems(change, errors);
    timeProblems(change, clock.now(), errors);
    if (!opFits(change)) errors.push({ path: 'op', code: 'op-mismatch', message: opMessage(change.op) });
    const body = change.after ?? change.before;
    if (body !== null && change.entityName !== nameOf(def, change.entityId, body)) {
      errors.push({ path: 'entityName', code: 'name-mismatch', message: `The name a write here records for this body is "${nameOf(def, change.entityId, body)}".` });
    }
    const unknownKeys = new Set<string>();
    snapshotProblems(def, change, 'before', errors, unknownKeys);
    snapshotProblems(def, change, 'after', errors, unknownKeys);
    if (change.after !== null && unknownKeys.size === 0) for (const p of misplacedSecrets(def, change.after)) errors.push({ ...p, path: `after.${p.path}` });
    if (unknownKeys.size === 0 && errors.length === 0) return [];
    const refusals: Refusal[] = [];
    if (unknownKeys.size > 0) {
      refusals.push({
        kind: 'secret-key-unknown',
        message: `Change ${change.id} holds secrets sealed with key ${[...unknownKeys].join(', ')}, which this instance does not have.`,
      });
    }
    if (errors.length > 0) {
      refusals.push({
        kind: 'invalid',
        message: `Change ${change.id} is not what a write here could have recorded: ${errors
          .slice(0, 3)
          .map((e) => `${e.path} (${e.message})`)
          .join('; ')}${errors.length > 3 ? `; and ${errors.length - 3} more` : ''}.`,
        errors,
      });
    }
    return refusals;
  }

  function checked(change: TransferChange): Checked {
    let answer = found.get(change);
    if (!answer) {
      answer = { forged: digestRefusal(change, keys), problems: undefined };
      found.set(change, answer);
    }
    return answer;
  }

  return {
    keys,
    forgedOf: (change) => checked(change).forged,
    problemsOf(change) {
      const answer = checked(change);
      answer.problems ??= check(change, answer.forged);
      return answer.problems;
    },
  };
}

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
    default: {
      const text = illFormedPath(change);
      if (text) return { kind: 'invalid', message: `Change ${change.id} holds text that is not well-formed Unicode (${text}).`, errors: [{ path: text, code: 'invalid-unicode', message: 'Not well-formed Unicode.' }] };
      return { kind: 'tampered', message: `Change ${change.id} does not match its digest: it was altered after it was made, or made without the pipeline's key.` };
    }
  }
}

/**
 * Whether op, before, after and parent agree as a write here makes them. An update or delete of an entity written while
 * tracking was off has no parent (the Administrator role, made untracked on every instance, is one).
 */
function opFits(change: TransferChange): boolean {
  switch (change.op) {
    case 'create':
      return change.before === null && change.after !== null && change.parent === null;
    case 'delete':
      return change.before !== null && change.after === null;
    default:
      return change.before !== null && change.after !== null && canonicalTextOf(change.before) !== canonicalTextOf(change.after);
  }
}

const opMessage = (op: TransferChange['op']): string =>
  op === 'create' ? 'A create has an after, and neither a before nor a parent.' : op === 'delete' ? 'A delete has a before and no after.' : 'An update has a before and an after that differ.';

const tooLong = (value: string | null, max: number) => value !== null && value.length > max;

function idProblem(errors: FieldProblem[], path: string, value: string | null): void {
  if (value !== null && !isId(value)) errors.push({ path, code: 'invalid-id', message: 'Expected a global id (ULID).' });
}

/** Ids, actor, request and label as a write here records them, added to `errors`. */
function fieldProblems(change: TransferChange, errors: FieldProblem[]): void {
  idProblem(errors, 'id', change.id);
  idProblem(errors, 'origin', change.origin);
  idProblem(errors, 'entityId', change.entityId);
  idProblem(errors, 'parent', change.parent);
  idProblem(errors, 'revertOf', change.revertOf);
  const { requires } = change;
  for (let i = 0; i < requires.length; i += 1) if (!isId(requires[i]!)) idProblem(errors, `requires[${i}]`, requires[i]!);
  if (requires.length > 1 && new Set(requires).size !== requires.length) {
    errors.push({ path: 'requires', code: 'duplicate', message: 'Each required change is named once.' });
  }
  const { actor, request } = change;
  if (actor.id.length === 0 || tooLong(actor.id, ACTOR_ID_MAX)) errors.push({ path: 'actor.id', code: 'invalid-length', message: `1 to ${ACTOR_ID_MAX} characters.` });
  if (actor.name.length === 0 || tooLong(actor.name, ACTOR_NAME_MAX)) errors.push({ path: 'actor.name', code: 'invalid-length', message: `1 to ${ACTOR_NAME_MAX} characters.` });
  if (request) {
    for (const field of REQUEST_FIELDS) {
      if (tooLong(request[field], REQUEST_MAX[field])) errors.push({ path: `request.${field}`, code: 'too-long', message: `At most ${REQUEST_MAX[field]} characters.` });
    }
  }
  if (change.changeSet !== null && !CHANGE_SET_LABEL.test(change.changeSet)) {
    errors.push({ path: 'changeSet', code: 'invalid-format', message: '1–100 characters: letters, digits and . _ : / # -, starting with a letter or digit.' });
  }
}

/**
 * A change is not dated after now (by this instance's clock, give or take CLOCK_SKEW_MS), nor before Shiplog could have
 * made it. A lower bound from the origin instance's creation would turn one wrong clock at an instance's first start
 * into changes refused everywhere for good; who brought a change, and when, is recorded on arrival instead. Added to `errors`.
 */
function timeProblems(change: TransferChange, now: number, errors: FieldProblem[]): void {
  if (change.at > now + CLOCK_SKEW_MS) {
    errors.push({ path: 'at', code: 'in-the-future', message: `Dated ${timeText(change.at)}, later than this instance's clock allows.` });
  } else if (change.at < EARLIEST_CHANGE) {
    errors.push({ path: 'at', code: 'out-of-range', message: `Dated ${timeText(change.at)}, before any change could have been made.` });
  }
}

/** 2000-01-01: no change is older. */
const EARLIEST_CHANGE = Date.UTC(2000, 0, 1);

// Beyond ±8.64e15 ms a time has no date (toISOString would throw): it is named in milliseconds.
const timeText = (ms: number): string => (Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`);

/**
 * The body held to the type's schema as a write here would be: it must pass with everything it holds unchanged (no
 * unknown field, nothing left to trim or coerce). A field it lacks that the schema fills with a default is no fault: a
 * body recorded before that field existed, or stored by the instance itself (the Administrator role), lacks it, and
 * it is stored as it came — never filled in here. Sealed secrets stand as a kept secret does in a request.
 */
function schemaProblems(def: EntityTypeDefinition, body: Record<string, unknown>): FieldProblem[] {
  let input: unknown = body;
  for (const path of def.sensitive) for (const hit of collectPath(input, path)) if (isSealed(hit.value)) input = setAt(input, hit.location, SECRET_KEEP);
  const parsed = def.schema.safeParse(input);
  if (!parsed.success) return toFieldProblems(parsed.error);
  if (keptByParsing(input, parsed.data)) return [];
  const differs = changedBy(input, parsed.data, '') ?? '';
  return [{ path: differs, code: 'not-normalised', message: 'A write here stores this differently (trimmed, or otherwise made over): the body must be as stored.' }];
}

/** Whether parsing kept every value the body holds (see changedBy), found without naming any path on the way. */
function keptByParsing(given: unknown, parsed: unknown): boolean {
  if (given === parsed) return true;
  if (typeof given !== 'object' || typeof parsed !== 'object' || given === null || parsed === null || Array.isArray(given) !== Array.isArray(parsed)) return false;
  if (Array.isArray(given)) {
    const list = parsed as unknown[];
    if (given.length !== list.length) return false;
    for (let i = 0; i < given.length; i += 1) if (!keptByParsing(given[i], list[i])) return false;
    return true;
  }
  const out = parsed as Record<string, unknown>;
  const body = given as Record<string, unknown>;
  for (const key of Object.keys(body)) if (!Object.hasOwn(out, key) || !keptByParsing(body[key], out[key])) return false;
  return true;
}

/** Where parsing changed a value the body holds (a path), or null: members only the parsed value has are defaults it added. */
function changedBy(given: unknown, parsed: unknown, path: string): string | null {
  if (given === parsed) return null;
  if (typeof given !== 'object' || typeof parsed !== 'object' || given === null || parsed === null || Array.isArray(given) !== Array.isArray(parsed)) return path;
  if (Array.isArray(given)) {
    const list = parsed as unknown[];
    if (given.length !== list.length) return path;
    for (let i = 0; i < given.length; i += 1) {
      const found = changedBy(given[i], list[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  const out = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    const at = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(out, key)) return at;
    const found = changedBy(value, out[key], at);
    if (found !== null) return found;
  }
  return null;
}

/** A change that claims this instance as its origin but that this instance does not hold: it was never made here. */
export function ownOriginRefusal(change: TransferChange, instanceId: string): Refusal | null {
  if (change.origin !== instanceId) return null;
  return {
    kind: 'own-origin',
    message: `Change ${change.id} names this instance as its origin, but this instance never made it: a change made here is in its own log.`,
  };
}

/**
 * For a change whose id this instance holds (`heldDigest`), or that came earlier in the batch (`earlier`): null when it
 * is that very change (so it is present), else why not. One id is one change: the same id with other content is refused.
 */
export async function copyRefusal(
  stores: Stores,
  change: TransferChange,
  held: { earlier?: TransferChange | undefined; heldDigest?: string | undefined },
  checks: Pick<ReceivedChecks, 'forgedOf'>,
): Promise<Refusal | null> {
  const digest = held.earlier?.digest ?? held.heldDigest;
  const forged = checks.forgedOf(change);
  if (digest === change.digest && forged === null) return null;
  // The very content held here under another digest (a file of an earlier version, or a row kept unkeyed): nothing to write.
  const [stored] = held.earlier ? [held.earlier] : await stores.history.findByIds([change.id]);
  if (stored && sameContent(stored, change)) return null;
  return forged ?? { kind: 'content-mismatch', message: `Change ${change.id} is held here with other content: one id is one change.` };
}

function sameContent(a: object, b: object): boolean {
  try {
    return contentTextOf(a, canonicalTextOf) === contentTextOf(b, canonicalTextOf);
  } catch {
    return false;
  }
}

/** Origin sequences that another change holds here, or holds earlier in the batch: by the id of the change that claims one. */
export async function takenKeys(stores: Stores, batch: TransferChange[], present: ReadonlySet<string>): Promise<Map<string, string>> {
  const byOrigin = new Map<string, TransferChange[]>();
  for (const change of batch) {
    if (present.has(change.id)) continue;
    const list = byOrigin.get(change.origin) ?? [];
    list.push(change);
    byOrigin.set(change.origin, list);
  }
  const taken = new Map<string, string>();
  for (const [origin, changes] of byOrigin) {
    const holders = await stores.history.keyHolders(origin, changes.map((c) => c.originSeq));
    for (const change of changes) {
      const holder = holders.get(change.originSeq);
      if (holder === undefined) holders.set(change.originSeq, change.id);
      else if (holder !== change.id) taken.set(change.id, holder);
    }
  }
  return taken;
}

/** A change claiming an origin sequence another change holds (see takenKeys). */
export function takenKeyRefusal(change: TransferChange, taken: ReadonlyMap<string, string>): Refusal | null {
  const holder = taken.get(change.id);
  if (holder === undefined) return null;
  return {
    kind: 'invalid',
    message: `Change ${change.id} claims origin sequence ${change.originSeq} of ${change.origin}, which change ${holder} holds.`,
    errors: [{ path: 'originSeq', code: 'key-taken', message: `Held by change ${holder}.` }],
  };
}

/**
 * A change that builds on the entity as this instance holds it (its parent is the head here) must say so in full: its
 * `before` is the state here, but for instance-local fields, and of its type. Otherwise it is a conflict.
 */
export function stateRefusal(def: EntityTypeDefinition, change: TransferChange, current: EntityRecord | null, localBefore: Record<string, unknown> | null = change.before): Refusal | null {
  if (current === null || change.op === 'create' || current.head !== change.parent) return null;
  if (current.type === change.type && localBefore !== null && sameEntityState(def, current.id, current.body, localBefore)) return null;
  return {
    kind: 'conflict',
    message: `"${change.entityName}" here is not the state change ${change.id} says it builds on, although its head is ${current.head ?? 'untracked'}.`,
    receiver: { head: current.head, body: current.type === change.type ? maskSecrets(def, current.body) : null },
    incoming: { parent: change.parent, before: maskSecrets(def, change.before), after: maskSecrets(def, change.after) },
  };
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
    // The source's record ids are its own, mapped by links only it holds: they are left out of this comparison.
    if (head?.after && head.entityId === entity.id && sameEntityState(def, entity.id, entity.body, head.after, { ignoreRecordIds: true })) continue;
    problems.push({
      kind: 'tampered',
      message: `"${entity.name}" as the source holds it is not what its head change ${entity.head} recorded.`,
      changeId: entity.head,
      entity: { type: entity.type, id: entity.id, name: entity.name },
    });
  }
  return problems;
}
