import { kindsOf, keysNaming, mapRecordIds, recordReferencesIn, type RecordReferenceHit } from '../catalog/record-references.js';
import type { EntityTypeDefinition, RecordTarget } from '../catalog/entity-type.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import type { RecordKind, RecordSummary } from '../shared/records.js';
import type { Stores } from '../store/ports.js';

// References from tracked configuration to records each instance keeps for itself (customers, users, agents), as this
// instance holds them: checked on every write, kept in its own ids, compared with other instances by what they name.

type Wanted = Pick<RecordReferenceHit, 'target' | 'by' | 'value'>;

/** The records of this instance that `wanted` could name, by kind: found by id and by third-party id, each once. */
export async function lookUpRecords(stores: Stores, wanted: readonly Wanted[]): Promise<RecordIndex> {
  const byId = new Map<RecordKind, Set<string>>();
  const byThirdParty = new Map<RecordKind, Set<string>>();
  for (const w of wanted) {
    for (const kind of kindsOf(w.target)) {
      const into = w.by === 'id' ? byId : byThirdParty;
      const values = into.get(kind) ?? new Set<string>();
      values.add(w.value);
      into.set(kind, values);
    }
  }
  const index = new RecordIndex();
  for (const [kind, ids] of byId) for (const record of await stores.records.byIds(kind, [...ids])) index.add(record);
  for (const [kind, tps] of byThirdParty) for (const record of await stores.records.byThirdPartyIds(kind, [...tps])) index.add(record);
  return index;
}

/** Records found by lookUpRecords, by kind and id and by kind and third-party id. */
export class RecordIndex {
  private readonly ids = new Map<string, RecordSummary>();
  private readonly thirdParty = new Map<string, RecordSummary>();

  add(record: RecordSummary): void {
    this.ids.set(`${record.kind}:${record.id}`, record);
    if (record.thirdPartyId !== null) this.thirdParty.set(`${record.kind}:${record.thirdPartyId}`, record);
  }

  /** The record of `kind` with this id. */
  byId(kind: RecordKind, id: string): RecordSummary | undefined {
    return this.ids.get(`${kind}:${id}`);
  }

  /** The record of `kind` holding this third-party id. */
  byThirdPartyId(kind: RecordKind, thirdPartyId: string): RecordSummary | undefined {
    return this.thirdParty.get(`${kind}:${thirdPartyId}`);
  }

  /** The record a reference names, if this instance has it. */
  named(w: Wanted): RecordSummary | undefined {
    for (const kind of kindsOf(w.target)) {
      const found = w.by === 'id' ? this.byId(kind, w.value) : this.byThirdPartyId(kind, w.value);
      if (found) return found;
    }
    return undefined;
  }
}

const label: Record<RecordTarget, string> = { customer: 'customer', user: 'user', agent: 'agent', 'agent-or-user': 'agent or user' };

/** A problem for each record reference of `body` that names no record of this instance (a local write's check). */
export async function missingRecordReferences(stores: Stores, def: EntityTypeDefinition, body: Record<string, unknown>): Promise<FieldProblem[]> {
  const hits = recordReferencesIn(def, body);
  if (hits.length === 0) return [];
  const index = await lookUpRecords(stores, hits);
  return hits
    .filter((hit) => !index.named(hit))
    .map((hit) => ({
      path: hit.path,
      code: 'reference-not-found',
      message: hit.by === 'id' ? `No ${label[hit.target]} here has id ${hit.value}.` : `No ${label[hit.target]} here has third-party id ${hit.value}.`,
    }));
}

/**
 * `body` (a change's snapshot) with the ids of other instances' records it names replaced by the ids of the records
 * they were resolved to here when the change arrived: the body as this instance holds it. Ids of this instance's own
 * records, and ids it never resolved, stay as they are.
 */
export async function localRecordIds<T extends Record<string, unknown> | null>(stores: Stores, def: EntityTypeDefinition, body: T): Promise<T> {
  if (body === null) return body;
  const hits = recordReferencesIn(def, body, 'travelling');
  if (hits.length === 0) return body;
  const links = new Map<string, string>();
  for (const kind of ['customer', 'user', 'agent'] as const) {
    const ids = hits.filter((h) => kindsOf(h.target).includes(kind)).map((h) => h.value);
    if (ids.length === 0) continue;
    for (const [foreign, local] of await stores.records.links(kind, ids)) links.set(`${kind}:${foreign}`, local);
  }
  return mapRecordIds(def, body, (id, target) => kindsOf(target).map((kind) => links.get(`${kind}:${id}`)).find((local) => local !== undefined) ?? id);
}

/** How a record reference reads on any instance: by the record's third-party id, else by its global id. */
export function portableName(target: RecordTarget, record: RecordSummary | undefined, id: string): string {
  if (!record) return `${target}:id:${id}`;
  return record.thirdPartyId === null ? `${record.kind}:id:${record.id}` : `${record.kind}:third-party-id:${record.thirdPartyId}`;
}

/**
 * Entity bodies of one type as instances compare them: each record id that travels replaced by its portable name, so
 * two instances that hold the same configuration over their own records compare equal.
 */
export async function portableBodies(stores: Stores, def: EntityTypeDefinition, bodies: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const hits = bodies.flatMap((body) => recordReferencesIn(def, body, 'travelling'));
  if (hits.length === 0) return bodies;
  const index = await lookUpRecords(stores, hits);
  return bodies.map((body) => mapRecordIds(def, body, (id, target) => portableName(target, index.named({ target, by: 'id', value: id }), id)));
}

/** The tracked entities that name `record` (by id or by third-party id; with `by`, only so), at most `limit`, with where. */
export async function entitiesNaming(
  stores: Stores,
  record: Pick<RecordSummary, 'kind' | 'id' | 'thirdPartyId'>,
  options: { by?: 'id' | 'third-party-id'; limit?: number } = {},
): Promise<{ type: string; id: string; name: string; path: string }[]> {
  const limit = options.limit ?? 50;
  const refs = [];
  for (const key of keysNaming(record, options.by)) refs.push(...(await stores.entities.referrers(key, limit)));
  if (refs.length === 0) return [];
  const names = new Map((await stores.entities.findMany([...new Set(refs.map((r) => r.fromId))])).map((e) => [e.id, e.name]));
  return refs.slice(0, limit).map((r) => ({ type: r.fromType, id: r.fromId, name: names.get(r.fromId) ?? r.fromId, path: r.path }));
}

/**
 * Refuses to delete a record, or to take away the third-party id by which it is named, while tracked configuration
 * names it: no configuration entity may name a record this instance lacks.
 */
export async function refuseWhileNamed(stores: Stores, record: Pick<RecordSummary, 'kind' | 'id' | 'thirdPartyId'>, by?: 'third-party-id'): Promise<void> {
  const referencedBy = await entitiesNaming(stores, record, by ? { by } : {});
  if (referencedBy.length === 0) return;
  const names = [...new Set(referencedBy.map((r) => `${r.type} "${r.name}"`))].join(', ');
  const naming = by ? `by its third-party id ${record.thirdPartyId}` : '';
  throw new DomainError(inUse[record.kind], `Configuration names this ${record.kind}${naming ? ` ${naming}` : ''}: ${names}; change it first.`, { referencedBy });
}

const inUse = { customer: 'CUSTOMER_IN_USE', user: 'USER_IN_USE', agent: 'AGENT_IN_USE' } as const;
