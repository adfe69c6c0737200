// Runs every benchmark in sequence (each in its own process), then prints the machine and a pass/fail summary.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { pgVersion, postgresAnswers } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const figures = ['tracked-writes.mjs', 'change-list.mjs', 'rollback.mjs', 'behind-ahead.mjs', 'push.mjs', 'promotion-requests.mjs', 'halo-api.mjs', 'console.mjs', 'console-pipeline.mjs', 'backup.mjs', 'metrics.mjs', 'scale-out.mjs'];
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const outArg = process.argv.find((a) => a.startsWith('--out='));

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line ? line.split(':')[1].trim() : cpus()[0]?.model;
  } catch {
    return cpus()[0]?.model;
  }
}

const memory = new BetterSqlite3(':memory:');
const machine = {
  cpus: cpus().length,
  cpuModel: cpuModel(),
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  sqlite: memory.prepare('select sqlite_version() as v').get().v,
  postgres: (await postgresAnswers()) ? await pgVersion() : 'not answering',
  loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
};
memory.close();
console.log(`machine: ${JSON.stringify(machine)}`);

const results = [];
for (const file of figures.filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))) {
  console.log(`\n=== ${file}`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(here, file)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 900_000 });
  process.stdout.write(run.stdout ?? '');
  const line = (run.stdout ?? '').split('\n').find((l) => l.startsWith('{"figure":'));
  if (run.status !== 0 || !line) {
    results.push({ figure: file, error: run.error?.message ?? `exit ${run.status}`, seconds: Math.round((Date.now() - started) / 1000) });
    continue;
  }
  results.push({ ...JSON.parse(line), seconds: Math.round((Date.now() - started) / 1000) });
}

