// Figure: `shiplog backup` of a 1,000,000-change SQLite instance while it serves tracked writes — the backup's time
// (copy and verification), and the writes' latency during the backup against before it (target: p99 at most 2×).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, msSince, note, now, prepareInstance, report, round, seedChangeLog, startInstanceProcess, summarise, teamBody, tempSqlite } from './support.mjs';

const TOTAL = Number(process.env.SHIPLOG_BENCH_CHANGES ?? 1_000_000);
const TYPES = 50;
const TEAMS = 100;
const WARMUP = 300;
const BEFORE_MS = Number(process.env.SHIPLOG_BENCH_BEFORE_MS ?? 20_000);
const TARGET = { p99Ratio: 2 };
const DAY = 86_400_000;

const here = dirname(fileURLToPath(import.meta.url));
const loadAtStart = loadavg();
const secretKey = randomBytes(32).toString('base64');
const adminToken = `shp_bench_${randomBytes(24).toString('base64url')}`;
const db = tempSqlite('backup');

/** Tracked writes (PUT of a ~2 KB team) one after another until `until()` says stop; their latencies in ms. */
let revision = 0;
async function writeWhile(url, ids, until) {
  const latencies = [];
  /** When each write started, in ms after the first. */
  const starts = [];
  const begin = now();
  for (let i = 0; !until(i); i += 1) {
    const t = now();
    revision += 1;
    await api(url, adminToken, 'PUT', `/v1/config/teams/${ids[i % ids.length]}`, teamBody(i % ids.length, revision));
    latencies.push(msSince(t));
    starts.push(Number(t - begin) / 1e6);
  }
  return { latencies, starts, elapsedMs: msSince(begin) };
}

/** Runs `shiplog backup --json` as an operator would; resolves with its answer and wall time. */
function backup(to) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(process.execPath, [join(here, '../bin/shiplog.js'), 'backup', '--database', db.url, '--to', to, '--json'], {
      env: { ...process.env, SHIPLOG_SECRET_KEY: secretKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => (code === 0 ? resolve({ ...JSON.parse(stdout), wallSeconds: msSince(start) / 1000 }) : reject(new Error(`backup exited ${code}: ${stderr}`))));
  });
}

let served;
try {
  const prepared = await prepareInstance(db.url, { name: 'bench', kind: 'production', secretKey, adminToken });
  const types = prepared.services.catalog
    .list()
    .filter((def) => def.tracking.kind !== 'local')
    .map((def) => def.key)
    .slice(0, TYPES);
  await prepared.dialect.close();
  note(`backup: inserting ${TOTAL} verifiable changes`);
  const seedStart = now();
  const { raw } = seedChangeLog(db.url, { origin: prepared.identity.id, types, actor: prepared.actor, keys: prepared.keys, total: TOTAL, start: Date.now() - 365 * DAY, span: 364 * DAY, verifiable: true });
  raw.close();
  note(`backup: seeded in ${(msSince(seedStart) / 1000).toFixed(1)} s, ${(statSync(db.url).size / 2 ** 20).toFixed(0)} MiB`);

  served = await startInstanceProcess({ name: 'bench', kind: 'production', database: db.url, secretKey, adminToken, rateLimit: 0 });
  const ids = [];
  for (let i = 0; i < TEAMS; i += 1) ids.push((await api(served.url, adminToken, 'POST', '/v1/config/teams', teamBody(i, 0))).entity.id);

  note(`backup: ${WARMUP} warm-up writes, then tracked writes for ${BEFORE_MS / 1000} s before the backup`);
  await writeWhile(served.url, ids, (i) => i >= WARMUP);
  const deadline = now() + BigInt(BEFORE_MS) * 1_000_000n;
  const before = await writeWhile(served.url, ids, () => now() > deadline);

  note('backup: shiplog backup while the writes go on');
  const to = join(dirname(db.url), 'backup.sqlite');
  let done = false;
  const running = backup(to).finally(() => (done = true));
  const [result, during] = await Promise.all([running, writeWhile(served.url, ids, () => done)]);

  const beforeStats = summarise(before.latencies, before.elapsedMs);
  const duringStats = summarise(during.latencies, during.elapsedMs);
  // The writes that started while the source was being copied (the verification reads only the copy): the copy ends
  // where the verification began, counted back from the process's end (its start-up comes before the copy).
  const copyEndMs = (result.wallSeconds - result.verifySeconds) * 1000;
  const copyStartMs = copyEndMs - result.copySeconds * 1000;
  const inCopy = during.latencies.filter((_, i) => during.starts[i] >= copyStartMs && during.starts[i] <= copyEndMs);
  const duringCopyStats = inCopy.length > 0 ? summarise(inCopy, result.copySeconds * 1000) : null;
  const p99Ratio = round(duringStats.p99Ms / beforeStats.p99Ms, 2);
  report(
    {
      figure: 'backup',
      changes: result.changes,
      backupBytes: result.bytes,
      backupSeconds: round(result.wallSeconds, 1),
      copySeconds: round(result.copySeconds, 1),
      verifySeconds: round(result.verifySeconds, 1),
      writesBefore: beforeStats,
      writesDuring: duringStats,
      writesDuringCopy: duringCopyStats,
      p99Ratio,
      p99RatioDuringCopy: duringCopyStats ? round(duringCopyStats.p99Ms / beforeStats.p99Ms, 2) : null,
      target: TARGET,
      pass: p99Ratio <= TARGET.p99Ratio,
      loadAverage: { start: loadAtStart.map((l) => round(l, 2)), end: loadavg().map((l) => round(l, 2)) },
    },
    [
      { what: 'backup (wall, s)', value: round(result.wallSeconds, 1) },
      { what: '  copy (s)', value: round(result.copySeconds, 1) },
      { what: '  verify (s)', value: round(result.verifySeconds, 1) },
      { what: 'changes verified', value: result.changes },
      { what: 'writes before: p50 / p99 ms', value: `${beforeStats.p50Ms} / ${beforeStats.p99Ms} (${beforeStats.count})` },
      { what: 'writes during: p50 / p99 ms', value: `${duringStats.p50Ms} / ${duringStats.p99Ms} (${duringStats.count})` },
      { what: '  of which during the copy: p50 / p99 ms', value: duringCopyStats ? `${duringCopyStats.p50Ms} / ${duringCopyStats.p99Ms} (${duringCopyStats.count})` : '—' },
      { what: 'p99 during / before', value: p99Ratio },
    ],
  );
} finally {
  await served?.stop();
  db.drop();
}
