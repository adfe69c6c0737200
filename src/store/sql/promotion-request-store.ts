import type { Kysely, Selectable } from 'kysely';
import type { PromotionRequestRow, PromotionRequestStore } from '../ports.js';
import type { Database, PromotionRequestsTable } from '../schema.js';

const documentColumns = [
  'promotion_requests.id',
  'promotion_requests.status',
  'promotion_requests.scheduled_at',
  'promotion_requests.created_at',
  'promotion_requests.updated_at',
  'promotion_requests.document',
  'promotion_request_plans.plan',
] as const;

function rowOf(row: Selectable<PromotionRequestsTable> & { plan: string }): PromotionRequestRow {
  return {
    id: row.id,
    status: row.status,
    scheduledAt: row.scheduled_at === null ? null : Number(row.scheduled_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    document: JSON.parse(row.document) as unknown,
    plan: JSON.parse(row.plan) as unknown,
  };
}

export function createPromotionRequestStore(db: Kysely<Database>): PromotionRequestStore {
  const withPlans = () => db.selectFrom('promotion_requests').innerJoin('promotion_request_plans', 'promotion_request_plans.id', 'promotion_requests.id').select(documentColumns);
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
        })
        .execute();
      await db
        .insertInto('promotion_request_plans')
        .values({ id: row.id, plan: JSON.stringify(row.plan), batch: JSON.stringify(batch) })
        .execute();
    },
    async find(id) {
      const row = await withPlans().where('promotion_requests.id', '=', id).executeTakeFirst();
      return row ? rowOf(row) : undefined;
    },
    async batchOf(id) {
      const row = await db.selectFrom('promotion_request_plans').select('batch').where('id', '=', id).executeTakeFirst();
      return row ? (JSON.parse(row.batch) as unknown) : undefined;
    },
    async update(row, batch) {
      await db
        .updateTable('promotion_requests')
        .set({ status: row.status, scheduled_at: row.scheduledAt, updated_at: row.updatedAt, document: JSON.stringify(row.document) })
        .where('id', '=', row.id)
        .execute();
      if (row.plan === undefined && batch === undefined) return;
      await db
        .updateTable('promotion_request_plans')
        .set({
          ...(row.plan === undefined ? {} : { plan: JSON.stringify(row.plan) }),
          ...(batch === undefined ? {} : { batch: JSON.stringify(batch) }),
        })
        .where('id', '=', row.id)
        .execute();
    },
    async list(filter) {
      let query = withPlans();
      if (filter.statuses && filter.statuses.length > 0) query = query.where('promotion_requests.status', 'in', filter.statuses);
      if (filter.beforeId) query = query.where('promotion_requests.id', '<', filter.beforeId);
      return (await query.orderBy('promotion_requests.id', 'desc').limit(filter.limit).execute()).map(rowOf);
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
