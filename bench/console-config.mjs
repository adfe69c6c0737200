// Configuration screens in real Chromium: over a type with 10,000 entities, the time from navigation to the list's first
// rows painted, and from Save in an entity's form to its change painted in the change list.
/* global window, document, location, MutationObserver, requestAnimationFrame -- the page functions run in the browser */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { note, prepareInstance, report, round, startInstanceProcess, summarise, teamBody, tempSqlite } from './support.mjs';

const ENTITIES = Number(process.env.SHIPLOG_BENCH_ENTITIES ?? 10_000);
const LOADS = 20;
const SAVES = 20;
// The list's first page: the rows the first request brings.
const FIRST_ROWS = 100;
const TARGET = { listP95Ms: 500, saveP95Ms: 300 };
const PASSWORD = 'bench console password';
// Tall enough that the first 100 rows are all on screen, not just rendered.
const VIEWPORT = { width: 1400, height: 4000 };

const loadAtStart = loadavg();
const secretKey = randomBytes(32).toString('base64');
const adminToken = `shp_bench_${randomBytes(24).toString('base64url')}`;
const db = tempSqlite('console-config');
const prepared = await prepareInstance(db.url, { name: 'bench', kind: 'development', secretKey, adminToken, adminPassword: PASSWORD });
note(`console-config: writing ${ENTITIES} teams`);
let teamId;
for (let i = 0; i < ENTITIES; i += 1) {
  const outcome = await prepared.services.config.create(prepared.ctx, 'teams', teamBody(i, 0));
  teamId ??= outcome.entity.id;
}
await prepared.dialect.close();

const instance = await startInstanceProcess({ name: 'bench', kind: 'development', database: db.url, secretKey, adminToken });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await page.goto(`${instance.url}/config/teams`);
  await page.getByLabel('Email').fill('admin@shiplog.local');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForSelector('[data-testid="entity-rows"] tr');

  // Navigation to the list's first rows painted, 20 loads in the signed-in browser (assets cached).
  await page.addInitScript((rows) => {
    const check = () => {
      if (location.pathname !== '/config/teams') return;
      if (document.querySelectorAll('[data-testid="entity-rows"] tr').length < rows) return;
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => (window.__rowsPainted = performance.now())));
    };
    const observer = new MutationObserver(check);
    observer.observe(document, { childList: true, subtree: true });
  }, FIRST_ROWS);
  const loads = [];
  for (let i = 0; i < LOADS; i += 1) {
    await page.goto(`${instance.url}/config/teams`);
    await page.waitForFunction(() => window.__rowsPainted !== undefined, null, { timeout: 30_000 });
    loads.push(await page.evaluate(() => window.__rowsPainted));
  }

  // Save in the form to the change painted in the change list: the entity's page is opened and edited (not timed), then
  // timed in the page from the Save click, through the saved note and its history link, to the change's row painted.
  const saves = [];
  for (let i = 0; i < SAVES; i += 1) {
    await page.goto(`${instance.url}/config/teams/${teamId}`);
    const description = page.locator('[data-field="description"] textarea, [data-field="description"] input');
    await description.fill(`Edited in the form, save ${i + 1}.`);
    saves.push(
      await page.evaluate(async () => {
        const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
        const until = async (find) => {
          for (;;) {
            const found = find();
            if (found) return found;
            await frame();
          }
        };
        const t0 = performance.now();
        [...document.querySelectorAll('button[type="submit"]')].find((b) => b.textContent === 'Save').click();
        const link = await until(() => document.querySelector('[data-testid="saved-note"] a[href^="/changes/"]'));
        const changeId = link.getAttribute('href').split('/').pop();
        [...document.querySelectorAll('a')].find((a) => a.textContent.startsWith('History of this')).click();
        await until(() => document.querySelector(`[data-change-id="${changeId}"]`));
        await frame();
        await frame();
        return performance.now() - t0;
      }),
    );
  }

  const list = summarise(loads);
  const save = summarise(saves);
  const result = {
    figure: 'console-config',
    entities: ENTITIES,
    listNavigationToRows: list,
    saveToChangeListed: save,
    target: TARGET,
    pass: { listP95: list.p95Ms <= TARGET.listP95Ms, saveP95: save.p95Ms <= TARGET.saveP95Ms },
    loadAverage: { start: loadAtStart.map((l) => round(l, 2)), end: loadavg().map((l) => round(l, 2)) },
  };
  report(result, [
    { figure: `list of ${ENTITIES} teams: navigation → first ${FIRST_ROWS} rows painted p50 (ms, ${LOADS} loads)`, value: round(list.p50Ms, 1), target: '' },
    { figure: `list of ${ENTITIES} teams: navigation → first ${FIRST_ROWS} rows painted p95 (ms)`, value: round(list.p95Ms, 1), target: `≤ ${TARGET.listP95Ms}` },
    { figure: `Save → change painted in the change list p50 (ms, ${SAVES} saves)`, value: round(save.p50Ms, 1), target: '' },
    { figure: 'Save → change painted in the change list p95 (ms)', value: round(save.p95Ms, 1), target: `≤ ${TARGET.saveP95Ms}` },
  ]);
} finally {
  await browser.close();
  await instance.stop();
  db.drop?.();
}
