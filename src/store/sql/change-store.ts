import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, ChangesTable } from '../schema.js';
import type { ChangeOp, ChangeRecord, ChangeStore, ChangeSummary, LogHead } from '../ports.js';
import { likeContains } from './like.js';
import { prepared } from './prepared.js';

const GENESIS_HASH = '0'.repeat(64);

const summaryColumns = [
  'seq',
  'id',
  'origin',
  'origin_seq',
  'type',
  'entity_id',
  'entity_name',
  'op',
  'parent',
  'actor_kind',
  'actor_id',
  'actor_name',
  'at',
  'change_set',
  'revert_of',
  'applied_from',
] as const;

type SummaryRow = Pick<Selectable<ChangesTable>, (typeof summaryColumns)[number]>;

function toSummary(row: SummaryRow): ChangeSummary {
  return {
    seq: Number(row.seq),
    id: row.id,
    origin: row.origin,
    originSeq: Number(row.origin_seq),
    type: row.type,
    entityId: row.entity_id,
    entityName: row.entity_name,
    op: row.op as ChangeOp,
    parent: row.parent,
    actor: { kind: row.actor_kind as ChangeRecord['actor']['kind'], id: row.actor_id, name: row.actor_name },
    at: Number(row.at),
    changeSet: row.change_set,
    revertOf: row.revert_of,
    appliedFrom: row.applied_from,
  };
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function toChangeRecord(row: Selectable<ChangesTable>): ChangeRecord {
  return {
    ...toSummary(row),
    before: parseJson(row.before),
    after: parseJson(row.after),
    requires: JSON.parse(row.requires) as string[],
    request: parseJson(row.request),
    digest: row.digest,
    hash: row.hash,
  };
}

export function toChangeRow(change: ChangeRecord): Selectable<ChangesTable> {
  return {
    seq: change.seq,
    id: change.id,
    origin: change.origin,
    origin_seq: change.originSeq,
    type: change.type,
    entity_id: change.entityId,
    entity_name: change.entityName,
    op: change.op,
    before: change.before === null ? null : JSON.stringify(change.before),
    after: change.after === null ? null : JSON.stringify(change.after),
    parent: change.parent,
    requires: JSON.stringify(change.requires),
    actor_kind: change.actor.kind,
    actor_id: change.actor.id,
    actor_name: change.actor.name,
    at: change.at,
    request: change.request === null ? null : JSON.stringify(change.request),
    change_set: change.changeSet,
    revert_of: change.revertOf,
    applied_from: change.appliedFrom,
    digest: change.digest,
    hash: change.hash,
  };
}

const changeColumns = [
  'seq',
  'id',
  'origin',
  'origin_seq',
  'type',
  'entity_id',
  'entity_name',
  'op',
  'before',
  'after',
  'parent',
  'requires',
  'actor_kind',
  'actor_id',
  'actor_name',
  'at',
  'request',
  'change_set',
  'revert_of',
  'applied_from',
  'digest',
  'hash',
] as const satisfies readonly (keyof ChangesTable)[];

// Every tracked write runs these; compiling them once keeps query building off the write path.
const insertChange = prepared((db, ...values: unknown[]) =>
  db.insertInto('changes').values(Object.fromEntries(changeColumns.map((column, i) => [column, values[i]])) as Insertable<ChangesTable>),
);
const readHead = prepared((db) => db.selectFrom('change_log_head').select(['seq', 'hash']).where('singleton', '=', 1));
const moveHead = prepared((db, seq: number, hash: string) => db.updateTable('change_log_head').set({ seq, hash }).where('singleton', '=', 1));

/** Stores are made per transaction, so the log head read once stays valid while the write lock is held. */
export function createChangeStore(db: Kysely<Database>): ChangeStore {
  let cachedHead: LogHead | undefined;
  return {
    async head() {
      if (cachedHead) return cachedHead;
      const [row] = (await readHead(db)).rows;
      cachedHead = row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
      return cachedHead;
    },
    async append(change) {
      const row = toChangeRow(change);
      await insertChange(db, ...changeColumns.map((column) => row[column]));
      const moved = await moveHead(db, change.seq, change.hash);
      if (!moved.numAffectedRows) {
        await db.insertInto('change_log_head').values({ singleton: 1, seq: change.seq, hash: change.hash }).execute();
      }
      cachedHead = { seq: change.seq, hash: change.hash };
    },
    async findById(id) {
      const row = await db.selectFrom('changes').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toChangeRecord(row) : undefined;
    },
    async list(filter) {
      let query = db.selectFrom('changes').select(summaryColumns);
      if (filter.type) query = query.where('type', '=', filter.type);
      if (filter.entityId) query = query.where('entity_id', '=', filter.entityId);
      if (filter.op) query = query.where('op', '=', filter.op);
      if (filter.origin) query = query.where('origin', '=', filter.origin);
      if (filter.changeSet) query = query.where('change_set', '=', filter.changeSet);
      const actor = filter.actor;
      if (actor) query = query.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_name', '=', actor)]));
      const needle = filter.nameContains;
      if (needle) query = query.where((eb) => likeContains(eb, 'entity_name', needle));
      if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('at', '<=', filter.to);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map(toSummary);
    },
    async scan(afterSeq, limit) {
      const rows = await db.selectFrom('changes').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
      return rows.map(toChangeRecord);
    },
    async descending(fromSeq, belowSeq, limit) {
      const rows = await db
        .selectFrom('changes')
        .selectAll()
        .where('seq', '>=', fromSeq)
        .where('seq', '<', belowSeq)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toChangeRecord);
    },
    async countFromSeq(fromSeq) {
      const row = await db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).where('seq', '>=', fromSeq).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async nextOfEntity(entityId, afterSeq) {
      const row = await db
        .selectFrom('changes')
        .select(summaryColumns)
        .where('entity_id', '=', entityId)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      return row ? toSummary(row) : undefined;
    },
    async requiring(changeId, afterSeq, limit) {
      const rows = await db
        .selectFrom('changes')
        .select(summaryColumns)
        .where('seq', '>', afterSeq)
        .where('requires', 'like', `%"${changeId}"%`)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toSummary);
    },
  };
}
