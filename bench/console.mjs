// Console figures in real Chromium: the JavaScript the first screen needs (sign-in → change list), over 1,000,000
// changes the time from navigation to the first 50 rows painted and from a filter change to the new rows painted, and
// the change detail of an entity with a 1 MB body from navigation to its diff painted.
/* global window, document, MutationObserver, requestAnimationFrame, Event -- the page functions run in the browser */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { api, prepareInstance, note, report, round, seedChangeLog, startInstanceProcess, summarise, tempSqlite } from './support.mjs';

const TOTAL = Number(process.env.SHIPLOG_BENCH_CHANGES ?? 1_000_000);
const LOADS = 20;
const FILTER_CHANGES = 20;
const TYPES = 50;
const DAY = 86_400_000;
const DETAIL_LOADS = 20;
const TARGET = { firstScreenKb: 250, loadP50Ms: 400, loadP95Ms: 800, filterP95Ms: 300, bigDetailMaxMs: 1000 };
// A runbook of 12 steps with ~83 KB bodies: ~1 MB in all, within the API's 1 MiB request limit.
const BIG_STEPS = 12;
const BIG_STEP_BYTES = 83_000;
const PASSWORD = 'bench console password';
// Tall enough that the first 50 rows are all on screen, not just rendered.
const VIEWPORT = { width: 1400, height: 2400 };

const loadAtStart = loadavg();
const secretKey = randomBytes(32).toString('base64');
const adminToken = `shp_bench_${randomBytes(24).toString('base64url')}`;
const db = tempSqlite('console');
const prepared = await prepareInstance(db.url, { name: 'bench', kind: 'production', secretKey, adminToken, adminPassword: PASSWORD });
const types = prepared.services.catalog
  .list()
  .filter((def) => def.tracking.kind !== 'local')
  .map((def) => def.key)
  .slice(0, TYPES);
note(`console: seeding ${TOTAL} changes over ${types.length} types`);
const start = Date.now() - 365 * DAY;
const { raw } = seedChangeLog(db.url, { origin: prepared.identity.id, types, actor: prepared.actor, keys: prepared.keys, total: TOTAL, start, span: 365 * DAY - DAY });
raw.close();
await prepared.dialect.close();

const instance = await startInstanceProcess({ name: 'bench', kind: 'production', database: db.url, secretKey, adminToken });

