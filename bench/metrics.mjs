// Figure: a scrape of /metrics (the Prometheus text of a serving instance, its gauges read from the database at each
// scrape), p99 against a 10 ms target. The instance is `shiplog serve --metrics-port 0` in a process of its own;
// traffic on many routes first, so the scrape carries the series a working instance has.
import { spawnServe } from './serve-process.mjs';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { note, report, round, runOnEngines, summarise, tempPostgres, tempSqlite, timeLoop } from './support.mjs';

const TARGET = { p99Ms: 10 };
const WARMUP = 50;
const SCRAPES = { maxCount: 1000, maxMs: 20_000 };
const TRAFFIC = 600;

async function runEngine(engine) {
  const store = engine === 'sqlite' ? tempSqlite('metrics') : await tempPostgres('metrics');
  const adminToken = `bench-${randomBytes(18).toString('base64url')}`;
  const token = `scrape-${randomBytes(18).toString('base64url')}`;
  const running = await spawnServe({ name: 'bench', database: store.url, adminToken, port: 0, metricsPort: 0, env: { SHIPLOG_METRICS_TOKEN: token } });
  try {
    const auth = { authorization: `Bearer ${adminToken}` };
    note(`${engine}: ${TRAFFIC} requests on a spread of routes and statuses`);
    for (let i = 0; i < TRAFFIC; i += 1) {
      const kind = i % 6;
      if (kind === 0) await fetch(`${running.url}/v1/config/teams`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: `Team ${i}` }) });
      else if (kind === 1) await fetch(`${running.url}/v1/changes?limit=20`, { headers: auth });
      else if (kind === 2) await fetch(`${running.url}/v1/config/teams/no-such-${i}`, { headers: auth });
      else if (kind === 3) await fetch(`${running.url}/v1/instance`, { headers: { authorization: 'Bearer not-a-token' } });
      else if (kind === 4) await fetch(`${running.url}/readyz`);
      else await fetch(`${running.url}/v1/catalog`, { headers: auth });
    }
    const scrape = async () => {
      const res = await fetch(running.metricsUrl, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
      return res.text();
    };
    const text = await scrape();
    for (let i = 0; i < WARMUP; i += 1) await scrape();
    note(`${engine}: scraping (${text.split('\n').filter((l) => l && !l.startsWith('#')).length} series, ${text.length} bytes)`);
    // Beside each scrape, GET /healthz (no database, no work): on a shared machine its p99 is what the load alone costs.
    const health = [];
    // The time each scrape took inside the server (shiplog_metrics_scrape_duration_seconds, the previous scrape's).
    const inside = [];
    const insideOf = (body) => Number(/^shiplog_metrics_scrape_duration_seconds (\S+)$/m.exec(body)?.[1]) * 1000;
    const { latencies, elapsedMs } = await timeLoop(async () => {
      inside.push(insideOf(await scrape()));
      const t = performance.now();
      await (await fetch(`${running.url}/healthz`)).text();
      health.push(performance.now() - t);
    }, SCRAPES);
    const stats = summarise(latencies, elapsedMs);
    const baseline = summarise(health);
    const server = summarise(inside.slice(1));
    return {
      engine,
      series: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
      bytes: text.length,
      ...stats,
      insideP50Ms: server.p50Ms,
      insideP99Ms: server.p99Ms,
      healthzP50Ms: baseline.p50Ms,
      healthzP99Ms: baseline.p99Ms,
      meetsTarget: stats.p99Ms <= TARGET.p99Ms,
    };
  } finally {
    await running.stop();
    await store.drop();
  }
}

const { results, skipped } = await runOnEngines(runEngine);
const load = loadavg().map((l) => round(l, 2));
report(
  { figure: 'metrics-scrape', target: TARGET, loadAverage: load, results, skipped, pass: results.every((r) => r.meetsTarget) },
  results.map((r) => ({ engine: r.engine, series: r.series, bytes: r.bytes, scrapes: r.count, p50Ms: r.p50Ms, p99Ms: r.p99Ms, insideP99Ms: r.insideP99Ms, healthzP50Ms: r.healthzP50Ms, healthzP99Ms: r.healthzP99Ms, target: `p99 ≤ ${TARGET.p99Ms} ms`, loadAverage: load.join(' ') })),
);
