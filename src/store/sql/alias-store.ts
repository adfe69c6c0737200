import type { Kysely } from 'kysely';
import type { IdAliasStore } from '../ports.js';
import type { Database } from '../schema.js';

const CHUNK = 500;
/** The largest alias: Halo's ids are 32-bit. */
const MAX_ALIAS = 2 ** 31 - 1;

export function createIdAliasStore(db: Kysely<Database>): IdAliasStore {
  async function aliasesOf(globalIds: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(globalIds)];
    const found = new Map<string, number>();
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await db.selectFrom('id_aliases').select(['alias', 'global_id']).where('global_id', 'in', unique.slice(i, i + CHUNK)).execute();
      for (const row of rows) found.set(row.global_id, Number(row.alias));
    }
    return found;
  }

  return {
    aliasesOf,
    async globalIdOf(alias) {
      // Beyond the column's range no alias was ever given (and PostgreSQL would refuse to compare).
      if (!Number.isSafeInteger(alias) || alias < 1 || alias > MAX_ALIAS) return undefined;
      const row = await db.selectFrom('id_aliases').select('global_id').where('alias', '=', alias).executeTakeFirst();
      return row?.global_id;
    },
    async assign(globalIds, at) {
      const found = await aliasesOf(globalIds);
      const missing = [...new Set(globalIds)].filter((id) => !found.has(id));
      if (missing.length === 0) return found;
      // Writes are serialised (SQLite's one writer, PostgreSQL's change-log lock), and rows are never deleted: max + 1 is never reused.
      const top = await db.selectFrom('id_aliases').select((eb) => eb.fn.max('alias').as('top')).executeTakeFirst();
      let next = Number(top?.top ?? 0);
      const rows = missing.map((id) => ({ alias: ++next, global_id: id, created_at: at }));
      for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto('id_aliases').values(rows.slice(i, i + CHUNK)).execute();
      for (const row of rows) found.set(row.global_id, row.alias);
      return found;
    },
  };
}
