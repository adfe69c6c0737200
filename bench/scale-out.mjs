// Figure: three `shiplog serve` processes on one PostgreSQL database against one, same load, same run: throughput and
// p99 of tracked writes (POST /v1/config/teams) and of change-list reads (GET /v1/changes). Clients spread their
// requests over the processes in turn (as a round-robin balancer would, without a proxy's own cost in the figure);
// blocks alternate one, three, one, three … so the machine's background load falls on both alike.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServe } from './serve-process.mjs';
import { note, postgresAnswers, report, round, summarise, tempPostgres } from './support.mjs';

const CLIENTS = 8;
const BLOCK_MS = 6000;
const ROUNDS = 3;
const WARMUP_MS = 2000;

async function block(targets, adminToken, ms, tag) {
  const headers = { authorization: `Bearer ${adminToken}` };
  const writes = [];
  const reads = [];
  let failures = 0;
  let turn = 0;
  const deadline = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let n = 0; performance.now() < deadline; n += 1) {
        const url = targets[turn++ % targets.length];
        const t = performance.now();
        const res =
          n % 2 === 0
            ? await fetch(`${url}/v1/config/teams`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: `${tag} ${c}-${n}` }) })
            : await fetch(`${url}/v1/changes?limit=50`, { headers });
        await res.arrayBuffer();
        if (res.status >= 300) failures += 1;
        (n % 2 === 0 ? writes : reads).push(performance.now() - t);
      }
    }),
  );
  return { writes, reads, failures, elapsedMs: performance.now() - started };
}

if (!(await postgresAnswers())) {
  report({ figure: 'scale-out', skipped: [{ engine: 'postgres', reason: 'PostgreSQL at the admin URL does not answer' }], results: [] });
  process.exit(0);
}
const store = await tempPostgres('scaleout');
const dir = mkdtempSync(join(tmpdir(), 'shiplog-bench-scaleout-'));
const adminToken = `bench-${randomBytes(18).toString('base64url')}`;
const options = { name: 'bench', database: store.url, adminToken, keyFile: join(dir, 'bench.key') };
const processes = [];
try {
  // The first start migrates and makes the administrator; the other two find both done.
  processes.push(await spawnServe(options));
  processes.push(...(await Promise.all([spawnServe(options), spawnServe(options)])));
  const one = [processes[0].url];
  const three = processes.map((p) => p.url);
  const loadAtStart = loadavg().map((l) => round(l, 2));
  note('warming up');
  await block(three, adminToken, WARMUP_MS, 'warm');
  const sides = { one: { writes: [], reads: [], failures: 0, ms: 0 }, three: { writes: [], reads: [], failures: 0, ms: 0 } };
  for (let r = 0; r < ROUNDS; r += 1) {
    for (const [side, targets] of [['one', one], ['three', three]]) {
      note(`round ${r + 1}: ${side} process(es)`);
      const b = await block(targets, adminToken, BLOCK_MS, `${side}${r}`);
      sides[side].writes.push(...b.writes);
      sides[side].reads.push(...b.reads);
      sides[side].failures += b.failures;
      sides[side].ms += b.elapsedMs;
    }
  }
  const results = Object.entries(sides).map(([side, s]) => {
    const writes = summarise(s.writes, s.ms);
    const reads = summarise(s.reads, s.ms);
    return { processes: side === 'one' ? 1 : 3, writesPerSec: writes.opsPerSec, writeP99Ms: writes.p99Ms, readsPerSec: reads.opsPerSec, readP99Ms: reads.p99Ms, requests: writes.count + reads.count, failures: s.failures };
  });
  const loadAtEnd = loadavg().map((l) => round(l, 2));
  report(
    { figure: 'scale-out', clients: CLIENTS, blockMs: BLOCK_MS, rounds: ROUNDS, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd, results },
    results.map((r) => ({ ...r, loadAverage: loadAtEnd.join(' ') })),
  );
} finally {
  for (const p of processes) await p.stop();
  await store.drop();
  rmSync(dir, { recursive: true, force: true });
}