const summary = [];
for (const r of results) {
  if (r.error) summary.push({ figure: r.figure, row: '—', value: r.error, target: '—', pass: 'ERROR' });
  else if (r.figure === 'tracked-writes') {
    for (const e of r.results) {
      summary.push({ figure: r.figure, row: `${e.engine} ratio service/raw`, value: `${e.ratio} (${e.service.opsPerSec} vs ${e.raw.opsPerSec} /s)`, target: `≥ ${r.target.ratio}`, pass: e.pass.ratio ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.engine} service p99`, value: `${e.service.p99Ms} ms`, target: `≤ ${r.target.p99Ms} ms`, pass: e.pass.p99 ? 'yes' : 'NO' });
    }
    for (const s of r.skipped) summary.push({ figure: r.figure, row: s.engine, value: s.reason, target: '—', pass: 'skipped' });
  } else if (r.figure === 'change-list') {
    for (const e of r.results) {
      summary.push({ figure: r.figure, row: `${e.range}: p50 / p99`, value: `${e.service.p50Ms} / ${e.service.p99Ms} ms`, target: `≤ ${r.target.p50Ms} / ${r.target.p99Ms} ms`, pass: e.pass.p50 && e.pass.p99 ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.range}: × raw (p50)`, value: `${e.ratioP50}`, target: `≤ ${r.target.ratio}`, pass: e.pass.ratio ? 'yes' : 'NO' });
    }
  } else if (r.figure === 'push') {
    for (const e of r.results) {
      summary.push({ figure: r.figure, row: `${e.engine} push of ${e.changes}: changes/s (median / best)`, value: `${e.changesPerSec.median} / ${e.changesPerSec.best}`, target: `≥ ${r.target.changesPerSec[e.engine]}`, pass: e.pass.changesPerSec ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.engine} plan (dry run), median`, value: `${e.planMs.median} ms`, target: '—', pass: '—' });
    }
    for (const s of r.skipped) summary.push({ figure: r.figure, row: s.engine, value: s.reason, target: '—', pass: 'skipped' });
  } else if (r.figure === 'promotion-requests') {
    summary.push({ figure: r.figure, row: `create a request of ${r.changes} ÷ dry run (median of trials)`, value: `${r.createRatio} (${r.medians.createMs} vs ${r.medians.dryRunMs} ms)`, target: `≤ ${r.target.createRatio}`, pass: r.pass.create ? 'yes' : 'NO' });
    summary.push({ figure: r.figure, row: `apply the approved request ÷ direct (median of trials)`, value: `${r.applyRatio} (${r.medians.applyMs} vs ${r.medians.directMs} ms)`, target: `≤ ${r.target.applyRatio}`, pass: r.pass.apply ? 'yes' : 'NO' });
  } else if (r.figure === 'rollback') {
    for (const e of r.results) {
      summary.push({ figure: r.figure, row: `rollback of ${e.changes}, ${e.bodies} bodies`, value: `${e.rollbackMs} ms`, target: `≤ ${r.target.ms} ms`, pass: e.pass ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `dry run, ${e.bodies} bodies`, value: `${e.dryRunMs} ms`, target: '—', pass: '—' });
    }
  } else if (r.figure === 'halo-api') {
    for (const e of r.results) {
      summary.push({ figure: r.figure, row: `${e.engine} /api/Tickets page ÷ /v1 (p95)`, value: `${e.ticketsPage.ratioP95} (${e.ticketsPage.haloP95Ms} vs ${e.ticketsPage.v1P95Ms} ms)`, target: `≤ ${r.target.ratioP95}`, pass: e.pass.ratio ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.engine} POST /api/Asset of ${e.assetPost.records} (p95)`, value: `${e.assetPost.p95Ms} ms`, target: e.engine === 'sqlite' ? `≤ ${r.target.assetPostP95Ms} ms` : '—', pass: e.pass.assetPost ? 'yes' : 'NO' });
    }
    for (const s of r.skipped) summary.push({ figure: r.figure, row: s.engine, value: s.reason, target: '—', pass: 'skipped' });
  } else if (r.figure === 'metrics-scrape') {
    for (const e of r.results) summary.push({ figure: r.figure, row: `${e.engine} scrape p99 (inside the process; /healthz p99)`, value: `${e.p99Ms} ms (${e.insideP99Ms}; ${e.healthzP99Ms} ms)`, target: `≤ ${r.target.p99Ms} ms`, pass: e.meetsTarget ? 'yes' : 'NO' });
  } else if (r.figure === 'scale-out') {
    for (const e of r.results ?? []) summary.push({ figure: r.figure, row: `${e.processes} process(es): writes/s, p99; reads/s, p99`, value: `${e.writesPerSec}, ${e.writeP99Ms} ms; ${e.readsPerSec}, ${e.readP99Ms} ms`, target: '—', pass: e.failures === 0 ? '—' : `${e.failures} failed` });
  } else if (r.figure === 'behind-ahead') {
    for (const e of r.results) {
      summary.push({ figure: r.figure, row: `${e.engine} status, exact (p50)`, value: `${e.status.p50Ms} ms (naive ${e.naive.p50Ms} ms)`, target: `≤ ${r.target.ms} ms`, pass: e.pass.ms ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.engine} bytes on the wire`, value: `${e.status.bytes} (naive ${e.naive.bytes})`, target: `≤ ${r.target.bytes}`, pass: e.pass.bytes ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.engine} faster than naive`, value: `${e.speedup}×`, target: `≥ ${r.target.speedup}×`, pass: e.pass.speedup ? 'yes' : 'NO' });
      summary.push({ figure: r.figure, row: `${e.engine} summary upkeep`, value: `${e.upkeep.worstUsPerChange} µs/change`, target: `≤ ${r.target.upkeepUs} µs`, pass: e.pass.upkeep ? 'yes' : 'NO' });
    }
    for (const s of r.skipped) summary.push({ figure: r.figure, row: s.engine, value: s.reason, target: '—', pass: 'skipped' });
  } else if (r.figure === 'backup') {
    summary.push({ figure: r.figure, row: `backup of ${r.changes} changes (copy + verify)`, value: `${r.backupSeconds} s (${r.copySeconds} + ${r.verifySeconds})`, target: '—', pass: '—' });
    summary.push({ figure: r.figure, row: 'writes p99 during ÷ before', value: `${r.p99Ratio} (${r.writesDuring.p99Ms} vs ${r.writesBefore.p99Ms} ms)`, target: `≤ ${r.target.p99Ratio}`, pass: r.pass ? 'yes' : 'NO' });
  }
}
machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
console.log('\n=== summary');
console.table(summary);
const all = { machine, results };
console.log(JSON.stringify(all));
if (outArg) writeFileSync(outArg.slice('--out='.length), `${JSON.stringify(all, null, 2)}\n`);
process.exitCode = results.some((r) => r.error) ? 1 : 0;
