import type { Kysely } from 'kysely';
import type { RecordKind, RecordSummary } from '../../shared/records.js';
import type { RecordStore } from '../ports.js';
import type { Database } from '../schema.js';

/** The table each kind of record lives in. */
const tables = { customer: 'customers', user: 'desk_users', agent: 'agents' } as const;

const CHUNK = 500;

function chunks(values: string[]): string[][] {
  const unique = [...new Set(values)];
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += CHUNK) out.push(unique.slice(i, i + CHUNK));
  return out;
}

export function createRecordStore(db: Kysely<Database>): RecordStore {
  async function select(kind: RecordKind, column: 'id' | 'third_party_id', values: string[]): Promise<RecordSummary[]> {
    const found: RecordSummary[] = [];
    for (const part of chunks(values)) {
      const rows = await db.selectFrom(tables[kind]).select(['id', 'name', 'third_party_id']).where(column, 'in', part).execute();
      for (const row of rows) found.push({ kind, id: row.id, name: row.name, thirdPartyId: row.third_party_id });
    }
    return found;
  }

  return {
    byIds: (kind, ids) => select(kind, 'id', ids),
    byThirdPartyIds: (kind, thirdPartyIds) => select(kind, 'third_party_id', thirdPartyIds),
    async links(kind, foreignIds) {
      const found = new Map<string, string>();
      for (const part of chunks(foreignIds)) {
        const rows = await db.selectFrom('record_links').select(['foreign_id', 'local_id']).where('kind', '=', kind).where('foreign_id', 'in', part).execute();
        for (const row of rows) found.set(row.foreign_id, row.local_id);
      }
      return found;
    },
    async saveLinks(links) {
      const unique = new Map(links.map((l) => [`${l.kind}\u0000${l.foreignId}`, l]));
      const rows = [...unique.values()].map((l) => ({ kind: l.kind, foreign_id: l.foreignId, local_id: l.localId }));
      for (let i = 0; i < rows.length; i += CHUNK) {
        await db
          .insertInto('record_links')
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) => oc.columns(['kind', 'foreign_id']).doUpdateSet((eb) => ({ local_id: eb.ref('excluded.local_id') })))
          .execute();
      }
    },
    async linksAfter(kind, afterForeignId, limit) {
      let query = db.selectFrom('record_links').select(['foreign_id', 'local_id']).where('kind', '=', kind);
      if (afterForeignId !== null) query = query.where('foreign_id', '>', afterForeignId);
      const rows = await query.orderBy('foreign_id').limit(limit).execute();
      return rows.map((row) => ({ kind, foreignId: row.foreign_id, localId: row.local_id }));
    },
    async clearLinks() {
      await db.deleteFrom('record_links').execute();
    },
  };
}
