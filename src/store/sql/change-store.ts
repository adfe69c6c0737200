import type { Database, ChangesTable } from '../schema.js';
import type { ChangeFilter, ChangeOp, ChangePageFilter, ChangeReceipt, ChangeRecord, ChangeStore, ChangeSummary, LogHead, StoredChange } from '../ports.js';
import { sql, type Insertable, type Kysely, type QueryResult, type Selectable, type SelectQueryBuilder } from 'kysely';
import { jsonTextOf, parseBody } from '../../shared/body-text.js';
import { bodyText } from './body-field.js';
import { countedPage } from './numbered-page.js';
import { prepared, preparedRows } from './prepared.js';

const GENESIS_HASH = '0'.repeat(64);

function changesWhere<O>(db: Kysely<Database>, query: SelectQueryBuilder<Database, 'changes', O>, { nameContains, customerRecords }: ChangePageFilter) {
  if (nameContains) query = query.where(sql<string>`lower(${sql.ref('entity_name')})`, 'like', sql<string>`${containsPattern(nameContains)} escape '\\'`);
  if (!customerRecords) return query;
  const { customerIds, customerField } = customerRecords;
  const types = Object.keys(customerField);
  if (types.length === 0) return query;
  // As seesChange: a body that is absent is seen, one naming no customer or another customer is not.
  return query.where((eb) => {
    const seen = (column: 'before' | 'after', field: string) =>
      eb.or([eb(column, 'is', null), ...(customerIds.length > 0 ? [eb(bodyText(db, field, column), 'in', customerIds)] : [])]);
    return eb.or([eb('type', 'not in', types), ...types.map((type) => eb.and([eb('type', '=', type), seen('before', customerField[type]!), seen('after', customerField[type]!)]))]);
  });
}

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

function toReceipt(row: Selectable<ChangesTable>): ChangeReceipt | null {
  if (row.received_operation === null) return null;
  return {
    actor: { kind: row.received_by_kind as ChangeReceipt['actor']['kind'], id: row.received_by_id ?? '', name: row.received_by_name ?? '' },
    operation: row.received_operation as ChangeReceipt['operation'],
    via: row.received_via ?? '',
    at: Number(row.received_at),
  };
}

/** The change of a row, its bodies left as their stored JSON texts. */
export function toStoredChange(row: Selectable<ChangesTable>): StoredChange {
  const change = toSummary(row) as StoredChange;
  change.beforeText = row.before;
  change.afterText = row.after;
  change.requires = JSON.parse(row.requires) as string[];
  change.request = parseJson(row.request);
  change.received = toReceipt(row);
  change.digest = row.digest;
  change.hash = row.hash;
  return change;
}

export function toChangeRecord(row: Selectable<ChangesTable>): ChangeRecord {
  // Members added to the summary one by one: spreading it into a new object made reading a record several times slower.
  const record = toSummary(row) as ChangeRecord;
  record.before = row.before === null ? null : parseBody(row.before);
  record.after = row.after === null ? null : parseBody(row.after);
  record.requires = JSON.parse(row.requires) as string[];
  record.request = parseJson(row.request);
  record.received = toReceipt(row);
  record.digest = row.digest;
  record.hash = row.hash;
  return record;
}

/** A change's column values, in `changeColumns` order (summary columns first). */
function changeValues(change: ChangeRecord): unknown[] {
  return [
    change.seq,
    change.id,
    change.origin,
    change.originSeq,
    change.type,
    change.entityId,
    change.entityName,
    change.op,
    change.parent,
    change.actor.kind,
    change.actor.id,
    change.actor.name,
    change.at,
    change.changeSet,
    change.revertOf,
    change.appliedFrom,
    change.before === null ? null : jsonTextOf(change.before),
    change.after === null ? null : jsonTextOf(change.after),
    JSON.stringify(change.requires),
    change.request === null ? null : JSON.stringify(change.request),
    change.received?.actor.kind ?? null,
    change.received?.actor.id ?? null,
    change.received?.actor.name ?? null,
    change.received?.operation ?? null,
    change.received?.via ?? null,
    change.received?.at ?? null,
    change.digest,
    change.hash,
  ];
}

