/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { api, removeTempDirs, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { expectCoManagedAgentView } from '../support/co-managed-view.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import type { Answer } from '../support/pipeline.js';

const PASSWORD = 'a console password for the desk walk';
const ADMIN = 'admin@shiplog.local';
const stages = { dev: 'development', staging: 'staging' } as const;
type Stage = keyof typeof stages;
const people = {
  sam: { name: 'Sam Service', email: 'sam@msp.test', password: 'sam works the service desk' },
  carl: { name: 'Carl Co-managed', email: 'carl@partner.test', password: 'carl works for acme only' },
};
type Person = keyof typeof people;

afterAll(removeTempDirs);

/**
 * The desk, for validation, as the guides ask of staging: a workflow (one action restricted to a team) and a ticket
 * type built in dev's console, pushed to staging with the console's push dialog, then a ticket logged, opened, noted
 * and moved through its workflow on staging — the restricted action offered only to its team, and refused by the
 * server when the team is gone. Then the co-managed agent of co-managed-support-setup.txt signs in and sees its
 * customer's records and nothing else.
 */
describe.each(engines)('the desk in the console, validated on staging, on %s', (engine) => {
  const token = `shp_desk_${randomBytes(18).toString('base64url')}`;
  const secretKey = randomBytes(32).toString('hex');
  const databases: TestDatabase[] = [];
  const served: Spawned[] = [];
  const shot = screenshots(engine);
  const urls = {} as Record<Stage, string>;
  const ids = {} as Record<'acme' | 'globex' | 'serviceDesk' | 'partnerDesk' | 'samRole' | 'globexTicket' | 'acmeTicket', string>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  async function call(stage: Stage, method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await api(urls[stage], path, token, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${stage} ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A fresh browser session on an instance, signed in as the administrator or one of the guide's agents. */
  async function signIn(stage: Stage, who: Person | 'admin', path = '/'): Promise<void> {
    await context.clearCookies();
    await page.goto(`${urls[stage]}${path}`);
    await page.getByLabel('Email').fill(who === 'admin' ? ADMIN : people[who].email);
    await page.getByLabel('Password').fill(who === 'admin' ? PASSWORD : people[who].password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor();
  }

  const field = (path: string) => page.locator(`[data-field="${path}"]`).locator('input, select, textarea').first();

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
    // dev → staging, staging taking changes only from dev.
    for (const [from, to, source] of [['dev', 'staging', false], ['staging', 'dev', true]] as const) {
      const agentId = (await call(to, 'GET', '/v1/instance')).you.agentId as string;
      const app = await call(to, 'POST', '/v1/applications', { name: `Sync from ${from}`, agentId, permissions: ['config:read', 'config:push'] });
      await call(from, 'POST', '/v1/instances', { name: to, url: urls[to], clientId: app.application.clientId, clientSecret: app.clientSecret, source });
    }

    // The configuration the walk builds on, made in dev and promoted: statuses and the two teams of the guide.
    for (const status of [{ name: 'New', isDefault: true }, { name: 'In progress' }, { name: 'Escalated' }, { name: 'Resolved', isClosed: true }]) {
      await call('dev', 'POST', '/v1/config/statuses', { kind: 'ticket', ...status });
    }
    ids.serviceDesk = (await call('dev', 'POST', '/v1/config/teams', { name: 'Service desk' })).entity.id;
    ids.partnerDesk = (await call('dev', 'POST', '/v1/config/teams', { name: 'Acme partner desk', isCoManaged: true })).entity.id;
    await call('dev', 'POST', '/v1/instances/staging/push', {});

    // Staging's own records: customers, users, assets; the guide's rule, roles and agents.
    ids.acme = (await call('staging', 'POST', '/v1/customers', { name: 'Acme Corp', thirdPartyId: 'CRM-ACME' })).id;
    ids.globex = (await call('staging', 'POST', '/v1/customers', { name: 'Globex Industries', thirdPartyId: 'CRM-GLOBEX' })).id;
    await call('staging', 'POST', '/v1/users', { customerId: ids.acme, name: 'Ada Acmeson', email: 'ada@acme.test' });
    await call('staging', 'POST', '/v1/users', { customerId: ids.globex, name: 'Gus Globexer', email: 'gus@globex.test' });
    const assetType = (await call('staging', 'POST', '/v1/config/asset-types', { name: 'Laptop' })).entity.id;
    await call('staging', 'POST', '/v1/assets', { name: 'ACME-LT-001', assetTypeId: assetType, customerId: ids.acme });
    await call('staging', 'POST', '/v1/assets', { name: 'GLOBEX-LT-007', assetTypeId: assetType, customerId: ids.globex });
    await call('staging', 'POST', '/v1/config/ticket-rules', {
      name: 'Acme to the partner desk',
      use: 'new-tickets',
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [ids.acme] }],
      outcomes: [{ field: 'team', teamId: ids.partnerDesk }],
    });
    await call('staging', 'POST', '/v1/config/global-settings', { name: 'tickets.coManagedCannotReassign', value: true });
    await call('staging', 'POST', '/v1/config/view-lists', { name: 'Partner desk queue', teamIds: [ids.partnerDesk], closed: false, visibleToTeamIds: [ids.partnerDesk] });
    const flags = { addTickets: true, viewUnassignedTickets: true, viewTicketsAssignedToOthers: true, editTicketsNotAssigned: true };
    ids.samRole = (
      await call('staging', 'POST', '/v1/config/roles', {
        name: 'Service desk agents',
        ticketAccess: 'modify',
        customerAccess: 'modify',
        userAccess: 'modify',
        ticketPermissions: { ...flags, reassignTickets: true, assignOutsideOwnTeams: true },
        teamMemberships: [{ teamId: ids.serviceDesk, access: 'modify' }, { teamId: ids.partnerDesk, access: 'modify' }],
      })
    ).entity.id;
    const carlRole = (
      await call('staging', 'POST', '/v1/config/roles', {
        name: 'Acme co-managed agents',
        ticketAccess: 'modify',
        customerAccess: 'read',
        userAccess: 'read',
        ticketPermissions: flags,
        teamMemberships: [{ teamId: ids.partnerDesk, access: 'modify' }],
        customerRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
      })
    ).entity.id;
    await call('staging', 'POST', '/v1/agents', { ...people.sam, roleIds: [ids.samRole] });
    await call('staging', 'POST', '/v1/agents', {
      ...people.carl,
      roleIds: [carlRole],
      coManagedCustomerId: ids.acme,
      clientRestrictions: { allowAllCustomers: false, customerIds: [ids.acme] },
    });

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.setDefaultNavigationTimeout(45_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    for (const process of served) await stop(process);
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('builds a workflow with a restricted action and a ticket type in dev’s console, and pushes them to staging with the push dialog', async () => {
    await signIn('dev', 'admin', '/config/workflows/new');
    const form = page.getByRole('form', { name: 'New workflow' });
    await field('name').fill('Desk validation');
    // The workflow editor: steps in order, each with its actions; one action restricted to a team.
    await form.getByRole('button', { name: 'Add a step' }).click();
    await form.getByRole('button', { name: 'Add a step' }).click();
    const steps = [
      { id: 'new', name: 'New', status: 'New', actions: [{ id: 'start', name: 'Start work', next: 'Working' }, { id: 'escalate', name: 'Escalate', next: 'Working', status: 'Escalated', team: 'Service desk' }] },
      { id: 'work', name: 'Working', status: 'In progress', actions: [{ id: 'resolve', name: 'Resolve', status: 'Resolved' }] },
    ];
    for (const [s, step] of steps.entries()) {
      await field(`steps[${s}].name`).fill(step.name);
      await field(`steps[${s}].id`).fill(step.id);
      await field(`steps[${s}].statusId`).selectOption({ label: step.status });
    }
    await form.locator('[data-step="new"]').getByLabel('New tickets start here').check();
    for (const [s, step] of steps.entries()) {
      for (const [a, action] of step.actions.entries()) {
        await form.getByRole('button', { name: `Add an action to step ${step.name}` }).click();
        const at = `steps[${s}].actions[${a}]`;
        await field(`${at}.name`).fill(action.name);
        await field(`${at}.id`).fill(action.id);
        if ('next' in action && action.next) await field(`${at}.nextStepId`).selectOption({ label: action.next });
        if ('status' in action && action.status) await field(`${at}.setStatusId`).selectOption({ label: action.status });
        if ('team' in action && action.team) {
          await form.locator(`[data-step="${step.id}"] li[data-action="${action.id}"]`).getByLabel('Restrict access to this action').check();
          await field(`${at}.restrictToTeamIds`).selectOption({ label: action.team });
        }
      }
    }
    await expectAccessible(page, 'workflow form');
    await shot(page, 'desk-workflow-form', { fullPage: true });
    await form.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByTestId('saved-note').waitFor();

    await page.goto(`${urls.dev}/config/ticket-types/new`);
    await field('name').fill('Service request');
    await field('defaultTeamId').selectOption({ label: 'Service desk' });
    await field('workflowId').selectOption({ label: 'Desk validation' });
    await page.getByRole('button', { name: 'Create ticket type' }).click();
    await page.getByTestId('saved-note').waitFor();

    await page.goto(`${urls.dev}/instances/staging`);
    await page.getByRole('region', { name: 'Changes ahead' }).getByText('Service request').waitFor();
    await page.getByRole('button', { name: 'Push to staging…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Push to staging' });
    await dialog.getByRole('button', { name: 'Show the plan' }).click();
    const listed = await dialog.getByTestId('plan-changes').innerText();
    expect(listed).toContain('Desk validation');
    expect(listed).toContain('Service request');
    await dialog.getByRole('button', { name: /^Push \d+ changes?$/ }).click();
    await page.getByRole('dialog', { name: 'Push finished' }).getByText(/applied on staging/).waitFor();
    await page.getByRole('dialog', { name: 'Push finished' }).getByRole('button', { name: 'Close' }).click();
    const types = await call('staging', 'GET', '/v1/config/ticket-types?q=Service');
    expect(types.items.map((t: Answer) => t.name)).toEqual(['Service request']);
  });

  it('logs a ticket on staging, opens it, adds a note and runs its workflow’s actions; the restricted one is its team’s', async () => {
    await signIn('staging', 'sam');
    expect(new URL(page.url()).pathname).toBe('/desk/tickets');
    await page.getByRole('link', { name: 'Log a ticket' }).click();
    const form = page.getByRole('form', { name: 'Log a ticket' });
    // Refused first: a summary is needed; the field says so and nothing is written.
    await form.getByLabel('Customer').selectOption({ label: 'Globex Industries' });
    await form.getByLabel('User').selectOption({ label: 'Gus Globexer <gus@globex.test>' });
    await form.getByLabel('Ticket type').selectOption({ label: 'Service request' });
    await form.getByRole('button', { name: 'Log the ticket' }).click();
    await form.getByText('Nothing was written.').waitFor();
    expect(await form.getByLabel('Summary').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'log a ticket, refused');
    await shot(page, 'desk-log-ticket', { docs: true });
    await form.getByLabel('Summary').fill('VPN drops every hour');
    await form.getByLabel('Details').fill('Since the firewall update.');
    await form.getByRole('button', { name: 'Log the ticket' }).click();

    await page.getByRole('heading', { name: /VPN drops every hour/ }).waitFor();
    await page.getByTestId('logged-note').getByText('No ticket rule matched.').waitFor();
    ids.globexTicket = new URL(page.url()).pathname.split('/').pop()!;
    expect(await page.getByTestId('ticket-status').innerText()).toBe('New');
    expect(await page.getByTestId('ticket-team').innerText()).toBe('Service desk');
    const actions = page.getByRole('group', { name: 'Workflow actions' });
    await actions.getByRole('button', { name: 'Escalate' }).waitFor();
    await page.getByLabel('Note').fill('Called Gus: it is every hour on the hour.');
    await actions.getByRole('button', { name: 'Add note' }).click();
    const history = page.getByTestId('ticket-history');
    await history.getByText('Called Gus: it is every hour on the hour.').waitFor();
    await expectAccessible(page, 'ticket page');
    await shot(page, 'desk-ticket-page', { fullPage: true });

    await actions.getByRole('button', { name: 'Escalate' }).click();
    await expect.poll(() => page.getByTestId('ticket-status').innerText()).toBe('Escalated');
    await history.getByText('Escalate', { exact: true }).waitFor();
    await actions.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => page.getByTestId('ticket-status').innerText()).toBe('Resolved (closed)');
    expect(await actions.getByRole('button', { name: 'Resolve' }).count()).toBe(0);
    const recorded = (await call('staging', 'GET', `/v1/tickets/${ids.globexTicket}/actions`)).items.map((a: Answer) => [a.kind, a.name, a.actor.name]);
    expect(recorded).toEqual([
      ['created', 'Ticket logged', people.sam.name],
      ['note', 'Note', people.sam.name],
      ['workflow-action', 'Escalate', people.sam.name],
      ['workflow-action', 'Resolve', people.sam.name],
    ]);
    await shot(page, 'desk-ticket', { docs: true, fullPage: true });

    // Acme's ticket goes to the partner desk by the guide's rule.
    await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Tickets' }).click();
    await page.getByRole('link', { name: 'Log a ticket' }).click();
    await form.getByLabel('Customer').selectOption({ label: 'Acme Corp' });
    await form.getByLabel('Ticket type').selectOption({ label: 'Service request' });
    await form.getByLabel('Summary').fill('VPN certificate expired');
    await form.getByRole('button', { name: 'Log the ticket' }).click();
    await page.getByTestId('logged-note').getByText('Ticket rules that matched: Acme to the partner desk.').waitFor();
    expect(await page.getByTestId('ticket-team').innerText()).toBe('Acme partner desk');
    ids.acmeTicket = new URL(page.url()).pathname.split('/').pop()!;

    // A search saved as a list shared with every agent; the partner desk's view list of the configuration.
    await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Tickets' }).click();
    await page.getByLabel('Search by text in the summary').fill('vpn');
    await expect.poll(() => page.getByTestId('ticket-rows').locator('tr').count()).toBe(2);
    const save = page.getByRole('form', { name: 'Save this search as a list' });
    await save.getByLabel('List name').fill('VPN trouble');
    await save.getByLabel('Shared with every agent').check();
    await save.getByRole('button', { name: 'Save as a list' }).click();
    await page.getByRole('heading', { name: 'Tickets: VPN trouble' }).waitFor();
    await expect.poll(() => page.getByTestId('ticket-rows').locator('tr').count()).toBe(2);
    await page.getByRole('complementary', { name: 'Ticket lists' }).getByRole('link', { name: 'Partner desk queue' }).click();
    await expect.poll(async () => page.getByTestId('ticket-rows').locator('tr td:nth-child(2)').allInnerTexts()).toEqual(['VPN certificate expired']);
    await expectAccessible(page, 'ticket lists');
    await shot(page, 'desk-tickets', { docs: true });
  });

  it('offers a restricted action only to its team, and shows the server’s refusal when the team is gone', async () => {
    // The administrator is in no team: Escalate is not offered, Start work is.
    await signIn('staging', 'admin', `/desk/tickets/${ids.acmeTicket}`);
    const actions = page.getByRole('group', { name: 'Workflow actions' });
    await actions.getByRole('button', { name: 'Start work' }).waitFor();
    expect(await actions.getByRole('button', { name: 'Escalate' }).count()).toBe(0);
    await expectAccessible(page, 'ticket page without the restricted action');
    await shot(page, 'desk-restricted-not-offered');

    // Sam sees Escalate; while the page is open, Sam's role leaves the service desk: the server refuses.
    await signIn('staging', 'sam', `/desk/tickets/${ids.acmeTicket}`);
    await actions.getByRole('button', { name: 'Escalate' }).waitFor();
    const role = await call('staging', 'GET', `/v1/config/roles/${ids.samRole}`);
    await call('staging', 'PUT', `/v1/config/roles/${ids.samRole}`, { ...role.body, teamMemberships: [{ teamId: ids.partnerDesk, access: 'modify' }] });
    try {
      await actions.getByRole('button', { name: 'Escalate' }).click();
      const refusal = page.getByRole('alert').filter({ hasText: 'ACTION_RESTRICTED' });
      await refusal.getByText('Nothing was written.').waitFor();
      await expectAccessible(page, 'restricted action refused');
      await shot(page, 'desk-restricted-refused');
      expect((await call('staging', 'GET', `/v1/tickets/${ids.acmeTicket}`)).stepId).toBe('new');
    } finally {
      await call('staging', 'PUT', `/v1/config/roles/${ids.samRole}`, role.body);
    }
  });

  it('keeps customers, their users and assets: searched, created and edited', async () => {
    await signIn('staging', 'sam', '/desk/customers');
    await page.getByLabel('Search by name').fill('glob');
    await expect.poll(async () => page.getByTestId('customer-rows').locator('tr').allInnerTexts()).toEqual([expect.stringMatching(/Globex Industries\s+CRM-GLOBEX/)]);
    await page.getByLabel('Search by name').fill('');
    const add = page.getByRole('form', { name: 'New customer' });
    await add.getByLabel('Name').fill('Initech');
    await add.getByLabel('Third-party id (optional)').fill('CRM-ACME');
    await add.getByRole('button', { name: 'Add customer' }).click();
    await add.getByText('THIRD_PARTY_ID_TAKEN').waitFor();
    await add.getByLabel('Third-party id (optional)').fill('CRM-INITECH');
    await add.getByRole('button', { name: 'Add customer' }).click();
    await page.getByRole('heading', { name: 'Initech' }).waitFor();
    const user = page.getByRole('form', { name: 'New user' });
    await user.getByLabel('User name').fill('Peter Gibbons');
    await user.getByLabel('Email').fill('peter@initech.test');
    await user.getByRole('button', { name: 'Add user' }).click();
    await page.getByTestId('user-rows').getByText('Peter Gibbons').waitFor();
    await page.getByRole('button', { name: 'Edit Peter Gibbons' }).click();
    await page.getByRole('form', { name: 'Edit Peter Gibbons' }).getByLabel('User name').fill('Peter R. Gibbons');
    await page.getByRole('form', { name: 'Edit Peter Gibbons' }).getByRole('button', { name: 'Save user' }).click();
    await page.getByTestId('user-rows').getByText('Peter R. Gibbons').waitFor();
    await expectAccessible(page, 'customer page');
    await shot(page, 'desk-customer-page', { fullPage: true });

    await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Assets' }).click();
    await page.getByTestId('asset-rows').getByText('GLOBEX-LT-007').waitFor();
    await page.getByRole('link', { name: 'New asset' }).click();
    const asset = page.getByRole('form', { name: 'New asset' });
    await asset.getByLabel('Name').fill('INITECH-PRN-1');
    await asset.getByLabel('Asset type').selectOption({ label: 'Laptop' });
    await asset.getByLabel('Customer').selectOption({ label: 'Initech' });
    await asset.getByLabel('Peter R. Gibbons').check();
    await asset.getByRole('button', { name: 'Create asset' }).click();
    await page.getByRole('heading', { name: 'INITECH-PRN-1' }).waitFor();
    await page.getByTestId('saved-note').waitFor();
    await page.getByRole('form', { name: 'Edit INITECH-PRN-1' }).getByLabel('Name').fill('INITECH-PRN-2');
    await page.getByRole('button', { name: 'Save asset' }).click();
    await page.getByRole('heading', { name: 'INITECH-PRN-2' }).waitFor();
    await expectAccessible(page, 'asset page');
    await shot(page, 'desk-asset-page');
    const saved = (await call('staging', 'GET', '/v1/assets?q=INITECH')).items;
    expect(saved.map((a: Answer) => [a.name, a.body.userIds.length])).toEqual([['INITECH-PRN-2', 1]]);
    await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Assets' }).click();
    await page.getByLabel('Search by name').fill('initech');
    await expect.poll(async () => page.getByTestId('asset-rows').locator('tr').allInnerTexts()).toEqual([expect.stringMatching(/INITECH-PRN-2\s+Initech/)]);
    await expectAccessible(page, 'asset list');
    await shot(page, 'desk-asset-list');
  });

  it('shows the co-managed agent exactly its customer’s tickets, users and assets, with no filters and no configuration screens', async () => {
    await signIn('staging', 'carl');
    await expectCoManagedAgentView(page, {
      url: urls.staging,
      customer: 'Acme Corp',
      tickets: ['VPN certificate expired'],
      users: ['Ada Acmeson'],
      assets: ['ACME-LT-001'],
      sharedText: 'VPN',
      otherTicketId: ids.globexTicket,
      hidden: ['Globex', 'Gus Globexer', 'GLOBEX-LT-007', 'VPN drops every hour', 'Initech'],
      shot: (p, name) => shot(p, `desk-${name}`, { docs: name === 'co-managed-tickets' }),
    });
    // The lists shared with it run within its customer: the shared search shows Acme's part alone.
    await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Tickets' }).click();
    await page.getByRole('complementary', { name: 'Ticket lists' }).getByRole('link', { name: 'VPN trouble (shared)' }).click();
    await expect.poll(async () => page.getByTestId('ticket-rows').locator('tr td:nth-child(2)').allInnerTexts()).toEqual(['VPN certificate expired']);
    await page.getByRole('complementary', { name: 'Ticket lists' }).getByRole('link', { name: 'Partner desk queue' }).click();
    await expect.poll(async () => page.getByTestId('ticket-rows').locator('tr td:nth-child(2)').allInnerTexts()).toEqual(['VPN certificate expired']);
    expect(await page.locator('main').innerText()).not.toContain('Globex');
    await expectAccessible(page, 'co-managed agent running a shared list');
    // Configuration by its address: not offered, and the console says which right it needs.
    await page.goto(`${urls.staging}/config`);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    await page.getByText('config:read', { exact: true }).waitFor();
  });
});