/** A runbook whose steps carry ~1 MB of request bodies; `variant` renames two steps and edits one body in the middle. */
function bigRunbook(variant) {
  const steps = Array.from({ length: BIG_STEPS }, (_, i) => {
    const body = JSON.stringify({ step: i, rows: 'x'.repeat(BIG_STEP_BYTES - 40) });
    return { id: `step-${i}`, name: `Step ${i}${variant && (i === 2 || i === 9) ? ' (revised)' : ''}`, method: 'POST', path: `/import/${i}`, body: variant && i === 5 ? body.replace('"rows":"xxxx', '"rows":"yyyy') : body };
  });
  return { name: 'Nightly bulk import', description: variant ? 'Imports the nightly extract, revised.' : 'Imports the nightly extract.', baseUrl: 'https://erp.example.com', steps, enabledInstances: [] };
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const bigCreated = await api(instance.url, adminToken, 'POST', '/v1/config/runbooks', bigRunbook(0));
  const bigChange = { id: (await api(instance.url, adminToken, 'PUT', `/v1/config/runbooks/${bigCreated.entity.id}`, bigRunbook(1))).changeId };
  const bigBodyKb = round(JSON.stringify(bigRunbook(1)).length / 1024, 1);

  // First screen: a fresh browser (nothing cached) signs in and lands on the change list; every script it fetched.
  const fresh = await browser.newContext({ viewport: VIEWPORT });
  const page = await fresh.newPage();
  const scripts = new Map();
  page.on('response', async (response) => {
    if (response.request().resourceType() !== 'script') return;
    const headers = await response.allHeaders();
    scripts.set(new URL(response.url()).pathname, { encoding: headers['content-encoding'] ?? 'identity', bytes: (await response.body().catch(() => Buffer.alloc(0))).length, wire: Number(headers['content-length'] ?? 0) });
  });
  await page.goto(`${instance.url}/changes`);
  await page.getByLabel('Email').fill('admin@shiplog.local');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForSelector('[data-change-id]');
  const firstScreen = [...scripts.entries()].map(([path, s]) => ({ path, encoding: s.encoding, compressedKb: round(s.wire / 1024, 1), rawKb: round(s.bytes / 1024, 1) }));
  const firstScreenKb = round(firstScreen.reduce((sum, s) => sum + s.compressedKb, 0), 1);
  // The change detail's code is fetched only when a change is opened.
  const before = new Set(scripts.keys());
  await page.locator('[data-change-id] a').first().click();
  await page.waitForSelector('text=Before and after');
  const detailOnly = [...scripts.keys()].filter((path) => !before.has(path));

  // Navigation to the first 50 rows painted, 20 loads in the signed-in browser (assets cached as a returning person has them).
  await page.addInitScript(() => {
    const observer = new MutationObserver(() => {
      if (document.querySelectorAll('[data-change-id]').length < 50) return;
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => (window.__rowsPainted = performance.now())));
    });
    observer.observe(document, { childList: true, subtree: true });
  });
  const loads = [];
  for (let i = 0; i < LOADS; i += 1) {
    await page.goto(`${instance.url}/changes`);
    await page.waitForFunction(() => window.__rowsPainted !== undefined, null, { timeout: 30_000 });
    loads.push(await page.evaluate(() => window.__rowsPainted));
  }

  // A filter changed to the new rows painted: the type filter, a different type each time.
  const filters = [];
  for (let i = 0; i < FILTER_CHANGES; i += 1) {
    const type = types[(i * 7) % types.length];
    filters.push(
      await page.evaluate(async (next) => {
        const select = document.querySelector('select[aria-label="Filter by type"]');
        const t0 = performance.now();
        select.value = next;
        select.dispatchEvent(new Event('change', { bubbles: true }));
        await new Promise((resolve) => {
          const check = () => {
            const rows = [...document.querySelectorAll('[data-change-id]')];
            if (rows.length >= 50 && rows.every((r) => r.dataset.type === next)) requestAnimationFrame(() => resolve());
            else requestAnimationFrame(check);
          };
          check();
        });
        return performance.now() - t0;
      }, type),
    );
  }

  // The change detail of the 1 MB runbook's update: navigation to its diff painted, in a fresh tab each time.
  const details = [];
  for (let i = 0; i < DETAIL_LOADS; i += 1) {
    const tab = await fresh.newPage();
    await tab.addInitScript(() => {
      const observer = new MutationObserver(() => {
        if (!document.querySelector('[data-testid="field-diff"] tbody tr')) return;
        observer.disconnect();
        requestAnimationFrame(() => requestAnimationFrame(() => (window.__diffPainted = performance.now())));
      });
      observer.observe(document, { childList: true, subtree: true });
    });
    await tab.goto(`${instance.url}/changes/${bigChange.id}`);
    await tab.waitForFunction(() => window.__diffPainted !== undefined, null, { timeout: 30_000 });
    details.push(await tab.evaluate(() => window.__diffPainted));
    await tab.close();
  }

  const load = summarise(loads);
  const filter = summarise(filters);
  const detail = summarise(details);
  const result = {
    figure: 'console',
    changes: TOTAL,
    firstScreen: { kb: firstScreenKb, scripts: firstScreen },
    detailScripts: detailOnly,
    navigationToRows: load,
    filterToRows: filter,
    bigChangeDetail: { bodyKb: bigBodyKb, changeId: bigChange.id, navigationToDiff: detail },
    target: TARGET,
    pass: {
      firstScreen: firstScreenKb <= TARGET.firstScreenKb,
      detailSplit: detailOnly.length > 0,
      loadP50: load.p50Ms <= TARGET.loadP50Ms,
      loadP95: load.p95Ms <= TARGET.loadP95Ms,
      filterP95: filter.p95Ms <= TARGET.filterP95Ms,
      bigDetail: detail.maxMs <= TARGET.bigDetailMaxMs,
    },
    loadAverage: { start: loadAtStart.map((l) => round(l, 2)), end: loadavg().map((l) => round(l, 2)) },
  };
  report(result, [
    { figure: 'first screen JavaScript (KB, compressed)', value: firstScreenKb, target: `≤ ${TARGET.firstScreenKb}` },
    { figure: 'change detail loads its own code', value: detailOnly.join(' '), target: 'at least one script' },
    { figure: `navigation → 50 rows painted p50 (ms, ${LOADS} loads)`, value: round(load.p50Ms, 1), target: `≤ ${TARGET.loadP50Ms}` },
    { figure: 'navigation → 50 rows painted p95 (ms)', value: round(load.p95Ms, 1), target: `≤ ${TARGET.loadP95Ms}` },
    { figure: `filter → new rows painted p50 (ms, ${FILTER_CHANGES} changes)`, value: round(filter.p50Ms, 1), target: '' },
    { figure: 'filter → new rows painted p95 (ms)', value: round(filter.p95Ms, 1), target: `≤ ${TARGET.filterP95Ms}` },
    { figure: `change detail, ${bigBodyKb} KB body: navigation → diff painted p50 (ms, ${DETAIL_LOADS} loads)`, value: round(detail.p50Ms, 1), target: '' },
    { figure: 'change detail, 1 MB body: navigation → diff painted p95 (ms)', value: round(detail.p95Ms, 1), target: '' },
    { figure: 'change detail, 1 MB body: navigation → diff painted max (ms)', value: round(detail.maxMs, 1), target: `≤ ${TARGET.bigDetailMaxMs}` },
  ]);
} finally {
  await browser.close();
  await instance.stop();
  db.drop?.();
}
