// Figure 1: tracked writes per second through the service layer beside a hand-written raw-driver tracked write.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { monotonicFactory } from 'ulid';
import { configureSqliteConnection, startWalCheckpointer } from '../dist/store/dialects/sqlite.js';
import { migrateToLatest, openDialect } from '../dist/store/open-database.js';
import { note, openInstance, report, runOnEngines, round, summarise, teamBody, tempPostgres, tempSqlite, timeLoop } from './support.mjs';

const ENTITIES = 1000;
const WARMUP = 500;
// Short alternating blocks, so background load on the machine falls on both sides alike.
const ROUNDS = 6;
const BLOCK = { maxCount: 1000, maxMs: 3000 };
const TARGET = { ratio: 0.6, p99Ms: 2 };

// Digest and chain link keyed as ours are (HMAC-SHA256 under derived keys), so both sides do the same hashing.
const digestKey = createSecretKey(randomBytes(32));
const chainKey = createSecretKey(randomBytes(32));
const hmac = (key, text) => `hmac:000000000000:${createHmac('sha256', key).update(text).digest('hex')}`;
// The raw side mints ULIDs from a pooled crypto buffer: the cheapest sound way, so the baseline is not slowed by id minting.
let pool = randomBytes(4096);
let taken = 0;
const ulid = monotonicFactory(() => {
  if (taken === pool.length) [pool, taken] = [randomBytes(4096), 0];
  return pool[taken++] / 256;
});
const actor = { kind: 'agent', id: '01JBENCHRAWACTOR000000000', name: 'Bench' };

/** The change row a tracked write inserts, with the same columns and sizes as the service writes. */
function changeRow(seq, origin, entityId, name, before, after, parent, now) {
  const content = {
    id: ulid(now),
    origin,
    origin_seq: seq,
    type: 'teams',
    entity_id: entityId,
    entity_name: name,
    op: 'update',
    before,
    after,
    parent,
    requires: '[]',
    actor_kind: actor.kind,
    actor_id: actor.id,
    actor_name: actor.name,
    at: now,
    request: null,
    change_set: null,
    revert_of: null,
    applied_from: null,
  };
  return { seq, ...content, digest: hmac(digestKey, JSON.stringify(content)) };
}

const insertChangeSql = (p) =>
  `insert into changes (seq, id, origin, origin_seq, type, entity_id, entity_name, op, before, after, parent, requires, actor_kind, actor_id, actor_name, at, request, change_set, revert_of, applied_from, digest, hash)
   values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(12)}, ${p(13)}, ${p(14)}, ${p(15)}, ${p(16)}, ${p(17)}, ${p(18)}, ${p(19)}, ${p(20)}, ${p(21)}, ${p(22)})`;

const changeValues = (c, hash) => [
  c.seq, c.id, c.origin, c.origin_seq, c.type, c.entity_id, c.entity_name, c.op, c.before, c.after, c.parent, c.requires,
  c.actor_kind, c.actor_id, c.actor_name, c.at, c.request, c.change_set, c.revert_of, c.applied_from, c.digest, hash,
];

/**
 * Raw SQLite: read the entity and log head, hash, insert the change, move the head, update the entity; one per transaction.
 * Same conditions as the service: the same pragmas and its own WAL checkpoint worker, so neither side checkpoints in a commit.
 */
function rawSqliteWriter(file, origin) {
  const raw = new BetterSqlite3(file);
  configureSqliteConnection(raw);
  const checkpointer = startWalCheckpointer(file);
  const selectEntity = raw.prepare('select body, head from entities where id = ?');
  const selectHead = raw.prepare('select seq, hash from change_log_head where singleton = 1');
  const insertChange = raw.prepare(insertChangeSql(() => '?'));
  const moveHead = raw.prepare('update change_log_head set seq = ?, hash = ? where singleton = 1');
  const updateEntity = raw.prepare('update entities set name = ?, body = ?, head = ?, updated_at = ? where id = ?');
  const insertEntity = raw.prepare('insert into entities (id, type, name, body, head, created_at, updated_at) values (?, ?, ?, ?, null, ?, ?)');
  const write = raw.transaction((id, body) => {
    const row = selectEntity.get(id);
    const head = selectHead.get();
    const now = Date.now();
    const after = JSON.stringify(body);
    const c = changeRow(head.seq + 1, origin, id, body.name, row.body, after, row.head, now);
    const hash = hmac(chainKey, `${head.hash}|${c.seq}|${c.digest}|null|null`);
    insertChange.run(...changeValues(c, hash));
    moveHead.run(c.seq, hash);
    updateEntity.run(body.name, after, c.id, now, id);
  });
  return {
    seed(ids) {
      raw.transaction(() => {
        raw.prepare('insert into change_log_head (singleton, seq, hash) values (1, 0, ?)').run('0'.repeat(64));
        ids.forEach((id, k) => insertEntity.run(id, 'teams', teamBody(k, 0).name, JSON.stringify(teamBody(k, 0)), Date.now(), Date.now()));
      }).immediate();
    },
    write: (id, body) => write.immediate(id, body),
    count: () => raw.prepare('select count(*) as n from changes').get().n,
    async close() {
      raw.close();
      await checkpointer.stop();
    },
  };
}

