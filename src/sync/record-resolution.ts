import type { Catalog } from '../catalog/catalog.js';
import type { EntityTypeDefinition, RecordTarget } from '../catalog/entity-type.js';
import { kindsOf, mapRecordIds, recordReferencesIn, type RecordReferenceHit } from '../catalog/record-references.js';
import type { RecordKind, RecordSummary } from '../shared/records.js';
import type { RecordLink, Stores } from '../store/ports.js';
import { lookUpRecords, type RecordIndex } from '../tracking/record-references.js';
import type { RecordDescription } from './record-descriptions.js';
import type { SyncProblem, TransferChange, UnresolvedRecord } from './transfer.js';

type Body = Record<string, unknown> | null;

/** How a receiver takes the record references of a batch: see resolveRecords. */
export interface RecordResolution {
  /** The change's `after` as this instance stores it: each record id it names replaced by the id of the record here. */
  localAfter(index: number): Body;
  /** The change's `before` in this instance's terms, as `localAfter`: what the receiver's state must equal. */
  localBefore(index: number): Body;
  /**
   * The problem of a change whose `after` becomes its entity's state (the last change of the entity in the batch) and
   * names records this instance cannot resolve; null when there is none.
   */
  problemOf(index: number): Omit<SyncProblem, 'changeId' | 'entity'> | null;
  /** Remembers, for the given changes (those applied), which record here each id they name resolved to. */
  save(stores: Stores, changeIds: ReadonlySet<string>): Promise<void>;
}

const label: Record<RecordTarget, string> = { customer: 'customer', user: 'user', agent: 'agent', 'agent-or-user': 'agent or user' };

interface Resolved {
  hit: RecordReferenceHit;
  record: RecordSummary | undefined;
  description: RecordDescription | undefined;
}

/**
 * Resolves the records the changes of a batch name to records of this instance. A reference by id resolves to the
 * record with the same global id here unless its third-party id contradicts the sender's description, else to the
 * record holding the third-party id the sender described; an id the sender did not describe resolves by global id, or
 * by the link an earlier batch made for it. A reference by third-party id names the record holding it here. References
 * in instance-local fields are left to the receiver's own values.
 */
