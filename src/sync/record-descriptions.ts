import { z } from 'zod';
import type { Catalog } from '../catalog/catalog.js';
import { kindsOf, recordReferencesIn, travellingIdReferences } from '../catalog/record-references.js';
import type { RecordTarget } from '../catalog/entity-type.js';
import type { RecordKind, RecordSummary } from '../shared/records.js';
import type { StoredChange, Stores } from '../store/ports.js';

/**
 * A record that changes of a batch name by id, as their sender knows it: the id as it appears in the changes, and the
 * kind, third-party id and name of the sender's record it stands for. Sent beside the changes, never digested: it
 * describes the sender's records, not history.
 */
export interface RecordDescription {
  kind: RecordKind;
  id: string;
  thirdPartyId: string | null;
  name: string;
}

export const recordDescriptionSchema = z.strictObject({
  kind: z.enum(['customer', 'user', 'agent']),
  id: z.string().min(1).max(100),
  thirdPartyId: z.string().min(1).max(200).nullable(),
  name: z.string().max(1000),
});

/** Largest number of records a batch may describe. */
export const RECORD_DESCRIPTIONS_MAX = 100_000;

export const recordDescriptionsSchema = z.array(recordDescriptionSchema).max(RECORD_DESCRIPTIONS_MAX);

type Body = Record<string, unknown> | null;

/** Collects the records the changes of a batch name by id, then describes them from this instance's side. */
export interface RecordDescriber {
  /** Notes what a change's bodies name. */
  note(change: { type: string; before: Body; after: Body }): void;
  /** Notes what a stored change's bodies name; their texts are parsed only for types that name records by id. */
  noteStored(change: StoredChange): void;
  /** Passes pages of stored changes on, noting each change as it goes by. */
  watch(pages: AsyncIterable<StoredChange[]>): AsyncGenerator<StoredChange[]>;
  /**
   * A description of each record noted: the record of this instance with that id, else the one the id was resolved to
   * when the change that names it arrived here (so a change passed on down a pipeline is described from this side).
   * A record this instance cannot find is left out: a receiver then resolves it by global id alone.
   */
  describe(stores: Stores): Promise<RecordDescription[]>;
}

/** The descriptions of the records these changes name (see RecordDescriber.describe). */
export function describeRecords(stores: Stores, catalog: Catalog, changes: Iterable<{ type: string; before: Body; after: Body }>): Promise<RecordDescription[]> {
  const describer = createRecordDescriber(catalog);
  for (const change of changes) describer.note(change);
  return describer.describe(stores);
}

export function createRecordDescriber(catalog: Catalog): RecordDescriber {
  const noted = new Map<string, { target: RecordTarget; id: string }>();
  const travels = new Map<string, boolean>();
  const namesRecords = (type: string): boolean => {
    let answer = travels.get(type);
    if (answer === undefined) {
      const def = catalog.find(type);
      answer = def !== undefined && travellingIdReferences(def).length > 0;
      travels.set(type, answer);
    }
    return answer;
  };

  const note: RecordDescriber['note'] = (change) => {
    if (!namesRecords(change.type)) return;
    const def = catalog.get(change.type);
    for (const body of [change.before, change.after]) {
      if (body === null) continue;
      for (const hit of recordReferencesIn(def, body, 'travelling')) noted.set(`${hit.target}:${hit.value}`, { target: hit.target, id: hit.value });
    }
  };
  const parse = (text: string | null): Body => (text === null ? null : (JSON.parse(text) as Record<string, unknown>));
  const noteStored: RecordDescriber['noteStored'] = (change) => {
    if (namesRecords(change.type)) note({ type: change.type, before: parse(change.beforeText), after: parse(change.afterText) });
  };

  return {
    note,
    noteStored,
    async *watch(pages) {
      for await (const page of pages) {
        for (const change of page) noteStored(change);
        yield page;
      }
    },
    async describe(stores) {
      if (noted.size === 0) return [];
      const wanted = [...noted.values()];
      const described = new Map<string, RecordDescription>();
      const add = (id: string, record: RecordSummary) => described.set(`${record.kind}:${id}`, { kind: record.kind, id, thirdPartyId: record.thirdPartyId, name: record.name });
      for (const kind of ['customer', 'user', 'agent'] as const) {
        const ids = [...new Set(wanted.filter((w) => kindsOf(w.target).includes(kind)).map((w) => w.id))];
        if (ids.length === 0) continue;
        const own = new Set<string>();
        for (const record of await stores.records.byIds(kind, ids)) {
          own.add(record.id);
          add(record.id, record);
        }
        const links = await stores.records.links(kind, ids.filter((id) => !own.has(id)));
        const linked = new Map((await stores.records.byIds(kind, [...new Set(links.values())])).map((r) => [r.id, r]));
        for (const [foreign, local] of links) {
          const record = linked.get(local);
          if (record) add(foreign, record);
        }
      }
      return [...described.values()];
    },
  };
}
