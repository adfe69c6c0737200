import type { Kysely } from 'kysely';

type Requests = {
  promotion_requests: { id: string; document: string; batch: string };
  promotion_request_plans: { id: string; plan: string; batch: string };
};

// A request's plan (every change, entity and problem of it) and its batch move to a table of their own: a verdict, a
// schedule or an apply rewrites the request's small row only (a row is rewritten whole, long columns included), and
// the plan and batch are written when the request is created or re-planned.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('promotion_request_plans')
    .addColumn('id', 'text', (c) => c.primaryKey().references('promotion_requests.id'))
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('batch', 'text', (c) => c.notNull())
    .execute();
  const requests = db as Kysely<Requests>;
  for (const row of await requests.selectFrom('promotion_requests').select(['id', 'document', 'batch']).execute()) {
    const { plan, ...document } = JSON.parse(row.document) as { plan: unknown };
    await requests.insertInto('promotion_request_plans').values({ id: row.id, plan: JSON.stringify(plan), batch: row.batch }).execute();
    await requests.updateTable('promotion_requests').set({ document: JSON.stringify(document) }).where('id', '=', row.id).execute();
  }
  await db.schema.alterTable('promotion_requests').dropColumn('batch').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('promotion_requests').addColumn('batch', 'text', (c) => c.notNull().defaultTo('')).execute();
  const requests = db as Kysely<Requests>;
  const rows = await requests
    .selectFrom('promotion_requests')
    .innerJoin('promotion_request_plans', 'promotion_request_plans.id', 'promotion_requests.id')
    .select(['promotion_requests.id', 'promotion_requests.document', 'promotion_request_plans.plan', 'promotion_request_plans.batch'])
    .execute();
  for (const row of rows) {
    const document = { ...(JSON.parse(row.document) as object), plan: JSON.parse(row.plan) as unknown };
    await requests.updateTable('promotion_requests').set({ document: JSON.stringify(document), batch: row.batch }).where('id', '=', row.id).execute();
  }
  await db.schema.dropTable('promotion_request_plans').execute();
}
