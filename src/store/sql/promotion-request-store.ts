import type { Kysely, Selectable } from 'kysely';
import type { PromotionRequestRow, PromotionRequestStore } from '../ports.js';
import type { Database, PromotionRequestsTable } from '../schema.js';

const documentColumns = ['id', 'status', 'scheduled_at', 'created_at', 'updated_at', 'document'] as const;

function rowOf(row: Omit<Selectable<PromotionRequestsTable>, 'batch'>): PromotionRequestRow {
  return {
    id: row.id,
    status: row.status,
    scheduledAt: row.scheduled_at === null ? null : Number(row.scheduled_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    document: JSON.parse(row.document) as unknown,
  };
}

export function createPromotionRequestStore(db: Kysely<Database>): PromotionRequestStore {
  return {
    async insert(row, batch) {
      await db
        .insertInto('promotion_requests')
        .values({
          id: row.id,
          status: row.status,
          scheduled_at: row.scheduledAt,
          created_at: row.createdAt,
          updated_at: row.updatedAt,
          document: JSON.stringify(row.document),
          batch: JSON.stringify(batch),
        })
        .execute();
    },
    async find(id) {
      const row = await db.selectFrom('promotion_requests').select(documentColumns).where('id', '=', id).executeTakeFirst();
      return row ? rowOf(row) : undefined;
    },
    async batchOf(id) {
      const row = await db.selectFrom('promotion_requests').select('batch').where('id', '=', id).executeTakeFirst();
      return row ? (JSON.parse(row.batch) as unknown) : undefined;
    },
    async update(row, batch) {
      await db
        .updateTable('promotion_requests')
        .set({
          status: row.status,
          scheduled_at: row.scheduledAt,
          updated_at: row.updatedAt,
          document: JSON.stringify(row.document),
          ...(batch === undefined ? {} : { batch: JSON.stringify(batch) }),
        })
        .where('id', '=', row.id)
        .execute();
    },
    async list(filter) {
      let query = db.selectFrom('promotion_requests').select(documentColumns);
      if (filter.statuses && filter.statuses.length > 0) query = query.where('status', 'in', filter.statuses);
      if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
      return (await query.orderBy('id', 'desc').limit(filter.limit).execute()).map(rowOf);
    },
    async due(now, limit) {
      const rows = await db
        .selectFrom('promotion_requests')
        .select('id')
        .where('status', '=', 'scheduled')
        .where('scheduled_at', '<=', now)
        .orderBy('scheduled_at')
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },
  };
}