// Every column: the list columns plus the snapshots, the receipt and the chain.
const changeColumns = [
  ...summaryColumns,
  'before',
  'after',
  'requires',
  'request',
  'received_by_kind',
  'received_by_id',
  'received_by_name',
  'received_operation',
  'received_via',
  'received_at',
  'digest',
  'hash',
] as const satisfies readonly (keyof ChangesTable)[];

// Every tracked write runs these; compiling them once keeps query building off the write path.
const insertChange = prepared((db, ...values: unknown[]) =>
  db.insertInto('changes').values(Object.fromEntries(changeColumns.map((column, i) => [column, values[i]])) as Insertable<ChangesTable>),
);
const insertChanges = preparedRows(changeColumns.length, (db, rows) =>
  db.insertInto('changes').values(rows.map((values) => Object.fromEntries(changeColumns.map((column, i) => [column, values[i]])) as Insertable<ChangesTable>)),
);
const readHead = prepared((db) => db.selectFrom('change_log_head').select(['seq', 'hash', 'origin_offset']).where('singleton', '=', 1));
const moveHead = prepared((db, seq: number, hash: string) => db.updateTable('change_log_head').set({ seq, hash }).where('singleton', '=', 1));
const rekeyRow = prepared((db, digest: string, hash: string, seq: number) => db.updateTable('changes').set({ digest, hash }).where('seq', '=', seq));

// The list's filters in the order their arguments are bound; each combination is compiled once per plan.
const listFilters = ['type', 'entityId', 'op', 'origin', 'changeSet', 'actor', 'receivedBy', 'nameContains', 'from', 'to', 'beforeSeq'] as const;
type ListFilterName = (typeof listFilters)[number];
type ListQuery = SelectQueryBuilder<Database, 'changes', SummaryRow>;

// `time` reads the range's rows by time and sorts them; `seq` walks seq newest first, kept off the time indexes.
type ListPlan = 'time' | 'seq';

// Two different expressions: PostgreSQL would take `at + 0` on both sides for one narrow range and sort the whole type.
const hiddenAt = { from: sql<number>`${sql.ref('at')} + 0`, to: sql<number>`${sql.ref('at')} - 0` };
const plainAt = sql.ref<number>('at');

const listConditions: Record<ListFilterName, (query: ListQuery, value: never, plan: ListPlan) => ListQuery> = {
  type: (query, value) => query.where('type', '=', value),
  entityId: (query, value) => query.where('entity_id', '=', value),
  op: (query, value) => query.where('op', '=', value),
  origin: (query, value) => query.where('origin', '=', value),
  changeSet: (query, value) => query.where('change_set', '=', value),
  actor: (query, value) => query.where((eb) => eb.or([eb('actor_id', '=', value), eb('actor_name', '=', value)])),
  receivedBy: (query, value) => query.where((eb) => eb.or([eb('received_by_id', '=', value), eb('received_by_name', '=', value)])),
  nameContains: (query, value) => query.where(sql<string>`lower(${sql.ref('entity_name')})`, 'like', sql<string>`${value} escape '\\'`),
  from: (query, value, plan) => query.where(plan === 'seq' ? hiddenAt.from : plainAt, '>=', value),
  to: (query, value, plan) => query.where(plan === 'seq' ? hiddenAt.to : plainAt, '<=', value),
  beforeSeq: (query, value) => query.where('seq', '<', value),
};

// Text filters count when non-empty, as they always have; numbers whenever given.
const isSet = (value: string | number | undefined) => typeof value === 'number' || Boolean(value);

