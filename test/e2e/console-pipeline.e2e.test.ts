/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { api, removeTempDirs, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import type { Answer } from '../support/pipeline.js';

const PASSWORD = 'a console password for the pipeline walk';
const EMAIL = 'admin@shiplog.local';
const stages = { dev: 'development', staging: 'staging', production: 'production' } as const;
type Stage = keyof typeof stages;

afterAll(removeTempDirs);

describe.each(engines)('the console walks a pipeline in Chromium on %s', (engine) => {
  const token = `shp_pipeline_${randomBytes(18).toString('base64url')}`;
  const secretKey = randomBytes(32).toString('hex');
  const databases: TestDatabase[] = [];
  const served: Spawned[] = [];
  const shot = screenshots(engine);
  const urls = {} as Record<Stage, string>;
  const signedIn = new Set<Stage>();
  let browser: Browser;
  let page: Page;

  async function call(stage: Stage, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await api(urls[stage], path, token, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${stage} ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Opens a screen of an instance, signing in first when this browser has no session there yet. */
  async function open(stage: Stage, path: string): Promise<void> {
    await page.goto(`${urls[stage]}${path}`);
    if (!signedIn.has(stage)) {
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      signedIn.add(stage);
    }
    await page.getByText('Signed in as').waitFor();
  }

  async function credentialsOn(stage: Stage, label: string): Promise<{ clientId: string; clientSecret: string }> {
    const agentId = (await call(stage, 'GET', '/v1/instance')).you.agentId as string;
    const created = await call(stage, 'POST', '/v1/applications', { name: `Sync from ${label}`, agentId, permissions: ['config:read', 'config:push'] });
    return { clientId: created.application.clientId, clientSecret: created.clientSecret };
  }

  /** Links `to` from `from`'s pipeline screen, as a person fills the dialog. */
  async function linkInConsole(from: Stage, to: Stage, source: boolean): Promise<void> {
    const credentials = await credentialsOn(to, from);
    await open(from, '/instances');
    await page.getByRole('button', { name: 'Link an instance…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Link an instance' });
    await dialog.getByLabel('Name').fill(to);
    await dialog.getByLabel('URL').fill(urls[to]);
    await dialog.getByLabel('Client id').fill(credentials.clientId);
    await dialog.getByLabel('Client secret').fill(credentials.clientSecret);
    if (source) await dialog.getByLabel(/It is the source of this instance/).check();
    await dialog.getByRole('button', { name: 'Link', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator(`[data-instance="${to}"]`).waitFor();
  }

  const team = async (stage: Stage, name: string, changeSet?: string) =>
    (await call(stage, 'POST', '/v1/config/teams', { name, description: 'v1' }, changeSet ? { 'x-change-set': changeSet } : {})).entity as { id: string };
  const lastChangeOf = async (stage: Stage, entityId: string) => (await call(stage, 'GET', `/v1/changes?entityId=${entityId}&limit=1`)).items[0] as { id: string; at: string };
  const hasEntity = async (stage: Stage, id: string) => (await api(urls[stage], `/v1/config/teams/${id}`, token)).status === 200;
  const planDialog = (name: RegExp | string) => page.getByRole('dialog', { name });

  beforeAll(async () => {
    const dir = tempDir();
    const prefix = `shiplog_t_${randomBytes(5).toString('hex')}`;
    for (const [name, kind] of Object.entries(stages) as [Stage, string][]) {
      const args = ['serve', '--name', name, '--kind', kind, '--port', '0', '--rate-limit', '0', '--quiet'];
      if (engine === 'postgres') {
        const database = await createTestDatabase(engine, { migrate: false, name: `${prefix}_${name}` });
        databases.push(database);
        args.push('--database', database.url, '--key-file', join(dir, `${name}.key`));
      } else args.push('--database', join(dir, `${name}.sqlite`));
      const process = spawnCli(args, { SHIPLOG_ADMIN_PASSWORD: PASSWORD, SHIPLOG_ADMIN_TOKEN: token, SHIPLOG_SECRET_KEY: secretKey });
      served.push(process);
      await waitForOutput(process, (stdout) => /is serving http:\/\/\S+/.test(stdout), `${name} banner`);
      urls[name] = /is serving (http:\/\/\S+)/.exec(process.output().stdout)![1]!;
    }
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC', acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const process of served) await stop(process);
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('links three instances into a pipeline: a refused link names its field and writes nothing; the stages show each instance', async () => {
    await open('dev', '/instances');
    await page.getByText('No instance is linked yet').waitFor();
    await page.getByRole('button', { name: 'Link an instance…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Link an instance' });
    await dialog.getByLabel('Name').fill('staging');
    await dialog.getByLabel('URL').fill('not a url at all');
    await dialog.getByLabel('Client id').fill('app_unknown');
    await dialog.getByLabel('Client secret').fill('nothing');
    await dialog.getByRole('button', { name: 'Link', exact: true }).click();
    await dialog.getByText('Nothing was written.').waitFor();
    expect(await dialog.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');
    // Focus stays in the dialog.
    for (let i = 0; i < 8; i += 1) await page.keyboard.press('Tab');
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    await expectAccessible(page, 'link dialog with a problem');
    await shot(page, 'link-refused', { docs: true });
    await page.keyboard.press('Escape');
    expect((await call('dev', 'GET', '/v1/instances')).items).toEqual([]);

    await linkInConsole('dev', 'staging', false);
    await linkInConsole('staging', 'dev', true);
    await linkInConsole('staging', 'production', false);
    await linkInConsole('production', 'staging', true);
    await linkInConsole('dev', 'production', false);

    await open('staging', '/instances');
    await page.getByText('Pipeline mode: each instance takes changes only from its source').waitFor();
    const devCard = page.getByRole('region', { name: 'Development stage' }).locator('[data-instance="dev"]');
    await expect.poll(() => devCard.innerText()).toMatch(/source of this instance[\s\S]*reachable/);
    const productionCard = page.getByRole('region', { name: 'Production stage' }).locator('[data-instance="production"]');
    await expect.poll(() => productionCard.innerText()).toMatch(/takes changes from here[\s\S]*\d+ behind · \d+ ahead/);
    await page.getByRole('region', { name: 'Staging stage' }).getByText('this instance').waitFor();
    await expectAccessible(page, 'pipeline');
    await shot(page, 'pipeline', { docs: true });
  });

  let teamA: { id: string };
  let teamB: { id: string };

  it('pushes with a cut-off: the plan first (to apply, already present, held back), then the result', async () => {
    teamA = await team('dev', 'Alpha Desk');
    const a = await lastChangeOf('dev', teamA.id);
    await new Promise((r) => setTimeout(r, 1_100));
    teamB = await team('dev', 'Bravo Desk');

    await open('dev', '/instances/staging');
    await page.getByRole('region', { name: 'Changes ahead' }).getByText('Bravo Desk').waitFor();
    await page.getByRole('button', { name: 'Push to staging…' }).click();
    const dialog = planDialog('Push to staging');
    await dialog.getByLabel('Cut-off date').fill(a.at.slice(0, 19));
    await dialog.getByRole('button', { name: 'Show the plan' }).click();
    const plan = dialog.getByTestId('sync-plan');
    await expect.poll(() => plan.locator('dl[aria-label="Plan counts"]').innerText()).toMatch(/Held back by cut-off\s+1/);
    const listed = await plan.getByTestId('plan-changes').innerText();
    expect(listed).toContain('Alpha Desk');
    expect(listed).not.toContain('Bravo Desk');
    await expectAccessible(page, 'push plan');
    await shot(page, 'push-plan', { docs: true });
    await dialog.getByRole('button', { name: /^Push \d+ changes?$/ }).click();
    await planDialog('Push finished').getByText(/applied on staging in one transaction/).waitFor();
    await shot(page, 'push-result');
    await planDialog('Push finished').getByRole('button', { name: 'Close' }).click();
    expect(await hasEntity('staging', teamA.id)).toBe(true);
    expect(await hasEntity('staging', teamB.id)).toBe(false);
  });

  it('meets a conflict from a direct production change and shows both versions side by side; nothing is sent', async () => {
    await call('dev', 'POST', '/v1/instances/staging/push', {});
    await call('staging', 'POST', '/v1/instances/production/push', {});
    await call('production', 'PUT', `/v1/config/teams/${teamA.id}`, { name: 'Alpha Desk', description: 'hotfixed in production' });
    await call('dev', 'PUT', `/v1/config/teams/${teamA.id}`, { name: 'Alpha Desk', description: 'reworked in development' });

    await open('dev', '/instances/staging');
    await page.getByRole('region', { name: 'Changes ahead' }).getByText('Alpha Desk').waitFor();
    await page.getByRole('button', { name: 'Compare the state with staging' }).click();
    await expect.poll(() => page.getByTestId('state-diff').innerText()).toMatch(/description\s+reworked in development\s+v1/);
    await expectAccessible(page, 'instance page');
    await shot(page, 'instance-page', { docs: true, fullPage: true });
    await call('dev', 'POST', '/v1/instances/staging/push', {});

    await open('staging', '/instances/production');
    await page.getByRole('button', { name: 'Push to production…' }).click();
    const dialog = planDialog('Push to production');
    await dialog.getByRole('button', { name: 'Show the plan' }).click();
    const conflict = dialog.locator('[data-kind="conflict"]');
    await conflict.waitFor();
    const versions = conflict.getByRole('table', { name: 'Both versions of Alpha Desk' });
    await expect.poll(() => versions.getByRole('row', { name: /description/ }).innerText()).toMatch(/hotfixed in production\s+v1\s+reworked in development/);
    await dialog.getByText(/nothing will be written until it is resolved/).waitFor();
    expect(await dialog.getByRole('button', { name: /^Push/ }).isDisabled()).toBe(true);
    await expectAccessible(page, 'push conflict');
    await shot(page, 'push-conflict', { docs: true });
    await page.keyboard.press('Escape');
    expect((await call('production', 'GET', `/v1/config/teams/${teamA.id}`)).body.description).toBe('hotfixed in production');
  });

  it('pushes a change set alone, ahead of other work interleaved with it; pushes a change selected in the change list with what it builds on', async () => {
    const first = await team('dev', 'Charlie Desk', 'team-a');
    const alone = await team('dev', 'Delta Desk', 'team-b');
    const last = await team('dev', 'Echo Desk', 'team-a');
    await open('dev', '/instances/staging');
    await page.getByRole('button', { name: 'Push to staging…' }).click();
    const dialog = planDialog('Push to staging');
    await dialog.getByLabel('A change set').check();
    await dialog.getByLabel('Change set', { exact: true }).fill('team-b');
    await dialog.getByRole('button', { name: 'Show the plan' }).click();
    await expect.poll(async () => dialog.getByTestId('plan-changes').locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/to apply\s+Delta Desk\s+teams\s+Created\s+team-b/)]);
    await shot(page, 'push-change-set', { docs: true });
    await dialog.getByRole('button', { name: 'Push 1 change' }).click();
    await planDialog('Push finished').getByText('1 change was applied on staging').waitFor();
    await planDialog('Push finished').getByRole('button', { name: 'Close' }).click();
    expect(await hasEntity('staging', alone.id)).toBe(true);
    expect(await hasEntity('staging', first.id)).toBe(false);
    expect(await hasEntity('staging', last.id)).toBe(false);

    // From the change list: one selected update, pushed with the create it builds on, each explained in the plan.
    await call('dev', 'PUT', `/v1/config/teams/${last.id}`, { name: 'Echo Desk', description: 'v2' }, { 'x-change-set': 'team-a' });
    const update = await lastChangeOf('dev', last.id);
    await open('dev', '/changes?q=Echo');
    await page.locator(`[data-change-id="${update.id}"]`).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Push selected…' }).click();
    const selected = planDialog('Push to staging');
    expect(await selected.getByLabel('Push to', { exact: true }).inputValue()).toBe('staging');
    expect(await selected.getByLabel('Selected changes').isChecked()).toBe(true);
    await expect.poll(() => selected.getByTestId('plan-added').innerText()).toMatch(/Echo Desk — the previous version of Echo Desk/);
    const why = await selected.getByTestId('plan-changes').locator('tbody tr').allInnerTexts();
    expect(why).toEqual([expect.stringMatching(/to apply\s+Echo Desk\s+teams\s+Created[\s\S]*parent of Echo Desk/), expect.stringMatching(/to apply\s+Echo Desk\s+teams\s+Updated[\s\S]*selected/)]);
    await expectAccessible(page, 'push selected from the change list');
    await shot(page, 'push-selected', { docs: true });
    await selected.getByRole('button', { name: 'Push 2 changes' }).click();
    await planDialog('Push finished').getByText('2 changes were applied on staging').waitFor();
    await planDialog('Push finished').getByRole('button', { name: 'Close' }).click();
    expect((await call('staging', 'GET', `/v1/config/teams/${last.id}`)).body.description).toBe('v2');
    expect(await hasEntity('staging', first.id)).toBe(false);
  });

  it('exports a selected change from production and imports it into development by pasting, the plan first', async () => {
    await call('production', 'PUT', `/v1/config/teams/${teamB.id}`, { name: 'Bravo Desk', description: 'hotfix to carry back' });
    const hotfix = await lastChangeOf('production', teamB.id);
    await open('production', '/changes?q=Bravo');
    await page.locator(`[data-change-id="${hotfix.id}"]`).getByRole('checkbox').check();
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export selected' }).click();
    const file = await (await downloading).path();
    const text = readFileSync(file, 'utf8');
    expect(JSON.parse(text).changes.map((c: { id: string }) => c.id)).toEqual([hotfix.id]);

    await open('dev', '/export-import');
    const memo = page.getByLabel('Export document (JSON)');
    await memo.fill('{"format": "not an export"}');
    await page.getByRole('button', { name: 'Show the plan' }).click();
    await expect.poll(() => memo.getAttribute('aria-invalid')).toBe('true');
    await memo.fill(text);
    await page.getByRole('button', { name: /Show the plan|Plan again/ }).click();
    await expect.poll(() => page.getByTestId('plan-changes').innerText()).toMatch(/to apply\s+Bravo Desk\s+teams\s+Updated/);
    await expectAccessible(page, 'import plan');
    await shot(page, 'import-plan', { docs: true });
    await page.getByRole('button', { name: 'Import 1 change' }).click();
    await page.getByText('Imported: 1 change applied in one transaction').waitFor();
    expect((await call('dev', 'GET', `/v1/config/teams/${teamB.id}`)).body.description).toBe('hotfix to carry back');
  });

  it('restores staging from production: the plan of what it loses, the scope, a typed confirmation', async () => {
    await open('staging', '/instances/production');
    await page.getByRole('button', { name: 'Restore from production…' }).click();
    const dialog = planDialog('Restore staging from production?');
    const part = dialog.locator('[data-instance="staging"]');
    await expect.poll(() => part.innerText()).toMatch(/Loses \d+ changes? that production lacks/);
    const lost = await part.getByRole('list', { name: 'Changes staging loses' }).innerText();
    expect(lost).toContain('Alpha Desk');
    expect(lost).toContain('Delta Desk');
    await dialog.getByLabel('Select which instances to restore').selectOption('pipeline');
    await dialog.getByLabel('Select which instances to restore').selectOption('instance');
    await expect.poll(() => part.innerText()).toMatch(/Loses/);
    const restore = dialog.getByRole('button', { name: 'Restore staging' });
    expect(await restore.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type restore staging to confirm/).fill('restore staging');
    await expectAccessible(page, 'restore plan');
    await shot(page, 'restore-plan', { docs: true });
    await restore.click();
    await planDialog('Restored from production').getByText('1 instance was restored').waitFor();
    await shot(page, 'restore-result');
    const status = await call('staging', 'GET', '/v1/instances/production/status');
    expect(status.inSync).toBe(true);
    expect((await call('staging', 'GET', `/v1/config/teams/${teamA.id}`)).body.description).toBe('hotfixed in production');
  });

  it('changes a setting with its explanation and finds the change in the audit log, the filters in the URL', async () => {
    await open('staging', '/settings');
    const setting = page.getByLabel('Do not allow config changes from other instances to be pushed to this instance');
    await page.getByText('Pull-only: changes arrive only when someone here pulls them').waitFor();
    await expectAccessible(page, 'settings');
    await shot(page, 'settings', { docs: true });
    await setting.check();
    await page.getByText('Saved.').waitFor();
    expect((await call('staging', 'GET', '/v1/settings')).refusePushes).toBe(true);

    await page.getByRole('link', { name: 'Settings changes in the audit log' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('kind')).toBe('settings.changed');
    const rows = page.getByTestId('audit-rows').locator('tr');
    await expect.poll(() => rows.first().innerText()).toMatch(/settings\.changed\s+success\s+Administrator\s+refusePushes/);
    await page.getByLabel('Outcome').selectOption('denied');
    await expect.poll(() => new URL(page.url()).searchParams.get('outcome')).toBe('denied');
    await page.getByText('No event matches these filters.').waitFor();
    await page.reload();
    await expect.poll(() => page.getByLabel('Outcome').inputValue()).toBe('denied');
    await page.getByLabel('Outcome').selectOption('');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    await expectAccessible(page, 'audit log');
    await shot(page, 'audit-log', { docs: true });
  });
});
