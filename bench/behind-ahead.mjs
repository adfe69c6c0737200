// Issue 4, figure 1: behind/ahead between two instances of 1,000,000 changes that differ in 100, end to end over
// HTTP, beside the naive full comparison (load both id sets, diff them) in the same run; and the summary's upkeep.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { foldSummary } from '../dist/sync/summary.js';
import { changeRow, LogWriter } from './change-logs.mjs';
import {
  api,
  changeIdsOf,
  linkInstances,
  msSince,
  note,
  now,
  prepareInstance,
  report,
  runOnEngines,
  round,
  startInstanceProcess,
  summarise,
  tempPostgres,
  tempSqlite,
} from './support.mjs';

const TOTAL = Number(process.env.SHIPLOG_BENCH_SYNC_CHANGES ?? 1_000_000);
/** Changes only the first instance has (origin sequences its peer skipped: cherry-pick gaps), and only the second. */
const ONLY_A = 50;
const ONLY_B = 50;
const STATUS_RUNS = 30;
const LIST_RUNS = 5;
const NAIVE_RUNS = 5;
const INCREMENT = 2_000;
/** Bursts of INCREMENT writes, each followed by the fold: the first pays the process's one-time warm-up, the rest are steady. */
const BURSTS = 5;
const TARGET = { ms: 50, bytes: 100_000, speedup: 100, upkeepUs: 5 };

/** Two logs of TOTAL changes: A's own, and B's holding all of A's but ONLY_A of them, plus ONLY_B changes of its own. */
async function generate(engine, a, b) {
  const wa = await LogWriter.open(engine, a.url, a.keys);
  const wb = await LogWriter.open(engine, b.url, b.keys);
  const bootA = wa.existing;
  const originA = a.identity.id;
  const originB = b.identity.id;
  // B's own changes so far are its bootstrap; the rest of its ONLY_B are written among A's, spread over the log.
  const ownB = ONLY_B - wb.existing.length;
  for (const stored of bootA) await wb.copy(stored);
  const first = bootA.length + 1;
  const span = TOTAL - first + 1;
  const skipped = new Set(Array.from({ length: ONLY_A }, (_, i) => first + 7 + Math.floor((i * span) / ONLY_A)));
  const bAt = new Set(Array.from({ length: ownB }, (_, i) => first + 3 + Math.floor(((i + 0.5) * span) / ownB)));
  let bSeq = wb.seq;
  for (let n = first; n <= TOTAL; n += 1) {
    const row = changeRow(originA, 0, n, a.actor);
    await wa.add(row);
    if (!skipped.has(n)) await wb.add(row);
    if (bAt.has(n)) {
      bSeq = wb.seq + 1;
      await wb.add(changeRow(originB, 1, bSeq, b.actor));
    }
    if (n % 250_000 === 0) note(`behind-ahead ${engine}: ${n} changes`);
  }
  await wa.close();
  await wb.close();
  return { skipped: skipped.size, ownB: wb.existing.length + ownB };
}

/** Times folding the log into the summary: every change not yet folded, in one write transaction. */
async function timeFold(prepared) {
  const t = now();
  const folded = await prepared.db.write((stores) => foldSummary(stores));
  const ms = msSince(t);
  return { changes: folded, ms: round(ms, 1), usPerChange: folded ? round((ms * 1000) / folded, 3) : null };
}


