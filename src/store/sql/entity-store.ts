import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely';
import type { Database, EntitiesTable, EntityRefsTable } from '../schema.js';

type EntityRefRow = Selectable<EntityRefsTable>;
import type { EntityCountQuery, EntityRecord, EntitySortKey, EntityStore } from '../ports.js';
import { bodyText } from './body-field.js';
import { countedPage } from './numbered-page.js';
import { forgetStoredBody, jsonTextOf, parseBody, rememberStoredBody } from '../../shared/body-text.js';
import { likeContains } from './like.js';
import { prepared, preparedRows } from './prepared.js';

// The texts of bodies live with the bodies; re-exported here for the stores that used them from this module.
export { jsonTextOf, parseBody } from '../../shared/body-text.js';

function toRecord(row: Selectable<EntitiesTable>): EntityRecord {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    body: parseBody(row.body, row.id),
    head: row.head,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(record: EntityRecord): Selectable<EntitiesTable> {
  return {
    id: record.id,
    type: record.type,
    name: record.name,
    body: jsonTextOf(record.body),
    head: record.head,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

// Every write reads and rewrites its entity; compiling these once keeps query building off the write path.
const findEntity = prepared((db, id: string) => db.selectFrom('entities').selectAll().where('id', '=', id));
const updateEntity = prepared((db, id: string, type: string, name: string, body: string, head: string | null, createdAt: number, updatedAt: number) =>
  db.updateTable('entities').set({ type, name, body, head, created_at: createdAt, updated_at: updatedAt }).where('id', '=', id),
);
// Setting `type` (even to its own value) rewrites the type index entry; a write normally keeps type and creation time.
const updateEntityContent = prepared((db, id: string, type: string, name: string, body: string, head: string | null, createdAt: number, updatedAt: number) =>
  db.updateTable('entities').set({ name, body, head, updated_at: updatedAt }).where('id', '=', id).where('type', '=', type).where('created_at', '=', createdAt),
);

// Batches (a sync apply) write entities and references in multi-row statements.
const upsertEntities = preparedRows(7, (db, rows) =>
  db
    .insertInto('entities')
    .values(rows.map(([id, type, name, body, head, createdAt, updatedAt]) => ({ id, type, name, body, head, created_at: createdAt, updated_at: updatedAt }) as Selectable<EntitiesTable>))
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        type: eb.ref('excluded.type'),
        name: eb.ref('excluded.name'),
        body: eb.ref('excluded.body'),
        head: eb.ref('excluded.head'),
        created_at: eb.ref('excluded.created_at'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    ),
);
const deleteReferencesFrom = preparedRows(1, (db, rows) => db.deleteFrom('entity_refs').where('from_id', 'in', rows.map(([id]) => id as string)));
const insertReferences = preparedRows(4, (db, rows) =>
  db.insertInto('entity_refs').values(rows.map(([fromId, fromType, toId, path]) => ({ from_id: fromId, from_type: fromType, to_id: toId, path }) as EntityRefRow)),
);

const entityColumns: Record<EntitySortKey, string> = { id: 'id', name: 'name', createdAt: 'created_at', updatedAt: 'updated_at' };

function entitiesWhere<O>(db: Kysely<Database>, query: SelectQueryBuilder<Database, 'entities', O>, { type, nameContains, bodyMatches }: EntityCountQuery) {
  query = query.where('type', '=', type);
  if (nameContains) query = query.where((eb) => likeContains(eb, 'name', nameContains));
  for (const match of bodyMatches ?? []) query = query.where((eb) => eb(bodyText(db, match.field), 'in', match.anyOf));
  return query;
}

export function createEntityStore(db: Kysely<Database>): EntityStore {
  return {
    async find(id) {
      const [row] = (await findEntity(db, id)).rows;
      return row ? toRecord(row) : undefined;
    },
    async findMany(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('entities').selectAll().where('id', 'in', ids).execute();
      return rows.map(toRecord);
    },
    async list({ type, afterId, limit, nameContains }) {
      let query = db.selectFrom('entities').selectAll().where('type', '=', type);
      if (afterId) query = query.where('id', '>', afterId);
      if (nameContains) query = query.where((eb) => likeContains(eb, 'name', nameContains));
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map(toRecord);
    },
    async page(query, page) {
      if (query.bodyMatches?.some((m) => m.anyOf.length === 0)) return { rows: [], total: 0 };
      return countedPage(db, 'entities', (q) => entitiesWhere(db, q, query), entityColumns, page, toRecord);
    },
    async listAll(type) {
      const rows = await db.selectFrom('entities').selectAll().where('type', '=', type).orderBy('id').execute();
      return rows.map(toRecord);
    },
    async insert(record) {
      await db.insertInto('entities').values(toRow(record)).execute();
      rememberStoredBody(record.id, record.body);
    },
    async update(record) {
      const row = toRow(record);
      const args = [row.id, row.type, row.name, row.body, row.head, row.created_at, row.updated_at] as const;
      const { numAffectedRows } = await updateEntityContent(db, ...args);
      if (!numAffectedRows) await updateEntity(db, ...args);
      rememberStoredBody(record.id, record.body);
    },
    async remove(id) {
      await db.deleteFrom('entity_refs').where('from_id', '=', id).execute();
      await db.deleteFrom('entities').where('id', '=', id).execute();
      forgetStoredBody(id);
    },
    async replaceReferences(fromId, fromType, refs) {
      await db.deleteFrom('entity_refs').where('from_id', '=', fromId).execute();
      if (refs.length === 0) return;
      await db
        .insertInto('entity_refs')
        .values(refs.map((r) => ({ from_id: fromId, from_type: fromType, to_id: r.toId, path: r.path })))
        .execute();
    },
    async saveMany(records) {
      await upsertEntities(
        db,
        records.map((record) => {
          const row = toRow(record);
          return [row.id, row.type, row.name, row.body, row.head, row.created_at, row.updated_at];
        }),
      );
    },
    async replaceReferencesMany(entries) {
      await deleteReferencesFrom(
        db,
        entries.map((e) => [e.fromId]),
      );
      await insertReferences(
        db,
        entries.flatMap((e) => e.refs.map((r) => [e.fromId, e.fromType, r.toId, r.path])),
      );
    },
    async referrers(toId, limit) {
      const rows = await db.selectFrom('entity_refs').selectAll().where('to_id', '=', toId).orderBy('from_id').limit(limit).execute();
      return rows.map((r) => ({ fromId: r.from_id, fromType: r.from_type, toId: r.to_id, path: r.path }));
    },
  };
}