/** Raw PostgreSQL over one pg client with named (prepared) statements; the head row lock serialises appends. */
async function rawPostgresWriter(url, origin) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = (name, text, values) => client.query({ name, text, values });
  return {
    async seed(ids) {
      await client.query('begin');
      await client.query('insert into change_log_head (singleton, seq, hash) values (1, 0, $1)', ['0'.repeat(64)]);
      for (const [k, id] of ids.entries()) {
        const body = teamBody(k, 0);
        await client.query('insert into entities (id, type, name, body, head, created_at, updated_at) values ($1, $2, $3, $4, null, $5, $5)', [
          id, 'teams', body.name, JSON.stringify(body), Date.now(),
        ]);
      }
      await client.query('commit');
    },
    async write(id, body) {
      await client.query('begin');
      try {
        const row = (await q('sel_entity', 'select body, head from entities where id = $1', [id])).rows[0];
        const head = (await q('sel_head', 'select seq, hash from change_log_head where singleton = 1 for update', [])).rows[0];
        const now = Date.now();
        const after = JSON.stringify(body);
        const c = changeRow(Number(head.seq) + 1, origin, id, body.name, row.body, after, row.head, now);
        const hash = hmac(chainKey, `${head.hash}|${c.seq}|${c.digest}|null|null`);
        await q('ins_change', insertChangeSql((n) => `$${n}`), changeValues(c, hash));
        await q('move_head', 'update change_log_head set seq = $1, hash = $2 where singleton = 1', [c.seq, hash]);
        await q('upd_entity', 'update entities set name = $1, body = $2, head = $3, updated_at = $4 where id = $5', [body.name, after, c.id, now, id]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
    },
    count: async () => Number((await client.query('select count(*) as n from changes')).rows[0].n),
    close: () => client.end(),
  };
}

async function runEngine(engine) {
  const serviceDb = engine === 'sqlite' ? tempSqlite('writes-svc') : await tempPostgres('writes_svc');
  const rawDb = engine === 'sqlite' ? tempSqlite('writes-raw') : await tempPostgres('writes_raw');
  const instance = await openInstance(serviceDb.url);
  // The raw side gets the very same schema (tables and indexes) from our migrations.
  const rawDialect = openDialect(rawDb.url);
  await migrateToLatest(rawDialect);
  await rawDialect.close();
  const rawWriter = engine === 'sqlite' ? rawSqliteWriter(rawDb.url, instance.identity.id) : await rawPostgresWriter(rawDb.url, instance.identity.id);
  try {
    const { services, ctx } = instance;
    note(`${engine}: seeding ${ENTITIES} teams on each side`);
    const ids = [];
    for (let k = 0; k < ENTITIES; k += 1) ids.push((await services.config.create(ctx, 'teams', teamBody(k, 0))).entity.id);
    await rawWriter.seed(ids);

    // Write i updates entity i mod ENTITIES to revision i: every save changes something, both sides write the same bodies.
    let next = 1;
    const serviceWrite = async (i) => {
      const k = i % ENTITIES;
      const outcome = await services.config.replace(ctx, 'teams', ids[k], teamBody(k, i));
      if (outcome.changeId === null) throw new Error('a benchmark write recorded no change');
    };
    const rawWrite = (i) => {
      const k = i % ENTITIES;
      return rawWriter.write(ids[k], teamBody(k, i));
    };

    note(`${engine}: warming up (${WARMUP} writes each)`);
    await timeLoop(serviceWrite, { maxCount: WARMUP, maxMs: 10_000, startAt: next });
    await timeLoop(rawWrite, { maxCount: WARMUP, maxMs: 10_000, startAt: next });
    next += WARMUP;

    const service = { latencies: [], elapsedMs: 0 };
    const rawSide = { latencies: [], elapsedMs: 0 };
    for (let round = 0; round < ROUNDS; round += 1) {
      note(`${engine}: round ${round + 1}/${ROUNDS}`);
      const s = await timeLoop(serviceWrite, { ...BLOCK, startAt: next });
      // The raw side writes exactly the rows the service just wrote.
      const r = await timeLoop(rawWrite, { maxCount: s.latencies.length, maxMs: BLOCK.maxMs, startAt: next });
      next += s.latencies.length;
      service.latencies.push(...s.latencies);
      service.elapsedMs += s.elapsedMs;
      rawSide.latencies.push(...r.latencies);
      rawSide.elapsedMs += r.elapsedMs;
    }
    const serviceStats = summarise(service.latencies, service.elapsedMs);
    const rawStats = summarise(rawSide.latencies, rawSide.elapsedMs);
    const ratio = round(serviceStats.opsPerSec / rawStats.opsPerSec, 3);
    const changes = await instance.db.read((stores) => stores.changes.head());
    return {
      engine,
      entities: ENTITIES,
      bodyBytes: JSON.stringify(teamBody(0, 0)).length,
      service: serviceStats,
      raw: rawStats,
      ratio,
      changesInLog: { service: changes.seq, raw: await rawWriter.count() },
      pass: { ratio: ratio >= TARGET.ratio, p99: serviceStats.p99Ms <= TARGET.p99Ms },
    };
  } finally {
    await rawWriter.close();
    await instance.close();
    await serviceDb.drop();
    await rawDb.drop();
  }
}

const { results, skipped } = await runOnEngines(runEngine);
for (const s of skipped) note(s.reason);

report(
  { figure: 'tracked-writes', target: TARGET, results, skipped },
  results.map((r) => ({
    engine: r.engine,
    'service ops/s': r.service.opsPerSec,
    'raw ops/s': r.raw.opsPerSec,
    ratio: r.ratio,
    'service p50 ms': r.service.p50Ms,
    'service p99 ms': r.service.p99Ms,
    'raw p99 ms': r.raw.p99Ms,
    pass: r.pass.ratio && r.pass.p99 ? 'yes' : 'NO',
  })),
);