// The pattern likeContains builds, bound as one argument so that the statement's shape stays fixed.
const containsPattern = (needle: string) => `%${needle.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

type ListStatement = (db: Kysely<Database>, ...args: unknown[]) => Promise<QueryResult<SummaryRow>>;
const listStatements = new Map<string, ListStatement>();
const LIST_STATEMENTS_KEPT = 256;

// The limit is written into the SQL: a bound LIMIT made SQLite re-prepare the statement on every run (~30 µs).
function listStatement(plan: ListPlan, names: readonly ListFilterName[], limit: number): ListStatement {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`change list: invalid limit ${limit}`);
  const key = `${plan}:${names.join(',')}:${limit}`;
  let statement = listStatements.get(key);
  if (!statement) {
    if (listStatements.size >= LIST_STATEMENTS_KEPT) listStatements.clear();
    statement = prepared((db, ...args: unknown[]) => {
      let query: ListQuery = db.selectFrom('changes').select(summaryColumns);
      for (const [i, name] of names.entries()) query = listConditions[name](query, args[i] as never, plan);
      // seq + 0 keeps the engine from walking changes_type_seq to avoid the sort.
      const order = plan === 'time' ? sql<number>`${sql.ref('seq')} + 0` : sql.ref<number>('seq');
      return query.orderBy(order, 'desc').limit(sql.lit(limit));
    });
    listStatements.set(key, statement);
  }
  return statement;
}

// A range of fewer rows is cheap to read whole and sort.
const PROBE_CAP = 500;
// Counting on when both sides reach PROBE_CAP costs far less than walking the wrong one (up to 1.6 s measured).
const PROBE_WIDE_CAP = 20_000;

type ProbeName = 'type' | 'from' | 'to';
type Probe = { n: number; newer: number | null };
type ProbeStatement = (db: Kysely<Database>, ...args: unknown[]) => Promise<QueryResult<Probe>>;
const probeStatements = new Map<string, ProbeStatement>();

// Rows of the range (`n`) and, when `n` passes the threshold argument, rows newer than it: both capped, index only.
function probeStatement(names: readonly ProbeName[], cap: number): ProbeStatement {
  const key = `${names.join(',')}:${cap}`;
  let statement = probeStatements.get(key);
  if (!statement) {
    statement = prepared((db, ...args: unknown[]) => {
      const value = (name: ProbeName) => args[names.indexOf(name)] as never;
      const rows = db.selectFrom('changes').select(sql.lit(1).as('one'));
      const ofType = names.includes('type') ? rows.where('type', '=', value('type')) : rows;
      let inRange = ofType;
      if (names.includes('from')) inRange = inRange.where('at', '>=', value('from'));
      if (names.includes('to')) inRange = inRange.where('at', '<=', value('to'));
      return db.selectFrom(inRange.limit(sql.lit(cap)).as('r')).select((eb) => {
        const n = eb.fn.countAll<number>();
        if (!names.includes('to')) return [n.as('n'), sql<number>`0`.as('newer')];
        const newer = eb.selectFrom(ofType.where('at', '>', value('to')).limit(sql.lit(cap)).as('q')).select(eb.fn.countAll<number>().as('m'));
        // Both engines evaluate the subquery only when the CASE reaches it.
        return [n.as('n'), eb.case().when(n, '>', args[names.length] as never).then(newer).end().as('newer')];
      });
    });
    probeStatements.set(key, statement);
  }
  return statement;
}

async function probe(db: Kysely<Database>, filter: ChangeFilter, cap: number, threshold: number): Promise<Probe> {
  const names = (['type', 'from', 'to'] as const).filter((name) => isSet(filter[name]));
  const args: unknown[] = names.map((name) => filter[name]);
  if (names.includes('to')) args.push(threshold);
  const [row] = (await probeStatement(names, cap)(db, ...args)).rows;
  return { n: Number(row?.n ?? 0), newer: row?.newer === null || row?.newer === undefined ? null : Number(row.newer) };
}

// Reading by time costs the range's rows; walking seq costs the newer rows, plus an unknown share when other filters thin out matches.
async function chooseListPlan(db: Kysely<Database>, filter: ChangeFilter): Promise<ListPlan> {
  if ((filter.from === undefined && filter.to === undefined) || filter.entityId || filter.changeSet) return 'seq';
  const residual = Boolean(filter.op || filter.origin || filter.actor || filter.receivedBy || filter.nameContains);
  // Up to twice a page, reading the range costs less than counting what is newer.
  const first = await probe(db, filter, PROBE_CAP, filter.limit * 2);
  if (first.newer === null) return 'time';
  if (first.n < PROBE_CAP) return residual || first.newer + filter.limit >= first.n ? 'time' : 'seq';
  if (first.newer < PROBE_CAP) return 'seq';
  const wide = await probe(db, filter, PROBE_WIDE_CAP, 0);
  if (residual) return wide.n < PROBE_WIDE_CAP ? 'time' : 'seq';
  return wide.n < (wide.newer ?? 0) ? 'time' : 'seq';
}

/** Stores are made per transaction, so the log head read once stays valid while the write lock is held. */
export function createChangeStore(db: Kysely<Database>): ChangeStore {
  let cachedHead: LogHead | undefined;
  async function head(): Promise<LogHead> {
    if (cachedHead) return cachedHead;
    const [row] = (await readHead(db)).rows;
    cachedHead = row ? { seq: Number(row.seq), hash: row.hash, originOffset: Number(row.origin_offset) } : { seq: 0, hash: GENESIS_HASH, originOffset: 0 };
    return cachedHead;
  }
  async function appendDeferred(change: ChangeRecord): Promise<void> {
    await insertChange(db, ...changeValues(change));
    cachedHead = { seq: change.seq, hash: change.hash, originOffset: (cachedHead ?? (await head())).originOffset };
  }
  async function appendMany(changes: ChangeRecord[]): Promise<void> {
    await insertChanges(
      db,
      changes.map((change) => changeValues(change)),
    );
    const last = changes[changes.length - 1];
    if (last) cachedHead = { seq: last.seq, hash: last.hash, originOffset: (await head()).originOffset };
  }
  async function saveHead(): Promise<void> {
    if (!cachedHead) return;
    const { seq, hash } = cachedHead;
    const moved = await moveHead(db, seq, hash);
    if (!moved.numAffectedRows) {
      await db.insertInto('change_log_head').values({ singleton: 1, seq, hash, origin_offset: cachedHead.originOffset, legacy_until: 0, legacy_seal: null }).execute();
    }
  }
  return {
    head,
    async append(change) {
      await appendDeferred(change);
      await saveHead();
    },
    appendDeferred,
    appendMany,
    saveHead,
    async reset(originOffset) {
      await db.deleteFrom('changes').execute();
      await db.deleteFrom('change_log_head').execute();
      await db.insertInto('change_log_head').values({ singleton: 1, seq: 0, hash: GENESIS_HASH, origin_offset: originOffset, legacy_until: 0, legacy_seal: null }).execute();
      cachedHead = { seq: 0, hash: GENESIS_HASH, originOffset };
    },
    async legacySegment() {
      const row = await db.selectFrom('change_log_head').select(['legacy_until', 'legacy_seal']).where('singleton', '=', 1).executeTakeFirst();
      return { until: Number(row?.legacy_until ?? 0), seal: row?.legacy_seal ?? null };
    },
    async saveLegacySegment(segment) {
      await db.updateTable('change_log_head').set({ legacy_until: segment.until, legacy_seal: segment.seal }).where('singleton', '=', 1).execute();
    },
    async rekey(seq, digest, hash) {
      await rekeyRow(db, digest, hash, seq);
      const current = await head();
      if (current.seq !== seq) return;
      cachedHead = { ...current, hash };
      await moveHead(db, seq, hash);
    },
    async findById(id) {
      const row = await db.selectFrom('changes').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toChangeRecord(row) : undefined;
    },
    async page(filter, page) {
      return countedPage(db, 'changes', (query) => changesWhere(db, query, filter), { seq: 'seq' }, page, toSummary);
    },
    async list(filter) {
      const names = listFilters.filter((name) => isSet(filter[name]));
      const values = names.map((name) => (name === 'nameContains' ? containsPattern(filter.nameContains!) : filter[name]));
      const plan = await chooseListPlan(db, filter);
      const { rows } = await listStatement(plan, names, filter.limit)(db, ...values);
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
