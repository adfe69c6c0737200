// Issue 16, figure 4: the console's pipeline page for three instances of 1,000,000 changes each, 100 apart, painted
// in real Chromium: from navigation to every linked instance's card showing its behind and ahead counts.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { changeRow, LogWriter } from './change-logs.mjs';
import { linkInstances, msSince, note, now, prepareInstance, report, round, runOnEngines, startInstanceProcess, summarise, tempPostgres, tempSqlite } from './support.mjs';

const TOTAL = Number(process.env.SHIPLOG_BENCH_PIPELINE_CHANGES ?? 1_000_000);
/** Changes each stage lacks of the one before it, and has of its own. */
const APART = 100;
const LOADS = 20;
const TARGET = { paintedMs: 1_000 };
const PASSWORD = 'a console password for the benchmark';
const stages = [
  ['dev', 'development'],
  ['staging', 'staging'],
  ['production', 'production'],
];

/** Positions spread over the log, `count` of them, shifted by `offset` so stages do not pick the same ones. */
const spread = (count, first, offset) => new Set(Array.from({ length: count }, (_, i) => first + offset + Math.floor((i * (TOTAL - first)) / count)));

/** dev's TOTAL changes; staging lacks APART of them and has APART of its own; production the same from staging. */
async function generate(engine, prepared) {
  const writers = await Promise.all(prepared.map((p) => LogWriter.open(engine, p.url, p.keys)));
  const [dev, staging, production] = writers;
  for (const stored of dev.existing) {
    await staging.copy(stored);
    await production.copy(stored);
  }
  const first = dev.existing.length + 1;
  const skipStaging = spread(APART, first, 7);
  const skipProduction = spread(APART, first, 11);
  const ownStaging = spread(APART - staging.existing.length, first, 3);
  const ownProduction = spread(APART - production.existing.length, first, 5);
  const stagingOwn = [];
  for (let n = first; n <= TOTAL; n += 1) {
    const row = changeRow(prepared[0].identity.id, 0, n, prepared[0].actor);
    await dev.add(row);
    if (!skipStaging.has(n)) {
      await staging.add(row);
      if (!skipProduction.has(n)) await production.add(row);
    }
    if (ownStaging.has(n)) {
      const own = changeRow(prepared[1].identity.id, 1, staging.seq + 1, prepared[1].actor);
      await staging.add(own);
      stagingOwn.push(own);
    }
    // Production holds staging's own changes but for the last few, and its own hotfixes.
    if (ownProduction.has(n)) {
      const given = stagingOwn.shift();
      if (given) await production.add(given);
      await production.add(changeRow(prepared[2].identity.id, 2, production.seq + 1, prepared[2].actor));
    }
    if (n % 250_000 === 0) note(`console-pipeline ${engine}: ${n} changes`);
  }
  const counts = writers.map((w) => w.seq);
  for (const w of writers) await w.close();
  return counts;
}

async function runEngine(engine) {
  const secretKey = randomBytes(32).toString('base64');
  const dbs = engine === 'sqlite' ? stages.map(([name]) => tempSqlite(`pipeline-${name}`)) : await Promise.all(stages.map(([name]) => tempPostgres(`pipeline_${name}`)));
  const tokens = stages.map(() => `shp_bench_${randomBytes(24).toString('base64url')}`);
  const processes = [];
  let browser;
  try {
    const prepared = [];
    for (const [i, [name, kind]] of stages.entries()) {
      prepared.push({ ...(await prepareInstance(dbs[i].url, { name, kind, secretKey, adminToken: tokens[i], adminPassword: PASSWORD })), url: dbs[i].url });
    }
    note(`console-pipeline ${engine}: writing three logs of ${TOTAL} changes`);
    const counts = await generate(engine, prepared);
    for (const p of prepared) await p.dialect.close();
    if (engine === 'postgres') {
      for (const db of dbs) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query('vacuum analyze');
        await client.end();
      }
    }

    for (const [i, [name, kind]] of stages.entries()) processes.push(await startInstanceProcess({ name, kind, database: dbs[i].url, secretKey, adminToken: tokens[i] }));
    const [dev, staging, production] = stages.map(([name], i) => ({ name, url: processes[i].url, token: tokens[i] }));
    await linkInstances(dev, staging);
    await linkInstances(staging, dev, { source: true });
    await linkInstances(staging, production);
    await linkInstances(production, staging, { source: true });

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${staging.url}/sign-in`);
    await page.getByLabel('Email').fill('admin@shiplog.local');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor({ timeout: 60_000 });

    // Painted: both linked instances' cards show their counts (the summaries are folded by the first, untimed, load).
    const load = async () => {
      const t = now();
      await page.goto(`${staging.url}/instances`);
      await page.locator('[data-instance="production"] [data-testid="behind-ahead"]').waitFor({ timeout: 60_000 });
      await page.locator('[data-instance="dev"] [data-testid="behind-ahead"]').waitFor({ timeout: 60_000 });
      return msSince(t);
    };
    await load();
    await load();
    const runs = [];
    for (let i = 0; i < LOADS; i += 1) runs.push(await load());
    const cards = {
      dev: await page.locator('[data-instance="dev"] [data-testid="behind-ahead"]').innerText(),
      production: await page.locator('[data-instance="production"] [data-testid="behind-ahead"]').innerText(),
    };
    const s = summarise(runs);
    const p95 = [...runs].sort((a, b) => a - b)[Math.ceil(0.95 * runs.length) - 1];
    return {
      engine,
      changes: { dev: counts[0], staging: counts[1], production: counts[2] },
      cards,
      painted: { p50Ms: round(s.p50Ms, 1), p95Ms: round(p95, 1), maxMs: round(s.maxMs, 1), loads: s.count },
      pass: p95 <= TARGET.paintedMs,
    };
  } finally {
    await browser?.close();
    for (const p of processes) await p.stop().catch(() => undefined);
    for (const db of dbs) await db.drop();
  }
}

const loadAtStart = loadavg();
const { results, skipped } = await runOnEngines(runEngine);

report(
  { figure: 'console-pipeline', target: TARGET, changes: TOTAL, apart: APART, results, skipped, load: { atStart: loadAtStart, atEnd: loadavg() } },
  results.map((r) => ({ engine: r.engine, what: `pipeline page painted (dev ${r.cards.dev}; production ${r.cards.production})`, p50Ms: r.painted.p50Ms, p95Ms: r.painted.p95Ms, maxMs: r.painted.maxMs, pass: r.pass })),
);
