import type { Catalog } from '../catalog/catalog.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import { isTrackedWrite } from '../catalog/entity-type.js';
import { recordReferenceKey, recordReferencesIn } from '../catalog/record-references.js';
import type { WriteContext } from '../shared/actor.js';
import { canonicalOf } from '../shared/body-text.js';
import { sameJson } from '../shared/canonical-json.js';
import type { Clock } from '../shared/clock.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { stringsAtPath } from '../shared/field-path.js';
import { newId } from '../shared/ids.js';
import type { Settings } from '../shared/settings.js';
import type { ChangeOp, ChangeRecord, EntityRecord, InstanceIdentity, Stores } from '../store/ports.js';
import { chainHash, contentDigestOf } from './change-chain.js';
import { missingRecordReferences } from './record-references.js';
import { sameEntityState } from './entity-state.js';
import type { HistoryKeys } from './history-keys.js';

/** One write of one entity: from `current` (absent for a create) to `next` (null for a delete). */
export interface EntityWrite {
  def: EntityTypeDefinition;
  entityId: string;
  current: EntityRecord | undefined;
  next: Record<string, unknown> | null;
  ctx: WriteContext;
  settings: Settings;
  revertOf?: string | null;
  /** Record a change even where the type's tracking rule would not (reverting changes that were tracked). */
  alwaysTrack?: boolean;
}

export interface WriteResult {
  entity: EntityRecord | null;
  change: ChangeRecord | null;
  /** False when the save changed nothing and so recorded nothing. */
  changed: boolean;
}

interface ResolvedReference {
  toId: string;
  path: string;
  head: string | null;
}

/** A rule a part outside tracking imposes on writes of some types (checked inside the write transaction). */
export interface WriteGuard {
  /** The types it guards, when not every type: a batch of thousands skips it for the others at no cost. */
  appliesTo?(def: EntityTypeDefinition): boolean;
  check(
    stores: Stores,
    def: EntityTypeDefinition,
    entityId: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
    ctx: WriteContext,
  ): Promise<void>;
}

export interface ChangeWriter {
  /** Writes the entity and, when tracked, its change, inside the caller's write transaction. */
  write(stores: Stores, w: EntityWrite): Promise<WriteResult>;
}

/** The references a body holds, without looking anything up. */
export function referencesIn(def: EntityTypeDefinition, body: Record<string, unknown>): { toId: string; path: string; target: string }[] {
  const found: { toId: string; path: string; target: string }[] = [];
  for (const reference of def.references) {
    for (const hit of stringsAtPath(body, reference.path)) found.push({ toId: hit.value, path: hit.location, target: reference.target });
  }
  return found;
}

/**
 * The outgoing references an entity with this body keeps (`entity_refs`): those to entities, and those to records each
 * instance keeps for itself under their keys (see recordReferenceKey), so that neither is deleted while named.
 */
export function storedReferencesIn(
  def: EntityTypeDefinition,
  body: Record<string, unknown>,
  entityRefs: { toId: string; path: string }[] = referencesIn(def, body),
): { toId: string; path: string }[] {
  const refs = entityRefs.map((r) => ({ toId: r.toId, path: r.path }));
  for (const hit of recordReferencesIn(def, body)) refs.push({ toId: recordReferenceKey(hit), path: hit.path });
  return refs;
}

// Bodies are immutable snapshots: each is canonicalised once for the no-op check, the digest and its version.
export { canonicalOf } from '../shared/body-text.js';

/**
 * An entity written without a change keeps its head only while its state is still what the head change recorded (up to
 * instance-local fields): otherwise its state has no change behind it, and verify could not tell the write from an edit.
 */
function headAfterUntrackedWrite(def: EntityTypeDefinition, current: EntityRecord | undefined, next: Record<string, unknown>): string | null {
  if (!current?.head) return null;
  return sameEntityState(def, current.id, current.body, next) ? current.head : null;
}

export function nameOf(def: EntityTypeDefinition, id: string, body: Record<string, unknown> | null): string {
  const value = body?.[def.nameField];
  return typeof value === 'string' && value.length > 0 ? value : id;
}