async function runEngine(engine) {
  const secretKey = randomBytes(32).toString('base64');
  const dbs = engine === 'sqlite' ? [tempSqlite('sync-a'), tempSqlite('sync-b')] : [await tempPostgres('sync_a'), await tempPostgres('sync_b')];
  const tokens = [`shp_bench_${randomBytes(24).toString('base64url')}`, `shp_bench_${randomBytes(24).toString('base64url')}`];
  const processes = [];
  try {
    const a = { ...(await prepareInstance(dbs[0].url, { name: 'dev', kind: 'development', secretKey, adminToken: tokens[0] })), url: dbs[0].url };
    const b = { ...(await prepareInstance(dbs[1].url, { name: 'staging', kind: 'staging', secretKey, adminToken: tokens[1] })), url: dbs[1].url };
    note(`behind-ahead ${engine}: writing two logs of ${TOTAL} changes`);
    const generated = await generate(engine, a, b);
    await a.dialect.close();
    await b.dialect.close();

    // Upkeep: fold each whole log (catch-up), timed on a fresh connection as the server would open it.
    const upkeep = {};
    for (const [label, side, name, kind] of [['a', a, 'dev', 'development'], ['b', b, 'staging', 'staging']]) {
      const reopened = await prepareInstance(side.url, { name, kind, secretKey, adminToken: tokens[0], knownActor: side.actor });
      upkeep[label] = await timeFold(reopened);
      await reopened.dialect.close();
    }
    note(`behind-ahead ${engine}: folded ${upkeep.a.changes} + ${upkeep.b.changes} changes (${upkeep.a.usPerChange} / ${upkeep.b.usPerChange} µs a change)`);
    // A serving instance's tables have long been vacuumed and analysed; freshly loaded ones would be, by autovacuum,
    // in the middle of the timed calls. Done here, as a steady instance would have it.
    if (engine === 'postgres') {
      for (const db of dbs) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query('vacuum analyze');
        await client.end();
      }
    }

    const pa = await startInstanceProcess({ name: 'dev', kind: 'development', database: dbs[0].url, secretKey, adminToken: tokens[0], ids: true });
    processes.push(pa);
    const pb = await startInstanceProcess({ name: 'staging', kind: 'staging', database: dbs[1].url, secretKey, adminToken: tokens[1], ids: true });
    processes.push(pb);
    const A = { name: 'dev', url: pa.url, token: tokens[0] };
    const B = { name: 'staging', url: pb.url, token: tokens[1] };
    await linkInstances(A, B);

    // Bytes are counted on the peer's sockets: everything A and B exchanged, HTTP headers included.
    const status = async (list) => {
      const before = (await pb.bytes()).instance;
      const t = now();
      const answer = await api(A.url, A.token, 'GET', `/v1/instances/staging/status${list ? '?list=true' : ''}`);
      const ms = msSince(t);
      return { ms, bytes: (await pb.bytes()).instance - before, answer };
    };
    for (let i = 0; i < 3; i += 1) await status(false);
    const runs = [];
    for (let i = 0; i < STATUS_RUNS; i += 1) runs.push(await status(false));
    const listRuns = [];
    for (let i = 0; i < LIST_RUNS; i += 1) listRuns.push(await status(true));
    const last = runs[runs.length - 1].answer;
    if (last.ahead !== ONLY_A || last.behind !== generated.ownB) throw new Error(`status says ahead ${last.ahead}, behind ${last.behind}; expected ${ONLY_A}, ${generated.ownB}`);
    const listed = listRuns[listRuns.length - 1].answer;
    if ((listed.aheadChanges?.length ?? 0) !== ONLY_A || (listed.behindChanges?.length ?? 0) !== generated.ownB) throw new Error('status?list=true did not list every difference');

    // The naive full comparison: this side's ids from its database, the peer's over HTTP, diffed.
    const naiveRuns = [];
    for (let i = 0; i < NAIVE_RUNS; i += 1) {
      const before = (await pb.bytes()).ids;
      const t = now();
      const mine = await changeIdsOf(dbs[0].url);
      const theirs = await (await fetch(pb.idsUrl)).json();
      const mineSet = new Set(mine);
      const theirSet = new Set(theirs);
      let ahead = 0;
      let behind = 0;
      for (const id of mine) if (!theirSet.has(id)) ahead += 1;
      for (const id of theirs) if (!mineSet.has(id)) behind += 1;
      const ms = msSince(t);
      if (ahead !== ONLY_A || behind !== generated.ownB) throw new Error(`naive diff: ahead ${ahead}, behind ${behind}`);
      naiveRuns.push({ ms, bytes: (await pb.bytes()).ids - before });
    }

    for (const p of processes.splice(0)) await p.stop();

    // Upkeep in service: BURSTS times, INCREMENT tracked writes through the service, then the fold that the next status
    // would do. The first fold in a fresh process also pays one-time costs (statement shapes built, code not yet
    // optimised); it is reported beside the steady figure, the median of the others.
    const reopened = await prepareInstance(dbs[0].url, { name: 'dev', kind: 'development', secretKey, adminToken: tokens[0], knownActor: a.actor });
    const bursts = [];
    for (let burst = 0; burst < BURSTS; burst += 1) {
      for (let i = 0; i < INCREMENT; i += 1) {
        await reopened.services.config.create(reopened.ctx, 'teams', { name: `Upkeep team ${burst}.${i}`, description: 'Written after the summary was folded.' });
      }
      bursts.push(await timeFold(reopened));
    }
    await reopened.dialect.close();
    const steady = [...bursts.slice(1)].sort((x, y) => x.usPerChange - y.usPerChange);
    upkeep.increment = { ...steady[Math.floor(steady.length / 2)], first: bursts[0], bursts: bursts.map((b) => b.usPerChange) };

    const s = summarise(runs.map((r) => r.ms));
    const l = summarise(listRuns.map((r) => r.ms));
    const n = summarise(naiveRuns.map((r) => r.ms));
    const bytes = Math.max(...runs.map((r) => r.bytes));
    const naiveBytes = Math.max(...naiveRuns.map((r) => r.bytes));
    const upkeepUs = Math.max(upkeep.a.usPerChange, upkeep.b.usPerChange, upkeep.increment.usPerChange);
    return {
      engine,
      changes: { a: TOTAL, b: TOTAL, onlyA: ONLY_A, onlyB: generated.ownB },
      status: { p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, bytes, rounds: last.reconciliation?.rounds ?? null, runs: s.count },
      statusWithLists: { p50Ms: l.p50Ms, maxMs: l.maxMs, bytes: Math.max(...listRuns.map((r) => r.bytes)) },
      naive: { p50Ms: n.p50Ms, maxMs: n.maxMs, bytes: naiveBytes, runs: n.count },
      speedup: round(n.p50Ms / s.p50Ms, 1),
      upkeep: { ...upkeep, worstUsPerChange: upkeepUs },
      pass: { ms: s.p50Ms <= TARGET.ms, bytes: bytes <= TARGET.bytes, speedup: n.p50Ms / s.p50Ms >= TARGET.speedup, upkeep: upkeepUs <= TARGET.upkeepUs },
    };
  } finally {
    for (const p of processes) await p.stop().catch(() => undefined);
    if (process.env.SHIPLOG_BENCH_KEEP) note(`kept ${JSON.stringify({ urls: dbs.map((d) => d.url), secretKey, tokens })}`);
    else for (const db of dbs) await db.drop();
  }
}

const loadAtStart = loadavg();
const { results, skipped } = await runOnEngines(runEngine);

report(
  { figure: 'behind-ahead', target: TARGET, changes: TOTAL, results, skipped, load: { atStart: loadAtStart, atEnd: loadavg() } },
  results.flatMap((r) => [
    { engine: r.engine, what: 'status (exact behind/ahead)', p50Ms: r.status.p50Ms, p99Ms: r.status.p99Ms, bytes: r.status.bytes, rounds: r.status.rounds },
    { engine: r.engine, what: 'status with lists', p50Ms: r.statusWithLists.p50Ms, p99Ms: null, bytes: r.statusWithLists.bytes, rounds: null },
    { engine: r.engine, what: 'naive: load both id sets', p50Ms: r.naive.p50Ms, p99Ms: null, bytes: r.naive.bytes, rounds: 1 },
    { engine: r.engine, what: `speedup ${r.speedup}×; upkeep µs/change: fold ${r.upkeep.a.usPerChange} / ${r.upkeep.b.usPerChange}, after ${INCREMENT} writes ${r.upkeep.increment.usPerChange} (first in process ${r.upkeep.increment.first.usPerChange})`, p50Ms: null, p99Ms: null, bytes: null, rounds: null },
  ]),
);
