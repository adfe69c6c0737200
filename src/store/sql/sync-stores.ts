import { PostgresAdapter, sql, type Insertable, type Kysely, type QueryResult, type Selectable } from 'kysely';
import { bitmapWords as BITMAP_WORDS, type ChangesTable, type SummaryNodesTable, type Database, type PeersTable } from '../schema.js';
import type {
  ChangeLink,
  ChangeRecord,
  BucketBitmapRow,
  ChangeSummaryStore,
  DownstreamStore,
  NodeCellRow,
  PeerRecord,
  PeerStore,
  StoredChange,
  SyncHistoryStore,
  SyncRequestStore,
} from '../ports.js';
import { toChangeRecord, toStoredChange } from './change-store.js';
import { prepared, preparedRows } from './prepared.js';

const FP_MODULUS = 2 ** 48;
const IN_CHUNK = 500;

function chunks<T>(items: T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const LINK_COLUMNS = ['id', 'seq', 'parent', 'requires', 'at', 'change_set'] as const;
// Consecutive log positions read as one range rather than listed.
const SEQ_RUN_MIN = 16;

function toLink(row: Pick<Selectable<ChangesTable>, (typeof LINK_COLUMNS)[number]>): ChangeLink {
  return { id: row.id, seq: Number(row.seq), parent: row.parent, requires: JSON.parse(row.requires) as string[], at: Number(row.at), changeSet: row.change_set };
}

function toPeer(row: Selectable<PeersTable>): PeerRecord {
  return {
    name: row.name,
    url: row.url,
    clientId: row.client_id,
    clientSecret: row.client_secret,
    instanceId: row.instance_id,
    isSource: Boolean(row.is_source),
    lastPushSeq: Number(row.last_push_seq),
    lastPullSeq: Number(row.last_pull_seq),
    lastSyncAt: row.last_sync_at === null ? null : Number(row.last_sync_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toPeerRow(peer: PeerRecord): Selectable<PeersTable> {
  return {
    name: peer.name,
    url: peer.url,
    client_id: peer.clientId,
    client_secret: peer.clientSecret,
    instance_id: peer.instanceId,
    is_source: peer.isSource ? 1 : 0,
    last_push_seq: peer.lastPushSeq,
    last_pull_seq: peer.lastPullSeq,
    last_sync_at: peer.lastSyncAt,
    created_at: peer.createdAt,
    updated_at: peer.updatedAt,
  };
}

export function createPeerStore(db: Kysely<Database>): PeerStore {
  return {
    async list() {
      return (await db.selectFrom('peers').selectAll().orderBy('name').execute()).map(toPeer);
    },
    async find(name) {
      const row = await db.selectFrom('peers').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toPeer(row) : undefined;
    },
    async insert(peer) {
      await db.insertInto('peers').values(toPeerRow(peer)).execute();
    },
    async update(peer) {
      const { name, ...rest } = toPeerRow(peer);
      await db.updateTable('peers').set(rest).where('name', '=', name).execute();
    },
    async remove(name) {
      await db.deleteFrom('peers').where('name', '=', name).execute();
    },
  };
}

export function createDownstreamStore(db: Kysely<Database>): DownstreamStore {
  return {
    async list() {
      const rows = await db.selectFrom('downstream_instances').selectAll().orderBy('name').execute();
      return rows.map((r) => ({ instanceId: r.instance_id, name: r.name, registeredAt: Number(r.registered_at) }));
    },
    async put(record) {
      await db
        .insertInto('downstream_instances')
        .values({ instance_id: record.instanceId, name: record.name, registered_at: record.registeredAt })
        .onConflict((oc) => oc.column('instance_id').doUpdateSet({ name: record.name, registered_at: record.registeredAt }))
        .execute();
    },
    async remove(instanceId) {
      await db.deleteFrom('downstream_instances').where('instance_id', '=', instanceId).execute();
    },
  };
}

// Inner nodes' bitmap words: nothing to or in.
const NO_WORDS = BITMAP_WORDS.map(() => 0);

// Every fold reads the keys between its mark and the head. Two bounds keep PostgreSQL's generic plan of the prepared
// statement on the primary key: with `seq > $1 … limit` alone it sorted a scan of the whole table.
const keysBetween = prepared((db, afterSeq: number, toSeq: number) =>
  db.selectFrom('changes').select(['id', 'origin', 'origin_seq']).where('seq', '>', afterSeq).where('seq', '<=', toSeq).orderBy('seq'),
);

// Every read of the summary first compares the fold mark with the log head, in one statement.
const foldState = prepared((db) =>
  db.selectNoFrom((eb) => [
    eb.selectFrom('change_buckets_mark').select('seq').where('singleton', '=', 1).as('mark'),
    eb.selectFrom('change_log_head').select('seq').where('singleton', '=', 1).as('head'),
  ]),
);

// Deltas of a fold, added to their nodes in multi-row statements; member bits are or-ed into bucket bitmaps.
const addToNodes = preparedRows(5 + BITMAP_WORDS.length, (db, rows) =>
  db
    .insertInto('summary_nodes')
    .values(
      rows.map(([level, origin, idx, n, fp, ...words]) => ({
        level: level as number,
        origin: origin as string,
        idx: idx as number,
        n: n as number,
        fp: fp as number,
        ...Object.fromEntries(BITMAP_WORDS.map((w, i) => [w, words[i] as number])),
      })) as Insertable<SummaryNodesTable>[],
    )
    .onConflict((oc) =>
      oc.columns(['level', 'origin', 'idx']).doUpdateSet({
        n: sql`${sql.ref('summary_nodes.n')} + ${sql.ref('excluded.n')}`,
        fp: sql`(${sql.ref('summary_nodes.fp')} + ${sql.ref('excluded.fp')}) % ${sql.lit(FP_MODULUS)}`,
        ...Object.fromEntries(BITMAP_WORDS.map((w) => [w, sql`${sql.ref(`summary_nodes.${w}`)} | ${sql.ref(`excluded.${w}`)}`])),
      }),
    ),
);

// Nodes of several ranges (each of one level and origin): one primary-key range scan per range, joined by `union all`.
// Ranges are padded with one that holds nothing: up to 256 ranges are read by one statement.
// Each row names its range by position (`r`, a literal) instead of carrying the origin: every value a row carries
// costs the driver, and a comparison reads hundreds of rows.
const EMPTY_NODE_RANGE = [0, '', 0, 0];
function nodeRanges<C extends 'n' | 'fp' | (typeof BITMAP_WORDS)[number]>(columns: readonly C[]) {
  return preparedRows(
    4,
    (db, rows) => {
      const range = ([level, origin, from, to]: unknown[], r: number) =>
        db
          .selectFrom('summary_nodes')
          .select([sql<number>`${sql.lit(r)}`.as('r'), 'idx', ...columns])
          .where('level', '=', level as number)
          .where('origin', '=', origin as string)
          .where('idx', '>=', from as number)
          .where('idx', '<', to as number);
      return rows.slice(1).reduce((query, row, r) => query.unionAll(range(row, r + 1)), range(rows[0]!, 0));
    },
    { pad: EMPTY_NODE_RANGE },
  );
}
const cellsInRanges = nodeRanges(['n', 'fp'] as const);
const bitmapsInRanges = nodeRanges(BITMAP_WORDS);

/**
 * The same read on PostgreSQL: the ranges travel as four arrays, joined laterally to one primary-key range scan each.
 * The statement's text never changes, so it is parsed once per connection and binds in microseconds; a union of a
 * padded 64 or 256 ranges was planned anew at every bind, 1–3 ms each, several times per reconciliation.
 * `offset 0` keeps the subquery a per-range index scan: flattened, it was hash-joined over the whole level (15 ms).
 */
async function nodesInArrays<C extends 'n' | 'fp' | (typeof BITMAP_WORDS)[number]>(
  db: Kysely<Database>,
  columns: readonly C[],
  level: number,
  ranges: [string, number, number][],
): Promise<QueryResult<{ r: number; idx: number } & Record<C, number>>[]> {
  const picked = sql.join(columns.map((c) => sql.ref(`s.${c}`)));
  const query = sql<{ r: number; idx: number } & Record<C, number>>`
    select q.r - 1 as r, s.idx, ${picked}
    from unnest(${ranges.map(([origin]) => origin)}::text[], ${ranges.map(([, from]) => from)}::bigint[], ${ranges.map(([, , to]) => to)}::bigint[])
      with ordinality as q(origin, lo, hi, r)
    cross join lateral (
      select n.idx, ${sql.join(columns.map((c) => sql.ref(`n.${c}`)))} from summary_nodes n
      where n.level = ${level} and n.origin = q.origin and n.idx >= q.lo and n.idx < q.hi
      offset 0
    ) s
    order by q.r, s.idx`;
  return [await query.execute(db)];
}

// Each origin's top node, and its highest bucket by a primary-key seek.
const originTops = prepared((db, topLevel: number) =>
  db
    .selectFrom('summary_nodes as t')
    .select((eb) => [
      't.origin',
      't.n',
      't.fp',
      eb
        .selectFrom('summary_nodes as b')
        .select((inner) => inner.fn.max<number>('b.idx').as('m'))
        .where('b.level', '=', 0)
        .whereRef('b.origin', '=', 't.origin')
        .as('max_bucket'),
    ])
    .where('t.level', '=', topLevel)
    .orderBy('t.origin'),
);

const moveFoldMark = prepared((db, mark: number) =>
  db
    .insertInto('change_buckets_mark')
    .values({ singleton: 1, seq: mark })
    .onConflict((oc) => oc.column('singleton').doUpdateSet({ seq: mark })),
);

export function createChangeSummaryStore(db: Kysely<Database>): ChangeSummaryStore {
  const onPostgres = db.getExecutor().adapter instanceof PostgresAdapter;

  /** Reads the nodes of `ranges` at `level`, each row made into a `T` by `map` with the position of its range in `ranges`. */
  async function inRanges<C extends 'n' | 'fp' | (typeof BITMAP_WORDS)[number], T>(
    statement: (db: Kysely<Database>, rows: unknown[][]) => Promise<(QueryResult<{ r: number; idx: number } & Record<C, number>> & { offset: number })[]>,
    columns: readonly C[],
    level: number,
    ranges: [string, number, number][],
    map: (row: { r: number; idx: number } & Record<C, number>, range: number) => T,
  ): Promise<T[]> {
    if (ranges.length === 0) return [];
    const results = onPostgres
      ? (await nodesInArrays(db, columns, level, ranges)).map((result) => ({ ...result, offset: 0 }))
      : await statement(
          db,
          ranges.map(([origin, from, to]) => [level, origin, from, to]),
        );
    // A comparison reads hundreds of rows: each is made into its record as the driver handed it, with no copy between.
    const out: T[] = [];
    for (const result of results) for (const row of result.rows) out.push(map(row, result.offset + Number(row.r)));
    return out;
  }
  return {
    async mark() {
      const row = await db.selectFrom('change_buckets_mark').select('seq').where('singleton', '=', 1).executeTakeFirst();
      return row ? Number(row.seq) : 0;
    },
    async isCurrent() {
      const [row] = (await foldState(db)).rows;
      return Number(row?.mark ?? 0) >= Number(row?.head ?? 0);
    },
    async fold(deltas, mark) {
      await addToNodes(
        db,
        deltas.map((d) => [d.level, d.origin, d.index, d.n, d.fp % FP_MODULUS, ...(d.words ?? NO_WORDS)]),
      );
      await moveFoldMark(db, mark);
    },
    async origins(topLevel) {
      const { rows } = await originTops(db, topLevel);
      return rows.map((r) => ({ origin: r.origin, cell: { n: Number(r.n), fp: Number(r.fp) }, maxBucket: Number(r.max_bucket) }));
    },
    cellsIn: (level, ranges) =>
      inRanges(cellsInRanges, ['n', 'fp'] as const, level, ranges, (row, range): NodeCellRow => ({ range, index: Number(row.idx), n: Number(row.n), fp: Number(row.fp) })),
    bitmapsIn: (ranges) =>
      inRanges(bitmapsInRanges, BITMAP_WORDS, 0, ranges, (row, range): BucketBitmapRow => ({ range, bucket: Number(row.idx), words: BITMAP_WORDS.map((w) => Number(row[w])) })),
    async reset() {
      await db.deleteFrom('summary_nodes').execute();
      await db.deleteFrom('change_buckets_mark').execute();
    },
  };
}

export function createSyncHistoryStore(db: Kysely<Database>): SyncHistoryStore {
  return {
    async presentIds(ids) {
      const present = new Set<string>();
      for (const part of chunks([...new Set(ids)])) {
        const rows = await db.selectFrom('changes').select('id').where('id', 'in', part).execute();
        for (const r of rows) present.add(r.id);
      }
      return present;
    },
    async heldDigests(ids) {
      const held = new Map<string, string>();
      for (const part of chunks([...new Set(ids)])) {
        for (const r of await db.selectFrom('changes').select(['id', 'digest']).where('id', 'in', part).execute()) held.set(r.id, r.digest);
      }
      return held;
    },
    async keyHolders(origin, originSeqs) {
      const held = new Map<number, string>();
      const seqs = [...new Set(originSeqs)];
      if (seqs.length === 0) return held;
      const from = seqs.reduce((a, b) => Math.min(a, b));
      const to = seqs.reduce((a, b) => Math.max(a, b));
      // A dense run is one range of the unique index (a fresh receiver finds nothing in it); scattered keys are listed.
      const parts = to - from < 4 * seqs.length ? [null] : chunks(seqs);
      for (const part of parts) {
        const query = db.selectFrom('changes').select(['id', 'origin_seq']).where('origin', '=', origin);
        const rows = await (part === null ? query.where('origin_seq', '>=', from).where('origin_seq', '<=', to) : query.where('origin_seq', 'in', part)).execute();
        for (const r of rows) held.set(Number(r.origin_seq), r.id);
      }
      return held;
    },
    async findByIds(ids) {
      const found: ChangeRecord[] = [];
      for (const part of chunks([...new Set(ids)])) {
        const rows = await db.selectFrom('changes').selectAll().where('id', 'in', part).execute();
        found.push(...rows.map(toChangeRecord));
      }
      return found.sort((a, b) => a.seq - b.seq);
    },
    async keysAfter(afterSeq, limit) {
      const rows = await db
        .selectFrom('changes')
        .select(['seq', 'id', 'origin', 'origin_seq'])
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ seq: Number(r.seq), id: r.id, origin: r.origin, originSeq: Number(r.origin_seq) }));
    },
    async keysBetween(afterSeq, toSeq) {
      const { rows } = await keysBetween(db, afterSeq, toSeq);
      return rows.map((r) => ({ id: r.id, origin: r.origin, originSeq: Number(r.origin_seq) }));
    },
    async byKeys(origin, originSeqs) {
      const out: { id: string; seq: number; originSeq: number }[] = [];
      for (const part of chunks([...new Set(originSeqs)])) {
        const rows = await db
          .selectFrom('changes')
          .select(['id', 'seq', 'origin_seq'])
          .where('origin', '=', origin)
          .where('origin_seq', 'in', part)
          .execute();
        out.push(...rows.map((r) => ({ id: r.id, seq: Number(r.seq), originSeq: Number(r.origin_seq) })));
      }
      return out.sort((a, b) => a.seq - b.seq);
    },
    async findByOriginRange(origin, from, to) {
      const rows = await db.selectFrom('changes').selectAll().where('origin', '=', origin).where('origin_seq', '>=', from).where('origin_seq', '<', to).execute();
      return rows.map(toChangeRecord);
    },
    async findByKeys(origin, originSeqs) {
      const found: ChangeRecord[] = [];
      for (const part of chunks([...new Set(originSeqs)])) {
        const rows = await db.selectFrom('changes').selectAll().where('origin', '=', origin).where('origin_seq', 'in', part).execute();
        found.push(...rows.map(toChangeRecord));
      }
      return found;
    },
    async linksByIds(ids) {
      const found: ChangeLink[] = [];
      for (const part of chunks([...new Set(ids)])) found.push(...(await db.selectFrom('changes').select(LINK_COLUMNS).where('id', 'in', part).execute()).map(toLink));
      return found.sort((a, b) => a.seq - b.seq);
    },
    async linksByOriginRange(origin, from, to) {
      const rows = await db.selectFrom('changes').select(LINK_COLUMNS).where('origin', '=', origin).where('origin_seq', '>=', from).where('origin_seq', '<', to).execute();
      return rows.map(toLink);
    },
    async linksByKeys(origin, originSeqs) {
      const found: ChangeLink[] = [];
      for (const part of chunks([...new Set(originSeqs)])) {
        found.push(...(await db.selectFrom('changes').select(LINK_COLUMNS).where('origin', '=', origin).where('origin_seq', 'in', part).execute()).map(toLink));
      }
      return found;
    },
    async findBySeqs(seqs) {
      const found: StoredChange[] = [];
      const sorted = [...new Set(seqs)].sort((a, b) => a - b);
      // Runs of consecutive positions are read as ranges of the primary key, the rest by list.
      const scattered: number[] = [];
      for (let i = 0; i < sorted.length; ) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j += 1;
        if (j - i + 1 >= SEQ_RUN_MIN) {
          const rows = await db.selectFrom('changes').selectAll().where('seq', '>=', sorted[i]!).where('seq', '<=', sorted[j]!).orderBy('seq').execute();
          found.push(...rows.map(toStoredChange));
        } else scattered.push(...sorted.slice(i, j + 1));
        i = j + 1;
      }
      for (const part of chunks(scattered)) found.push(...(await db.selectFrom('changes').selectAll().where('seq', 'in', part).execute()).map(toStoredChange));
      return found.sort((a, b) => a.seq - b.seq);
    },
    async summariesAfter(afterSeq, limit) {
      const rows = await db.selectFrom('changes').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
      return rows.map((r) => {
        const { before: _b, after: _a, request: _r, digest: _d, hash: _h, requires: _q, ...summary } = toChangeRecord(r);
        return summary;
      });
    },
    async clearEntities(types) {
      let removed = 0;
      for (const part of chunks(types)) {
        await db
          .deleteFrom('entity_refs')
          .where('from_id', 'in', (eb) => eb.selectFrom('entities').select('id').where('type', 'in', part))
          .execute();
        const result = await db.deleteFrom('entities').where('type', 'in', part).executeTakeFirst();
        removed += Number(result.numDeletedRows);
      }
      return removed;
    },
  };
}

export function createSyncRequestStore(db: Kysely<Database>): SyncRequestStore {
  return {
    async find(key) {
      const row = await db.selectFrom('sync_requests').select(['sender', 'result']).where('key', '=', key).executeTakeFirst();
      return row ? { sender: row.sender, result: JSON.parse(row.result) as unknown } : undefined;
    },
    async insert(key, sender, result, at) {
      await db.insertInto('sync_requests').values({ key, sender, result: JSON.stringify(result), at }).execute();
    },
  };
}