export async function resolveRecords(stores: Stores, catalog: Catalog, batch: readonly TransferChange[], described: readonly RecordDescription[]): Promise<RecordResolution> {
  const descriptions = new Map(described.map((d) => [`${d.kind}:${d.id}`, d]));
  const describedAs = (target: RecordTarget, id: string) =>
    kindsOf(target)
      .map((kind) => descriptions.get(`${kind}:${id}`))
      .filter((d): d is RecordDescription => d !== undefined);

  const hitsOf = (def: EntityTypeDefinition | undefined, body: Body, scope: 'shared' | 'travelling'): RecordReferenceHit[] =>
    !def || body === null ? [] : recordReferencesIn(def, body, scope);
  // An `after` must name records here (those it names by third-party id too); a `before` only teaches links.
  const afterHits = batch.map((change) => hitsOf(catalog.find(change.type), change.after, 'shared'));
  const beforeHits = batch.map((change) => hitsOf(catalog.find(change.type), change.before, 'travelling'));
  const everyHit = [...afterHits.flat(), ...beforeHits.flat()];
  if (everyHit.length === 0) return { localAfter: (index) => batch[index]!.after, localBefore: (index) => batch[index]!.before, problemOf: () => null, save: async () => undefined };

  // Ids the sender did not describe may have been resolved by an earlier batch.
  const links = new Map<string, string>();
  for (const kind of ['customer', 'user', 'agent'] as const) {
    const undescribed = everyHit.filter((h) => h.by === 'id' && kindsOf(h.target).includes(kind) && describedAs(h.target, h.value).length === 0).map((h) => h.value);
    if (undescribed.length === 0) continue;
    for (const [foreign, local] of await stores.records.links(kind, undescribed)) links.set(`${kind}:${foreign}`, local);
  }
  // Only the descriptions of records the changes name are looked up: a sender cannot make the receiver read more.
  const named = new Set(everyHit.filter((h) => h.by === 'id').map((h) => h.value));
  const wanted = [
    ...everyHit.map((h) => ({ target: h.target, by: h.by, value: h.value })),
    ...described.flatMap((d) => (d.thirdPartyId === null || !named.has(d.id) ? [] : [{ target: d.kind, by: 'third-party-id' as const, value: d.thirdPartyId }])),
    ...[...links].map(([key, local]) => ({ target: key.slice(0, key.indexOf(':')) as RecordKind, by: 'id' as const, value: local })),
  ];
  const index = await lookUpRecords(stores, wanted);

  // What a reference resolves to depends on its target and value alone: each is resolved once.
  const resolutions = new Map<string, Resolved>();
  const resolve = (hit: RecordReferenceHit): Resolved => {
    const key = `${hit.by}:${hit.target}:${hit.value}`;
    const known = resolutions.get(key);
    if (known) return { ...known, hit };
    const resolved = resolveOne(hit);
    resolutions.set(key, resolved);
    return resolved;
  };
  const resolveOne = (hit: RecordReferenceHit): Resolved => {
    if (hit.by === 'third-party-id') return { hit, record: index.named(hit), description: undefined };
    const given = describedAs(hit.target, hit.value);
    if (given.length === 0) return { hit, record: byIdOrLink(index, links, hit), description: undefined };
    for (const description of given) {
      const same = index.byId(description.kind, hit.value);
      const contradicts = same !== undefined && same.thirdPartyId !== null && description.thirdPartyId !== null && same.thirdPartyId !== description.thirdPartyId;
      if (same && !contradicts) return { hit, record: same, description };
    }
    for (const description of given) {
      const held = description.thirdPartyId === null ? undefined : index.byThirdPartyId(description.kind, description.thirdPartyId);
      if (held) return { hit, record: held, description };
    }
    return { hit, record: undefined, description: given[0] };
  };
  const afterResolved = afterHits.map((hits) => hits.map(resolve));
  const beforeResolved = beforeHits.map((hits) => hits.map(resolve));
  const lastOfEntity = new Map(batch.map((change, i) => [change.entityId, i]));

  return {
    localAfter(i) {
      const change = batch[i]!;
      const def = catalog.find(change.type);
      if (!def || afterResolved[i]!.length === 0) return change.after;
      return mapRecordIds(def, change.after, (id, target) => resolutions.get(`id:${target}:${id}`)?.record?.id ?? id);
    },
    localBefore(i) {
      const change = batch[i]!;
      const def = catalog.find(change.type);
      if (!def || beforeResolved[i]!.length === 0) return change.before;
      return mapRecordIds(def, change.before, (id, target) => resolutions.get(`id:${target}:${id}`)?.record?.id ?? id);
    },
    problemOf(i) {
      if (lastOfEntity.get(batch[i]!.entityId) !== i) return null;
      const unresolved = afterResolved[i]!.filter((r) => !r.record);
      if (unresolved.length === 0) return null;
      const change = batch[i]!;
      const records: UnresolvedRecord[] = unresolved.map(({ hit, description }) => ({
        path: hit.path,
        kind: description?.kind ?? hit.target,
        id: hit.by === 'id' ? hit.value : null,
        name: description?.name ?? null,
        thirdPartyId: hit.by === 'third-party-id' ? hit.value : (description?.thirdPartyId ?? null),
      }));
      return {
        kind: 'record-missing',
        message: `Change ${change.id} names ${unresolved.map(({ hit, description }) => describeMissing(hit, description)).join('; ')}.`,
        records,
      };
    },
    async save(target, changeIds) {
      const saved: RecordLink[] = [];
      batch.forEach((change, i) => {
        if (!changeIds.has(change.id)) return;
        for (const r of [...afterResolved[i]!, ...beforeResolved[i]!]) {
          if (r.hit.by === 'id' && r.record) saved.push({ kind: r.record.kind, foreignId: r.hit.value, localId: r.record.id });
        }
      });
      if (saved.length > 0) await target.records.saveLinks(saved);
    },
  };
}

function byIdOrLink(index: RecordIndex, links: Map<string, string>, hit: RecordReferenceHit): RecordSummary | undefined {
  for (const kind of kindsOf(hit.target)) {
    const same = index.byId(kind, hit.value);
    if (same) return same;
  }
  for (const kind of kindsOf(hit.target)) {
    const local = links.get(`${kind}:${hit.value}`);
    const linked = local === undefined ? undefined : index.byId(kind, local);
    if (linked) return linked;
  }
  return undefined;
}

function describeMissing(hit: RecordReferenceHit, description: RecordDescription | undefined): string {
  if (hit.by === 'third-party-id') return `third-party id "${hit.value}" at ${hit.path}, which no ${label[hit.target]} here holds`;
  if (!description) return `${label[hit.target]} ${hit.value} at ${hit.path}, which the sender did not describe and no ${label[hit.target]} here has`;
  if (description.thirdPartyId === null) {
    return `${description.kind} "${description.name}" (${hit.value}) at ${hit.path}, which has no third-party id and no ${description.kind} here has its id`;
  }
  return `${description.kind} "${description.name}" (third-party id ${description.thirdPartyId}) at ${hit.path}, which no ${description.kind} here holds`;
}
