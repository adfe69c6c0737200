/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { api, freePortRun, removeTempDirs, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import type { Answer } from '../support/pipeline.js';

const PASSWORD = 'a console password for the walk';
const EMAIL = 'admin@shiplog.local';
const stageNames = ['dev', 'staging', 'production'] as const;
type Stage = (typeof stageNames)[number];

afterAll(removeTempDirs);

describe.each(engines)('the console in Chromium, as an administrator walks it, on %s', (engine) => {
  const token = `shp_console_${randomBytes(18).toString('base64url')}`;
  const databases: TestDatabase[] = [];
  const shot = screenshots(engine);
  let demo: Spawned;
  let urls: Record<Stage, string>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  async function call(stage: Stage, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
    const res = await api(urls[stage], path, token, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function signIn(stage: Stage): Promise<void> {
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor();
    expect(page.url().startsWith(urls[stage])).toBe(true);
  }

  const rows = () => page.locator('[data-testid="change-rows"] [role="row"]');
  const rowTexts = async () => (await rows().allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));

  beforeAll(async () => {
    const base = await freePortRun(3);
    const args = ['demo', '--dir', tempDir(), '--base-port', String(base)];
    if (engine === 'postgres') {
      const prefix = `shiplog_t_${randomBytes(5).toString('hex')}`;
      for (const name of stageNames) databases.push(await createTestDatabase(engine, { migrate: false, name: `${prefix}_${name}` }));
      args.push('--database', databases[0]!.url.replace(/_dev$/, '_{name}'));
    }
    demo = spawnCli(args, { SHIPLOG_ADMIN_PASSWORD: PASSWORD, SHIPLOG_ADMIN_TOKEN: token });
    // Three instances set up on a shared machine: more time than one CLI call.
    await waitForOutput(demo, (stdout) => /shiplog push staging\n/.test(stdout), 'demo banner', 90_000);
    urls = { dev: `http://127.0.0.1:${base}`, staging: `http://127.0.0.1:${base + 1}`, production: `http://127.0.0.1:${base + 2}` };
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (demo) await stop(demo);
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('signs in to production: its name, kind and version in red words; the lock banner, lifted after an audited confirmation', async () => {
    await call('production', 'PATCH', '/v1/settings', { disableConfigEditing: true });
    await page.goto(`${urls.production}/`);
    await page.getByRole('heading', { name: 'Sign in to production' }).waitFor();
    const bar = page.getByTestId('instance-bar');
    await expect.poll(() => bar.innerText()).toMatch(/production[\s\S]*PRODUCTION — CHANGES HERE AFFECT LIVE SERVICE[\s\S]*version \S+/i);
    expect(await bar.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(180, 35, 24)');
    await expectAccessible(page, 'sign-in');
    await shot(page, 'sign-in', { docs: true });

    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'SIGN_IN_REFUSED' }).waitFor();
    await signIn('production');
    expect(new URL(page.url()).pathname).toBe('/changes');

    // Production's changes were made on dev, two stages up: named, not shown as ids.
    await expect.poll(async () => (await rowTexts())[0]).toMatch(/ Administrator dev starter$/);
    const banner = page.getByRole('region', { name: 'Production lock' });
    await banner.getByText('Editing of config-tracked entities is disabled').waitFor();
    await expectAccessible(page, 'change list with the lock banner');
    await shot(page, 'production-lock', { docs: true });
    await banner.getByRole('button', { name: 'Lift the lock…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Lift the production lock?' });
    await dialog.getByText('recorded in the audit log').waitFor();
    await dialog.getByText('does not come back by itself').waitFor();
    // Focus stays in the dialog.
    for (let i = 0; i < 4; i += 1) await page.keyboard.press('Tab');
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    await expectAccessible(page, 'lift-lock dialog');
    await shot(page, 'lift-lock-dialog', { docs: true });
    await dialog.getByRole('button', { name: 'Lift the lock', exact: true }).click();
    await banner.waitFor({ state: 'detached' });
    expect((await call('production', 'GET', '/v1/settings')).disableConfigEditing).toBe(false);
    const audit = await call('production', 'GET', '/v1/audit?limit=20');
    expect(JSON.stringify(audit)).toContain('disableConfigEditing');
  });

  it('lists changes newest first and filters them by every column and a timeframe, the filters in the URL', async () => {
    await call('dev', 'POST', '/v1/config/teams', { name: 'Field Services', description: 'On-site support.' }, { 'x-change-set': 'walk-1' });
    await call('dev', 'POST', '/v1/config/statuses', { name: 'Waiting on customer', kind: 'ticket', colour: '#888888', sequence: 9 }, { 'x-change-set': 'walk-1' });
    await page.goto(`${urls.dev}/changes`);
    await signIn('dev');
    await expect.poll(async () => (await rowTexts())[0]).toMatch(/statuses Waiting on customer Created Administrator dev \(this instance\) walk-1/);
    await expectAccessible(page, 'change list');
    await shot(page, 'change-list', { docs: true });

    await page.getByLabel('Filter by type').selectOption('teams');
    await expect.poll(() => new URL(page.url()).searchParams.get('type')).toBe('teams');
    await expect.poll(async () => (await rowTexts()).every((t) => / teams /.test(t)) && (await rows().count()) > 0).toBe(true);

    // A pause while typing applies the filter and leaves the cursor in the field.
    await page.getByLabel("Filter by text in the entity's name").pressSequentially('Fie');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Fie');
    await page.keyboard.type('ld');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Field');
    await expect.poll(rowTexts).toEqual([expect.stringMatching(/Field Services Created/)]);
    await page.getByLabel('Filter by operation').selectOption('update');
    await page.getByText('No change matches these filters.').waitFor();
    await page.getByLabel('Filter by operation').selectOption('create');
    await page.getByLabel('Filter by change set').fill('walk-1');
    await page.getByLabel('Filter by change set').press('Enter');
    await page.getByLabel('Filter by actor').fill('Administrator');
    await page.getByLabel('Filter by actor').press('Enter');
    await expect.poll(() => Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ type: 'teams', q: 'Field', op: 'create', changeSet: 'walk-1', actor: 'Administrator' });
    await expect.poll(rowTexts).toEqual([expect.stringMatching(/Field Services/)]);
    await shot(page, 'change-list-filtered', { docs: true });

    // Select changes and export them: a file download of the export document.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Filter by change set').fill('walk-1');
    await page.getByLabel('Filter by change set').press('Enter');
    await expect.poll(async () => rows().count()).toBe(2);
    for (const box of await rows().getByRole('checkbox').all()) await box.check();
    await page.getByText('2 selected').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export selected' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^shiplog-dev-changes-.*\.json$/);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(exported.changes.map((c: Answer) => c.entityName).sort()).toEqual(['Field Services', 'Waiting on customer']);
    expect(new Set(exported.changes.map((c: Answer) => c.changeSet))).toEqual(new Set(['walk-1']));

    await page.getByRole('button', { name: 'Clear filters' }).click();
    const devId = (await call('dev', 'GET', '/v1/instance')).id as string;
    const staging = await call('staging', 'GET', '/v1/changes?limit=1');
    // Staging's changes came from dev: the origin filter names instances, not ids.
    await page.goto(`${urls.staging}/changes`);
    await signIn('staging');
    await page.getByLabel('Filter by origin').selectOption({ label: 'dev' });
    await expect.poll(() => new URL(page.url()).searchParams.get('origin')).toBe(devId);
    await expect.poll(async () => (await rowTexts()).length).toBe(staging.items.length > 0 ? Math.min(await countOn('staging', `origin=${devId}`), 50) : 0);
    expect((await rowTexts()).every((t) => t.includes(' dev '))).toBe(true);

    await page.goto(`${urls.dev}/changes`);
    await page.getByLabel('Timeframe', { exact: true }).selectOption('1h');
    await expect.poll(() => new URL(page.url()).searchParams.get('from')).toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect.poll(async () => (await rows().count()) > 0).toBe(true);
    await page.getByLabel('To', { exact: true }).fill('2001-01-01T00:00');
    await page.getByText('No change matches these filters.').waitFor();
    expect(new URL(page.url()).searchParams.get('to')).toBe('2001-01-01T00:00:00.000Z');
  });

  async function countOn(stage: Stage, query: string): Promise<number> {
    return (await call(stage, 'GET', `/v1/changes?limit=200&${query}`)).items.length;
  }

  it('opens a change and reads its diff: changed fields side by side, unchanged folded, secrets only as changed', async () => {
    const team = (await call('dev', 'POST', '/v1/config/teams', { name: 'Desk Two', description: 'Second line.' })).entity;
    await call('dev', 'PUT', `/v1/config/teams/${team.id}`, { name: 'Second Line', description: 'Second line.' });
    const sso = { name: 'Company login', protocol: 'oidc', issuer: 'https://login.example.test', clientId: 'shiplog', instances: ['dev'] };
    const connection = (await call('dev', 'POST', '/v1/config/sso-connections', { ...sso, clientSecret: 'first-secret-value' })).entity;
    await call('dev', 'PUT', `/v1/config/sso-connections/${connection.id}`, { ...sso, clientSecret: 'second-secret-value' });

    await page.goto(`${urls.dev}/changes?type=sso-connections`);
    await rows().first().getByRole('link', { name: 'Company login' }).click();
    await page.getByRole('heading', { name: /Updated sso-connections: Company login/ }).waitFor();
    await page.getByText('Secret changed — its value is never shown').waitFor();
    expect(await page.content()).not.toContain('second-secret-value');
    expect(await page.content()).not.toContain('first-secret-value');

    await page.goto(`${urls.dev}/changes?type=teams&q=Second`);
    await rows().first().getByRole('link', { name: 'Second Line' }).click();
    await page.getByRole('heading', { name: /Updated teams: Second Line/ }).waitFor();
    const diff = page.getByRole('region', { name: 'Before and after' }).or(page.locator('section[aria-labelledby="diff-heading"]'));
    const changed = diff.getByRole('row', { name: /name/ });
    await expect.poll(() => changed.innerText()).toMatch(/name\s+Desk Two\s+Second Line/);
    await diff.getByText(/unchanged field/).click();
    await diff.getByText('Second line.').waitFor();
    await page.getByText('From where').waitFor();
    await page.getByText(/PUT \/v1\/config\/teams\//).waitFor();
    await page.getByRole('heading', { name: 'Rollback script' }).waitFor();
    await expectAccessible(page, 'change detail');
    await shot(page, 'change-detail', { docs: true, fullPage: true });
  });

  it('rolls back before a change: the preview of every reverted change and the resulting state, then the result', async () => {
    const team = (await call('dev', 'POST', '/v1/config/teams', { name: 'Rollback Me', description: 'v1' })).entity;
    await call('dev', 'PUT', `/v1/config/teams/${team.id}`, { name: 'Rollback Me', description: 'v2' });
    await call('dev', 'PUT', `/v1/config/teams/${team.id}`, { name: 'Rollback Me', description: 'v3' });
    await page.goto(`${urls.dev}/changes?type=teams&q=Rollback&op=update`);
    await expect.poll(async () => rows().count()).toBe(2);
    await rows().last().getByRole('link').click();
    await page.getByRole('img', { name: 'Graph: 0 required, 1 dependent changes' }).waitFor();
    await page.getByRole('button', { name: 'Roll back before this change…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back before this change?' });
    await expect.poll(async () => dialog.getByTestId('rollback-reverted').locator('li').count()).toBe(2);
    const reverted = await dialog.getByTestId('rollback-reverted').locator('li').allInnerTexts();
    expect(Number(/#(\d+)/.exec(reverted[0]!)![1])).toBeGreaterThan(Number(/#(\d+)/.exec(reverted[1]!)![1]));
    await expect.poll(() => dialog.getByTestId('rollback-entities').innerText()).toContain('"description":"v1"');
    await expectAccessible(page, 'rollback preview');
    await shot(page, 'rollback-preview', { docs: true });
    await dialog.getByRole('button', { name: 'Roll back 2 changes' }).click();
    const result = page.getByRole('dialog', { name: 'Rolled back' });
    await result.getByText('2 changes were reverted').waitFor();
    await shot(page, 'rollback-result');
    expect((await call('dev', 'GET', `/v1/config/teams/${team.id}`)).body.description).toBe('v1');
    await result.getByRole('link', { name: 'Back to the change list' }).click();
    await expect.poll(async () => (await rowTexts())[0]).toMatch(/Rollback Me\s*rollback/);
  });

  it('keeps a deep link through a reload, and brings a person whose session expired back to where they were', async () => {
    const deep = `${urls.dev}/changes?type=teams&op=create`;
    await page.goto(deep);
    await page.reload();
    await expect.poll(() => page.getByLabel('Filter by type').inputValue()).toBe('teams');
    expect(page.url()).toBe(deep);

    const id = (await call('dev', 'GET', '/auth/instance')).id as string;
    await context.clearCookies({ name: `shiplog_session_${id}` });
    await page.getByLabel('Filter by operation').selectOption('update');
    await page.getByText('Your session ended').waitFor();
    // Dev offers single sign-on (the connection made above): it starts from here and comes back to the same place.
    const sso = page.getByRole('link', { name: 'Company login' });
    expect(await sso.getAttribute('href')).toMatch(new RegExp(`^/auth/sso/\\w+/start\\?returnTo=${encodeURIComponent('/changes?type=teams&op=update')}$`));
    await expectAccessible(page, 'sign-in after expiry');
    await signIn('dev');
    await expect.poll(() => page.url()).toBe(`${urls.dev}/changes?type=teams&op=update`);

    // Another instance's session is its own: signing in to dev kept staging's.
    await page.goto(`${urls.staging}/changes`);
    await page.getByText('Signed in as').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to staging' }).waitFor();
    await page.goto(`${urls.dev}/changes`);
    await page.getByText('Signed in as').waitFor();
  });

  it('makes configuration in the console: a team, a ticket type naming it, a field refused, a stale edit, a secret only as set, a delete and its history', async () => {
    const field = (path: string) => page.locator(`[data-field="${path}"]`);
    const saved = page.getByTestId('saved-note');
    await page.goto(`${urls.dev}/config`);
    // Signed in by the walks before; run alone, it signs in here.
    await page.getByText('Signed in as').or(page.getByLabel('Password')).first().waitFor();
    if (await page.getByLabel('Password').isVisible()) await signIn('dev');
    await page.getByRole('heading', { name: 'Configuration', exact: true }).waitFor();
    await page.getByText('112 types: 92 tracked, 20 local to this instance.').waitFor();
    await page.getByRole('heading', { name: 'Local to each instance (never tracked, never synced)' }).waitFor();
    await page.getByLabel('Change set for this session').fill('config-walk');
    await page.getByRole('button', { name: 'Use this label' }).click();
    await page.getByText('Saves are labelled config-walk.').waitFor();
    await expectAccessible(page, 'configuration areas');
    await shot(page, 'config-areas', { docs: true });

    await page.getByRole('link', { name: 'Teams', exact: true }).click();
    await page.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
    await page.getByRole('link', { name: 'New team' }).click();
    await field('name').locator('input').fill('Config Walk Team');
    await page.getByTestId('save-change-set').getByText('config-walk').waitFor();
    await page.getByRole('button', { name: 'Create team' }).click();
    await expect.poll(() => saved.innerText()).toMatch(/Saved and recorded as a change in change set config-walk/);
    await page.getByRole('link', { name: 'Teams', exact: true }).click();
    await page.getByLabel('Search by name').fill('Walk');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Walk');
    await expect.poll(() => page.getByTestId('entity-rows').innerText()).toMatch(/^Config Walk Team/);
    await expectAccessible(page, 'type list');
    await shot(page, 'config-list', { docs: true });

    // A ticket type names its default team by a picker; the schema's own limit is shown on the field at fault.
    await page.goto(`${urls.dev}/config/ticket-types/new`);
    await field('name').locator('input').fill('Walk Request');
    await field('defaultTeamId').locator('select').selectOption({ label: 'Config Walk Team' });
    await field('defaultTeamId').getByRole('link', { name: 'Open Config Walk Team' }).waitFor();
    await field('maxPriorityLevel').locator('input').fill('42');
    await page.getByRole('button', { name: 'Create ticket type' }).click();
    await field('maxPriorityLevel').getByText(/10/).waitFor();
    await page.getByText('Nothing was written.').waitFor();
    expect(await field('maxPriorityLevel').locator('input').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'form with a refused field');
    await shot(page, 'config-field-refused', { docs: true, fullPage: true });
    await field('maxPriorityLevel').locator('input').fill('3');
    await page.getByRole('button', { name: 'Create ticket type' }).click();
    await saved.waitFor();
    const ticketTypeId = new URL(page.url()).pathname.split('/').pop()!;
    const stored = await call('dev', 'GET', `/v1/config/ticket-types/${ticketTypeId}`);
    expect(stored.body).toMatchObject({ name: 'Walk Request', maxPriorityLevel: 3 });
    const team = (await call('dev', 'GET', '/v1/config/teams?q=Config%20Walk')).items[0];
    expect(stored.body.defaultTeamId).toBe(team.id);

    // Someone else saves first: the form's version is stale, and the console says so and offers the current one.
    await call('dev', 'PUT', `/v1/config/ticket-types/${ticketTypeId}`, { ...stored.body, description: 'Changed elsewhere.' });
    await field('description').locator('textarea, input').fill('My edit.');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('stale-edit').getByText('Someone changed this ticket type since you opened it.').waitFor();
    await page.getByTestId('stale-edit').scrollIntoViewIfNeeded();
    await expectAccessible(page, 'stale edit');
    await shot(page, 'config-stale-edit', { docs: true });
    await page.getByRole('button', { name: 'Reload the current version' }).click();
    await expect.poll(() => field('description').locator('textarea, input').inputValue()).toBe('Changed elsewhere.');
    await field('description').locator('textarea, input').fill('Changed here too.');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(async () => (await call('dev', 'GET', `/v1/config/ticket-types/${ticketTypeId}`)).body.description).toBe('Changed here too.');

    // A secret is written once and afterwards only ever shown as set.
    await page.goto(`${urls.dev}/config/webhooks/new`);
    await field('name').locator('input').fill('Walk hook');
    await field('url').locator('input').fill('https://hooks.example.test/walk');
    await field('events').getByRole('button', { name: 'Add event' }).click();
    await field('signingSecret').locator('input[type="password"]').fill('walk-signing-secret-value');
    await field('enabledInstances').getByLabel('staging').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await saved.waitFor();
    await field('signingSecret').getByText('Set — the value is never shown').waitFor();
    expect(await page.content()).not.toContain('walk-signing-secret-value');
    const hookId = new URL(page.url()).pathname.split('/').pop()!;
    expect((await call('dev', 'GET', `/v1/config/webhooks/${hookId}`)).body).toMatchObject({ signingSecret: { set: true }, enabledInstances: ['staging'], events: ['ticket.created'] });
    await expectAccessible(page, 'secret shown as set');
    await shot(page, 'config-secret-set', { docs: true, fullPage: true });

    // Delete the ticket type, then find its three changes through its history link.
    await page.goto(`${urls.dev}/config/ticket-types/${ticketTypeId}`);
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Walk Request?' });
    await dialog.getByText('in change set config-walk').waitFor();
    await expectAccessible(page, 'delete dialog');
    await dialog.getByRole('button', { name: 'Delete ticket type' }).click();
    await page.getByRole('heading', { name: 'Deleted Walk Request' }).waitFor();
    await page.getByRole('link', { name: 'History of this ticket type in the change list' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('entityId')).toBe(ticketTypeId);
    await expect.poll(async () => (await rowTexts()).map((t) => / (Created|Updated|Deleted) /.exec(t)?.[1])).toEqual(['Deleted', 'Updated', 'Updated', 'Created']);
    expect((await rowTexts())[0]).toMatch(/config-walk$/);
  });
});