export function createChangeWriter(deps: { catalog: Catalog; clock: Clock; instance: InstanceIdentity; keys: HistoryKeys; guards?: WriteGuard[] }): ChangeWriter {
  const { catalog, clock, instance, keys } = deps;
  const guards = deps.guards ?? [];

  async function resolveReferences(stores: Stores, def: EntityTypeDefinition, body: Record<string, unknown>): Promise<ResolvedReference[]> {
    const wanted = referencesIn(def, body);
    const problems: FieldProblem[] = def.records.length > 0 ? await missingRecordReferences(stores, def, body) : [];
    if (wanted.length === 0 && problems.length === 0) return [];
    const found = new Map((await stores.entities.findMany([...new Set(wanted.map((w) => w.toId))])).map((e) => [e.id, e]));
    for (const w of wanted) {
      const target = found.get(w.toId);
      if (!target || target.type !== w.target) {
        const label = catalog.find(w.target)?.label ?? w.target;
        problems.push({ path: w.path, code: 'reference-not-found', message: `No ${label} entity has id ${w.toId}.` });
      }
    }
    if (problems.length > 0) {
      throw new DomainError('REFERENCE_NOT_FOUND', 'The body references entities or records that do not exist on this instance.', { errors: problems });
    }
    return wanted.map((w) => ({ toId: w.toId, path: w.path, head: found.get(w.toId)?.head ?? null }));
  }

  async function refuseIfReferenced(stores: Stores, current: EntityRecord): Promise<void> {
    const referrers = await stores.entities.referrers(current.id, 50);
    if (referrers.length === 0) return;
    const names = new Map((await stores.entities.findMany([...new Set(referrers.map((r) => r.fromId))])).map((e) => [e.id, e.name]));
    throw new DomainError('ENTITY_REFERENCED', `"${current.name}" is still referenced; change or delete the referring entities first.`, {
      referencedBy: referrers.map((r) => ({ type: r.fromType, id: r.fromId, name: names.get(r.fromId) ?? r.fromId, path: r.path })),
    });
  }

  return {
    async write(stores, w) {
      const { def, entityId, current, next, ctx, settings } = w;
      const refs = next ? await resolveReferences(stores, def, next) : [];
      if (next === null && current) await refuseIfReferenced(stores, current);
      if (current && next && canonicalOf(current.body) === canonicalOf(next)) return { entity: current, change: null, changed: false };
      if (!current && next === null) return { entity: null, change: null, changed: false };
      for (const guard of guards) if (guard.appliesTo?.(def) ?? true) await guard.check(stores, def, entityId, current?.body ?? null, next, ctx);

      const now = clock.now();
      const tracked = w.alwaysTrack === true || isTrackedWrite(def, current?.body ?? null, next, { settings });
      let change: ChangeRecord | null = null;
      if (tracked) {
        const op: ChangeOp = !current ? 'create' : next === null ? 'delete' : 'update';
        const logHead = await stores.changes.head();
        const seq = logHead.seq + 1;
        // One object from the start: its digest and hash are filled in place (a spread copy cost more than the hash).
        change = {
          seq,
          id: newId(now),
          origin: instance.id,
          originSeq: seq + logHead.originOffset,
          type: def.key,
          entityId,
          entityName: nameOf(def, entityId, next ?? current?.body ?? null),
          op,
          before: current?.body ?? null,
          after: next,
          parent: current?.head ?? null,
          requires: [...new Set(refs.map((r) => r.head).filter((h): h is string => h !== null && h !== current?.head))],
          actor: ctx.actor,
          at: now,
          request: ctx.request,
          changeSet: ctx.changeSet,
          revertOf: w.revertOf ?? null,
          appliedFrom: null,
          received: null,
          digest: '',
          hash: '',
        };
        change.digest = contentDigestOf(change, canonicalOf, keys);
        change.hash = chainHash(keys, logHead.hash, change);
        await stores.changes.append(change);
      }

      if (next === null) {
        await stores.entities.remove(entityId);
        return { entity: null, change, changed: true };
      }
      const entity: EntityRecord = {
        id: entityId,
        type: def.key,
        name: nameOf(def, entityId, next),
        body: next,
        head: change ? change.id : headAfterUntrackedWrite(def, current, next),
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
      if (current) await stores.entities.update(entity);
      else await stores.entities.insert(entity);
      const outgoing = storedReferencesIn(def, next);
      const previous = current ? storedReferencesIn(def, current.body) : [];
      if (!sameJson(outgoing, previous)) await stores.entities.replaceReferences(entityId, def.key, outgoing);
      return { entity, change, changed: true };
    },
  };
}
