import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, PeersTable } from '../schema.js';
import type {
  ChangeRecord,
  ChangeSummaryStore,
  DownstreamStore,
  PeerRecord,
  PeerStore,
  SummaryCell,
  SyncHistoryStore,
  SyncRequestStore,
} from '../ports.js';
import { toChangeRecord } from './change-store.js';
import { prepared, preparedRows } from './prepared.js';

// Fingerprints are sums modulo 2^48; summed in SQL as two 24-bit halves so that no engine's integer overflows.
const HALF = 2 ** 24;
// Written into the SQL: SQLite binds a JS number as REAL, and `fp / ?` would then not divide as integers.
const half = sql.lit(HALF);
const FP_MODULUS = 2 ** 48;
const IN_CHUNK = 500;

function cellOf(n: unknown, lo: unknown, hi: unknown): SummaryCell {
  const fp = ((Number(hi) % HALF) * HALF + Number(lo)) % FP_MODULUS;
  return { n: Number(n), fp };
}

function chunks<T>(items: T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
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

// Ranges are padded with one that holds nothing: up to 256 ranges are read by one statement.
const EMPTY_RANGE = ['', 0, 0];

// Origin sequences as 32-bit words of a bitmap: `sum` of distinct powers of two is their bitwise or, so each range
// answers a few rows instead of one per change. One index range scan per range, joined by `union all` (an OR of
// ranges made SQLite collect and sort row ids first).
const memberWordsInRanges = preparedRows(
  3,
  (db, rows) => {
    const range = ([origin, from, to]: unknown[]) => {
      const word = sql<number>`${sql.ref('origin_seq')} / 32`;
      return db
        .selectFrom('changes')
        .select(['origin', word.as('word'), sql<number>`sum(cast(1 as bigint) << cast(${sql.ref('origin_seq')} % 32 as integer))`.as('bits')])
        .where('origin', '=', origin as string)
        .where('origin_seq', '>=', from as number)
        .where('origin_seq', '<', to as number)
        .groupBy(['origin', word]);
    };
    return rows.slice(1).reduce((query, row) => query.unionAll(range(row)), range(rows[0]!));
  },
  { pad: EMPTY_RANGE },
);

// Every fold reads the keys between its mark and the head. Two bounds keep PostgreSQL's generic plan of the prepared
// statement on the primary key: with `seq > $1 … limit` alone it sorted a scan of the whole table.
const keysBetween = prepared((db, afterSeq: number, toSeq: number) =>
  db.selectFrom('changes').select(['seq', 'id', 'origin', 'origin_seq']).where('seq', '>', afterSeq).where('seq', '<=', toSeq).orderBy('seq'),
);

// Buckets of several ranges (each of one origin), grouped by `floor(bucket / width)`: one primary-key range scan per
// range, joined by `union all`; a statement family per width, which is written into the SQL.
type GroupRow = { origin: string; grp: number; n: number; lo: number; hi: number };
const groupsByWidth = new Map<number, ReturnType<typeof preparedRows<GroupRow>>>();
function groupsInRanges(width: number) {
  if (!Number.isSafeInteger(width) || width < 1) throw new Error(`summary groups: invalid width ${width}`);
  let statement = groupsByWidth.get(width);
  if (!statement) {
    statement = preparedRows<GroupRow>(3, (db, rows) => {
      const range = ([origin, from, to]: unknown[]) => {
        const group = sql<number>`${sql.ref('bucket')} / ${sql.lit(width)}`;
        return db
          .selectFrom('change_buckets')
          .select((eb) => [
            'origin',
            group.as('grp'),
            eb.fn.sum<number>('n').as('n'),
            sql<number>`sum(${sql.ref('fp')} % ${sql.lit(HALF)})`.as('lo'),
            sql<number>`sum(${sql.ref('fp')} / ${sql.lit(HALF)})`.as('hi'),
          ])
          .where('origin', '=', origin as string)
          .where('bucket', '>=', from as number)
          .where('bucket', '<', to as number)
          .groupBy(['origin', group]);
      };
      return rows.slice(1).reduce((query, row) => query.unionAll(range(row)), range(rows[0]!));
    }, { pad: EMPTY_RANGE });
    groupsByWidth.set(width, statement);
  }
  return statement;
}

// Every read of the summary first compares the fold mark with the log head, in one statement.
const foldState = prepared((db) =>
  db.selectNoFrom((eb) => [
    eb.selectFrom('change_buckets_mark').select('seq').where('singleton', '=', 1).as('mark'),
    eb.selectFrom('change_log_head').select('seq').where('singleton', '=', 1).as('head'),
  ]),
);

// Deltas of a fold, added to their buckets in multi-row statements.
const addToBuckets = preparedRows(4, (db, rows) =>
  db
    .insertInto('change_buckets')
    .values(rows.map(([origin, bucket, n, fp]) => ({ origin: origin as string, bucket: bucket as number, n: n as number, fp: fp as number })))
    .onConflict((oc) =>
      oc.columns(['origin', 'bucket']).doUpdateSet({
        n: sql`${sql.ref('change_buckets.n')} + ${sql.ref('excluded.n')}`,
        fp: sql`(${sql.ref('change_buckets.fp')} + ${sql.ref('excluded.fp')}) % ${sql.lit(FP_MODULUS)}`,
      }),
    ),
);
const moveFoldMark = prepared((db, mark: number) =>
  db
    .insertInto('change_buckets_mark')
    .values({ singleton: 1, seq: mark })
    .onConflict((oc) => oc.column('singleton').doUpdateSet({ seq: mark })),
);

export function createChangeSummaryStore(db: Kysely<Database>): ChangeSummaryStore {
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
      await addToBuckets(
        db,
        deltas.map((d) => [d.origin, d.bucket, d.n, d.fp % FP_MODULUS]),
      );
      await moveFoldMark(db, mark);
    },
    async origins() {
      const rows = await db
        .selectFrom('change_buckets')
        .select((eb) => [
          'origin',
          eb.fn.sum<number>('n').as('n'),
          eb.fn.max<number>('bucket').as('max_bucket'),
          sql<number>`sum(${sql.ref('fp')} % ${half})`.as('lo'),
          sql<number>`sum(${sql.ref('fp')} / ${half})`.as('hi'),
        ])
        .groupBy('origin')
        .orderBy('origin')
        .execute();
      return rows.map((r) => ({ origin: r.origin, cell: cellOf(r.n, r.lo, r.hi), maxBucket: Number(r.max_bucket) }));
    },
    async groupsIn(width, ranges) {
      const results = await groupsInRanges(width)(db, ranges);
      return results.flatMap((result) => result.rows.map((r) => ({ origin: r.origin, group: Number(r.grp), cell: cellOf(r.n, r.lo, r.hi) })));
    },
    async reset() {
      await db.deleteFrom('change_buckets').execute();
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
      return rows.map((r) => ({ seq: Number(r.seq), id: r.id, origin: r.origin, originSeq: Number(r.origin_seq) }));
    },
    async originSeqs(origin, from, to) {
      const rows = await db
        .selectFrom('changes')
        .select('origin_seq')
        .where('origin', '=', origin)
        .where('origin_seq', '>=', from)
        .where('origin_seq', '<', to)
        .orderBy('origin_seq')
        .execute();
      return rows.map((r) => Number(r.origin_seq));
    },
    async memberWordsIn(ranges) {
      const results = await memberWordsInRanges(db, ranges);
      return results.flatMap((result) => result.rows.map((r) => ({ origin: r.origin, word: Number(r.word), bits: Number(r.bits) })));
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
