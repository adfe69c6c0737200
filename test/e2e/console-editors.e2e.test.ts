/// <reference lib="dom" />
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { api, freePortRun, removeTempDirs, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { expectCoManagedAgentView } from '../support/co-managed-view.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import type { Answer } from '../support/pipeline.js';

const PASSWORD = 'a console password for the editors walk';
const EMAIL = 'admin@shiplog.local';
const stageNames = ['dev', 'staging', 'production'] as const;

afterAll(removeTempDirs);

/**
 * The co-managed support guide, from "create a new Role" to its summary, built in the console's hand-crafted editors on
 * development (the demo pipeline), then read back through the API; and the other editors: webhooks with a test
 * delivery to a local receiver, SSO connections, mailboxes.
 */
describe.each(engines)('the configuration editors in Chromium on %s', (engine) => {
  const token = `shp_editors_${randomBytes(18).toString('base64url')}`;
  const databases: TestDatabase[] = [];
  const shot = screenshots(engine);
  const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  let demo: Spawned;
  let dev: string;
  let receiver: Server;
  let receiverUrl: string;
  let browser: Browser;
  let page: Page;
  const ids = {} as Record<'contoso' | 'fabrikam' | 'team' | 'role', string>;

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await api(dev, path, token, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  const field = (path: string) => page.locator(`[data-field="${path}"]`);
  const saved = () => page.getByTestId('saved-note');
  /** After a create: the saved note, or the refusal's words as the failure. */
  async function created(): Promise<void> {
    await page.locator('[data-testid="saved-note"], form [role="alert"]').first().waitFor();
    const refusal = page.locator('form [role="alert"]');
    if ((await refusal.count()) > 0) throw new Error(`refused: ${await refusal.first().innerText()}`);
  }
  const savedId = () => new URL(page.url()).pathname.split('/').pop()!;
  const byName = async (type: string, name: string) => ((await call('GET', `/v1/config/${type}?q=${encodeURIComponent(name)}`)).items as Answer[]).find((e) => e.name === name)!;

  beforeAll(async () => {
    const base = await freePortRun(3);
    const args = ['demo', '--dir', tempDir(), '--base-port', String(base)];
    if (engine === 'postgres') {
      const prefix = `shiplog_t_${randomBytes(5).toString('hex')}`;
      for (const name of stageNames) databases.push(await createTestDatabase(engine, { migrate: false, name: `${prefix}_${name}` }));
      args.push('--database', databases[0]!.url.replace(/_dev$/, '_{name}'));
    }
    demo = spawnCli(args, { SHIPLOG_ADMIN_PASSWORD: PASSWORD, SHIPLOG_ADMIN_TOKEN: token });
    await waitForOutput(demo, (stdout) => /shiplog push staging\n/.test(stdout), 'demo banner', 90_000);
    dev = `http://127.0.0.1:${base}`;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body });
        res.end('thanks');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    // The clients the co-managed provider supports, and one it does not: desk records, there before the guide starts.
    ids.contoso = (await call('POST', '/v1/customers', { name: 'Contoso' })).id;
    ids.fabrikam = (await call('POST', '/v1/customers', { name: 'Fabrikam' })).id;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${dev}/config`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor();
    await page.getByLabel('Change set for this session').fill('co-managed-setup');
    await page.getByRole('button', { name: 'Use this label' }).click();
    await page.getByText('Saves are labelled co-managed-setup.').waitFor();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    if (demo) await stop(demo);
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('creates the co-managed team, then the role: limited access, team membership, the supported client only', async () => {
    await page.goto(`${dev}/config/teams/new`);
    await field('name').locator('input').fill('Contoso MSP Agents');
    await field('isCoManaged').locator('input[type="checkbox"]').check();
    await page.getByRole('button', { name: 'Create team' }).click();
    await created();
    ids.team = savedId();

    await page.goto(`${dev}/config/roles/new`);
    await page.getByRole('heading', { name: 'Access levels' }).waitFor();
    await field('name').locator('input').fill('Co-managed: Contoso MSP');
    await page.getByLabel('Tickets: Read and modify').check();
    await page.getByLabel('Customers (clients) and their assets: Read', { exact: true }).check();
    await page.getByLabel('Users: Read', { exact: true }).check();
    await page.getByLabel('Can add new tickets').check();
    await page.getByLabel('Can view unassigned tickets').check();
    await page.getByRole('button', { name: 'Add a team membership' }).click();
    await field('teamMemberships[0].teamId').locator('select').selectOption({ label: 'Contoso MSP Agents' });
    await field('teamMemberships[0].teamId').getByRole('link', { name: 'Open Contoso MSP Agents' }).waitFor();
    await page.getByLabel('Access to the team’s tickets').selectOption('modify');
    await page.getByLabel('No — only the customers below').check();
    await page.getByLabel('Find a customer by name').fill('Conto');
    await page.getByLabel('Customers these agents may see', { exact: true }).selectOption({ label: 'Contoso' });
    await page.getByRole('button', { name: 'Remove Contoso' }).waitFor();
    await page.getByTestId('customer-group-override').waitFor();
    await expectAccessible(page, 'role editor');
    await shot(page, 'editor-role', { docs: true, fullPage: true });
    await page.getByRole('button', { name: /^Create role/ }).click();
    await created();
    await expect.poll(() => saved().innerText()).toMatch(/Saved and recorded as a change in change set co-managed-setup/);
    ids.role = savedId();
    await page.getByRole('link', { name: /History of this role/ }).waitFor();
  });

  it('creates the ticket rule: new tickets of the client go to the new team, without stopping other rules; and places it among the rules', async () => {
    await page.goto(`${dev}/config/ticket-rules/new`);
    await field('name').locator('input').fill('Contoso tickets to Contoso MSP Agents');
    await page.getByLabel('New tickets', { exact: true }).check();
    expect(await page.getByLabel('Stop matching other rules when matched').isChecked()).toBe(false);
    await page.getByRole('button', { name: 'Add a criterion' }).click();
    const criterion = page.locator('[data-row="criteria[0]"]');
    expect(await criterion.getByLabel('Criterion 1: field').inputValue()).toBe('customer');
    await field('criteria[0].operator').locator('select').selectOption('includes');
    await criterion.getByLabel('Customers', { exact: true }).selectOption({ label: 'Contoso' });
    await page.getByRole('button', { name: 'Add an outcome' }).click();
    await field('outcomes[0].teamId').locator('select').selectOption({ label: 'Contoso MSP Agents' });
    const order = page.getByRole('list', { name: 'Rules in order' });
    await expect.poll(() => order.innerText()).toContain('VPN incidents go to Network');
    await expectAccessible(page, 'ticket rule editor');
    await shot(page, 'editor-ticket-rule', { fullPage: true });
    // Saving with no criterion is refused on the field, and nothing is written.
    await page.getByRole('button', { name: 'Remove criterion 1' }).click();
    await page.getByRole('button', { name: 'Create ticket rule' }).click();
    await page.getByText('Nothing was written.').waitFor();
    expect(await field('criteria').locator('p.text-red-800').innerText()).toMatch(/1/);
    await page.getByRole('button', { name: 'Add a criterion' }).click();
    await page.locator('[data-row="criteria[0]"]').getByLabel('Customers', { exact: true }).selectOption({ label: 'Contoso' });
    await page.getByRole('button', { name: 'Move later' }).click();
    const places = async () => {
      const texts = await order.locator('li').allInnerTexts();
      return texts.findIndex((t) => t.includes('(this rule)')) > texts.findIndex((t) => t.includes('VPN incidents go to Network'));
    };
    await expect.poll(places).toBe(true);
    await page.getByRole('button', { name: 'Create ticket rule' }).click();
    await page.waitForURL(/\/config\/ticket-rules\/[0-9A-Z]{26}/);
    await created();
  });

  it('restricts an escalation action of the Incident workflow to the new team and role', async () => {
    const workflow = await byName('workflows', 'Incident');
    await page.goto(`${dev}/config/workflows/${workflow.id}`);
    const step = page.locator('[data-step="working"]');
    const before = workflow.version as string;
    await step.getByRole('button', { name: 'Add an action to step In progress' }).click();
    const action = step.locator('li[data-action="action-2"]');
    await action.locator('[data-field="steps[1].actions[1].name"] input').fill('Escalate to Contoso MSP');
    await action.getByLabel('Moves the ticket to').selectOption({ label: 'Resolved' });
    await action.getByLabel('Restrict access to this action').check();
    await field('steps[1].actions[1].restrictToTeamIds').locator('select').selectOption({ label: 'Contoso MSP Agents' });
    await field('steps[1].actions[1].restrictToRoleIds').locator('select').selectOption({ label: 'Co-managed: Contoso MSP' });
    await field('steps[1].actions[1].restrictToTeamIds').getByRole('link', { name: 'Contoso MSP Agents' }).waitFor();
    // The new action goes first in its step.
    await action.getByRole('button', { name: 'Move action Escalate to Contoso MSP of step In progress up' }).click();
    await expect.poll(() => step.locator('li[data-action]').first().getAttribute('data-action')).toBe('action-2');
    await expectAccessible(page, 'workflow editor');
    await shot(page, 'editor-workflow', { docs: true, fullPage: true });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await saved().waitFor();
    await expect.poll(async () => (await byName('workflows', 'Incident')).version).not.toBe(before);
  });

  it('turns on the general setting: co-managed agents cannot re-assign tickets of regular agents', async () => {
    await page.goto(`${dev}/config/global-settings/new`);
    await field('name').locator('input').fill('tickets.coManagedCannotReassign');
    await field('value').locator('input').fill('true');
    await field('description').locator('input, textarea').fill('Agents using co-managed functionality cannot re-assign tickets from non co-managed agents.');
    await page.getByRole('button', { name: 'Create global setting' }).click();
    await created();
    await expectAccessible(page, 'general setting');
  });

  it('built what the guide asks, as the API reads it back, every change in the change set', async () => {
    const team = (await call('GET', `/v1/config/teams/${ids.team}`)).body;
    expect(team).toMatchObject({ name: 'Contoso MSP Agents', isCoManaged: true });
    const role = (await call('GET', `/v1/config/roles/${ids.role}`)).body;
    expect(role).toMatchObject({
      name: 'Co-managed: Contoso MSP',
      configAccess: 'none',
      canPushConfig: false,
      ticketAccess: 'modify',
      customerAccess: 'read',
      userAccess: 'read',
      teamMemberships: [{ teamId: ids.team, access: 'modify' }],
      customerRestrictions: { allowAllCustomers: false, customerIds: [ids.contoso] },
    });
    expect(Object.entries(role.ticketPermissions).filter(([, on]) => on).map(([key]) => key).sort()).toEqual(['addTickets', 'viewUnassignedTickets']);
    expect(role.agentIds).toEqual([]);

    const rule = (await byName('ticket-rules', 'Contoso tickets to Contoso MSP Agents')).body;
    const vpn = (await byName('ticket-rules', 'VPN incidents go to Network')).body;
    expect(rule).toMatchObject({
      use: 'new-tickets',
      stopWhenMatched: false,
      enabled: true,
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [ids.contoso] }],
      outcomes: [{ field: 'team', teamId: ids.team }],
    });
    expect(rule.sequence).toBeGreaterThan(vpn.sequence);

    const workflow = (await byName('workflows', 'Incident')).body;
    const working = workflow.steps.find((s: Answer) => s.id === 'working');
    expect(working.actions.map((a: Answer) => a.name)).toEqual(['Escalate to Contoso MSP', 'Resolve']);
    expect(working.actions[0]).toEqual({ id: 'action-2', name: 'Escalate to Contoso MSP', nextStepId: 'resolved', restrictAccess: true, restrictToTeamIds: [ids.team], restrictToRoleIds: [ids.role] });
    expect(working.actions[1]).toMatchObject({ id: 'resolve', restrictAccess: false });

    expect((await byName('global-settings', 'tickets.coManagedCannotReassign')).body.value).toBe(true);
    const changes = (await call('GET', '/v1/changes?changeSet=co-managed-setup&limit=50')).items as Answer[];
    expect(changes.map((c) => c.type).sort()).toEqual(['global-settings', 'roles', 'teams', 'ticket-rules', 'workflows']);
  });

  it('gives the guide’s co-managed agent the role in the Access screens, and signs in as it: its client’s tickets, users and assets, nothing else', async () => {
    // The desk records of both clients, there before the agent starts work.
    await call('POST', '/v1/users', { customerId: ids.contoso, name: 'Cora Contoso', email: 'cora@contoso.test' });
    await call('POST', '/v1/users', { customerId: ids.fabrikam, name: 'Fred Fabrikam', email: 'fred@fabrikam.test' });
    const laptop = (await call('POST', '/v1/config/asset-types', { name: 'Walk laptop' })).entity.id;
    await call('POST', '/v1/assets', { name: 'CONTOSO-LT-01', assetTypeId: laptop, customerId: ids.contoso });
    await call('POST', '/v1/assets', { name: 'FABRIKAM-LT-09', assetTypeId: laptop, customerId: ids.fabrikam });
    const ticketTypeId = ((await call('GET', '/v1/config/ticket-types?limit=1')).items as Answer[])[0]!.id;
    const contosoTicket = await call('POST', '/v1/tickets', { customerId: ids.contoso, ticketTypeId, summary: 'Printer offline at Contoso' });
    // The guide's ticket rule sends the client's new tickets to the co-managed team.
    expect(contosoTicket.ticket.teamId).toBe(ids.team);
    const otherTicket = await call('POST', '/v1/tickets', { customerId: ids.fabrikam, ticketTypeId, summary: 'Printer jam at Fabrikam' });

    await page.goto(`${dev}/access/agents/new`);
    await page.getByLabel('Name').fill('Casey Contoso MSP');
    await page.getByLabel('Email').fill('casey@contoso-msp.test');
    await page.getByLabel('Console password (optional)').fill('casey works for contoso only');
    await page.getByLabel('Co-managed: Contoso MSP').check();
    await page.getByLabel('Co-managed customer').selectOption({ label: 'Contoso' });
    await expectAccessible(page, 'new co-managed agent');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'Casey Contoso MSP', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('rights').getByRole('row', { name: /tickets:edit/ }).innerText()).toMatch(/Co-managed: Contoso MSP/);
    await shot(page, 'editors-co-managed-agent', { fullPage: true });

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    try {
      const agent = await context.newPage();
      agent.setDefaultTimeout(20_000);
      await agent.goto(`${dev}/`);
      await agent.getByLabel('Email').fill('casey@contoso-msp.test');
      await agent.getByLabel('Password').fill('casey works for contoso only');
      await agent.getByRole('button', { name: 'Sign in', exact: true }).click();
      await agent.getByText('Signed in as').waitFor();
      await expectCoManagedAgentView(agent, {
        url: dev,
        customer: 'Contoso',
        tickets: ['Printer offline at Contoso'],
        users: ['Cora Contoso'],
        assets: ['CONTOSO-LT-01'],
        sharedText: 'Printer',
        otherTicketId: otherTicket.ticket.id,
        hidden: ['Fabrikam', 'Fred Fabrikam', 'FABRIKAM-LT-09', 'Printer jam at Fabrikam'],
        shot: (p, name) => shot(p, `editors-${name}`),
      });
    } finally {
      await context.close();
    }
  });

  it('sends a test delivery of a webhook to a local receiver and shows it in the delivery log, no secret on the page', async () => {
    await page.goto(`${dev}/config/webhooks/new`);
    await field('name').locator('input').fill('Contoso feed');
    await field('url').locator('input').fill(`${receiverUrl}/contoso`);
    await field('events').getByRole('button', { name: 'Add event' }).click();
    await field('signingSecret').locator('input[type="password"]').fill('contoso-feed-signing-secret');
    await field('enabledInstances').getByLabel('dev').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await created();
    await page.getByText('Nothing sent yet.').waitFor();
    await page.getByRole('button', { name: 'Send a test delivery' }).click();
    const row = page.getByTestId('delivery-rows').locator('tbody tr').first();
    await expect.poll(() => row.innerText(), { timeout: 20_000 }).toMatch(/test\s+delivered\s+1 of 1\s+HTTP 200/);
    expect(received.filter((r) => r.url === '/contoso')).toHaveLength(1);
    expect(received[0]!.headers['shiplog-event']).toBe('test');
    expect(received[0]!.headers['shiplog-signature']).toEqual(expect.any(String));
    expect(await page.content()).not.toContain('contoso-feed-signing-secret');
    await expectAccessible(page, 'webhook with its delivery log');
    await shot(page, 'editor-webhook-deliveries', { docs: true, fullPage: true });

    // Not enabled here: the test is refused on the field, and nothing is sent.
    await field('enabledInstances').getByLabel('dev').uncheck();
    await field('enabledInstances').getByLabel('staging').check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(async () => (await call('GET', `/v1/config/webhooks/${savedId()}`)).body.enabledInstances).toEqual(['staging']);
    await page.getByRole('button', { name: 'Send a test delivery' }).click();
    await page.getByText(/does not fire on this instance/).first().waitFor();
    expect(received.filter((r) => r.url === '/contoso')).toHaveLength(1);
  });

  it('edits a notification with the fields of its channel only, and sends it a test delivery', async () => {
    await page.goto(`${dev}/config/notifications/new`);
    await field('name').locator('input').fill('Contoso closures');
    await field('event').locator('select').selectOption('ticket.closed');
    await field('recipients').waitFor();
    expect(await field('webhookUrl').count()).toBe(0);
    await field('channel').locator('select').selectOption('webhook');
    await field('webhookUrl').waitFor();
    expect(await field('recipients').count()).toBe(0);
    await field('webhookUrl').locator('input[type="password"]').fill(`${receiverUrl}/notify/contoso-k3y`);
    await page.getByRole('button', { name: 'Create notification' }).click();
    await created();
    await page.getByRole('button', { name: 'Send a test delivery' }).click();
    const row = page.getByTestId('delivery-rows').locator('tbody tr').first();
    await expect.poll(() => row.innerText(), { timeout: 20_000 }).toMatch(/test\s+delivered\s+1 of 1\s+HTTP 200/);
    expect(received.filter((r) => r.url === '/notify/contoso-k3y')).toHaveLength(1);
    expect(await page.content()).not.toContain('contoso-k3y');
    await expectAccessible(page, 'notification with its delivery log');
    await shot(page, 'editor-notification', { fullPage: true });
    // Back to email: the stored address is cleared when saved, as the email channel takes none.
    await field('channel').locator('select').selectOption('email');
    expect(await field('webhookUrl').count()).toBe(0);
    await field('recipients').getByRole('button', { name: 'Add recipient' }).click();
    await field('recipients').locator('input').fill('msp@contoso.test');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const id = savedId();
    await expect.poll(async () => (await call('GET', `/v1/config/notifications/${id}`)).body.channel).toBe('email');
    expect((await call('GET', `/v1/config/notifications/${id}`)).body).toMatchObject({ recipients: ['msp@contoso.test'] });
    expect((await call('GET', `/v1/config/notifications/${id}`)).body.webhookUrl).toBeUndefined();
  });

  it('edits an SSO connection: the instances it signs in to, a claim rule, the client secret write-only', async () => {
    await page.goto(`${dev}/config/sso-connections/new`);
    await field('name').locator('input').fill('Entra ID');
    await field('issuer').locator('input').fill('https://login.example.test/tenant/v2.0');
    await field('clientId').locator('input').fill('shiplog-console');
    await field('clientSecret').locator('input[type="password"]').fill('entra-client-secret-value');
    await field('instances').getByLabel('dev').check();
    await field('instances').getByLabel('staging').check();
    await page.getByRole('button', { name: 'Add a claim rule' }).click();
    await page.locator('[data-row="claimValidations[0]"]').getByLabel('Value').fill('Service Desk Admins');
    await expect.poll(() => page.getByTestId('claim-summary').innerText()).toBe('Signs in only when groups contains “Service Desk Admins”.');
    await page.getByRole('button', { name: 'Create single sign-on connection' }).click();
    await created();
    await field('clientSecret').getByText('Set — the value is never shown').waitFor();
    expect(await page.content()).not.toContain('entra-client-secret-value');
    const connection = (await call('GET', `/v1/config/sso-connections/${savedId()}`)).body;
    expect(connection).toMatchObject({ instances: ['dev', 'staging'], clientSecret: { set: true }, claimValidations: [{ claim: 'groups', operator: 'contains', value: 'Service Desk Admins' }] });
    await expectAccessible(page, 'SSO connection editor');
    await shot(page, 'editor-sso', { fullPage: true });
  });

  it('edits a mailbox: credentials per instance, a password set, then cleared for one instance only', async () => {
    // Credentials for more than one instance travel only in a tracked mailbox.
    await call('PATCH', '/v1/settings', { trackMailboxes: true });
    await page.goto(`${dev}/config/mailboxes/new`);
    await field('name').locator('input').fill('Contoso support');
    await field('address').locator('input').fill('support@contoso.test');
    await field('type').locator('select').selectOption('imap');
    for (const instance of ['dev', 'staging']) {
      const card = page.locator(`[data-instance="${instance}"]`);
      await card.getByRole('button', { name: `Set up credentials for ${instance}` }).click();
      await card.locator('[data-field$=".mailboxAddress"] input').fill(`support-${instance}@mail.test`);
      await card.locator('[data-field$=".username"] input').fill(`${instance}-reader`);
      await card.locator('[data-field$=".password"] input[type="password"]').fill(`${instance}-mailbox-password`);
    }
    await page.locator('[data-instance="production"]').getByText('Does not read this mailbox.').waitFor();
    await page.getByRole('button', { name: /^Create mailbox/ }).click();
    await created();
    const id = savedId();
    const staging = page.locator('[data-instance="staging"]');
    await staging.getByText('Set — the value is never shown').first().waitFor();
    await expectAccessible(page, 'mailbox editor');
    await shot(page, 'editor-mailbox', { fullPage: true });
    await staging.locator('[data-field$=".password"]').getByRole('button', { name: 'Clear' }).click();
    await staging.getByText('Cleared when you save.').waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const credentials = async () => ((await call('GET', `/v1/config/mailboxes/${id}`)).body.credentials as Answer[]).map((c) => [c.instance, c.mailboxAddress, c.password ?? null]);
    await expect.poll(credentials).toEqual([
      ['dev', 'support-dev@mail.test', { set: true }],
      ['staging', 'support-staging@mail.test', null],
    ]);
    expect(await page.content()).not.toContain('dev-mailbox-password');
  });

  it('shows the server refusing a configuration editor who changes who holds a role: access management, nothing written', async () => {
    const editors = (await call('POST', '/v1/config/roles', { name: 'Configuration editors', configAccess: 'modify' })).entity.id as string;
    await call('POST', '/v1/agents', { name: 'Eve Editor', email: 'eve@shiplog.local', password: 'eve edits the configuration', thirdPartyId: 'entra:eve', roleIds: [editors] });
    const held = (await call('POST', '/v1/config/roles', { name: 'Night shift', ticketAccess: 'read' })).entity.id as string;
    const role = await call('GET', `/v1/config/roles/${held}`);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    const eve = await context.newPage();
    eve.setDefaultTimeout(20_000);
    await eve.goto(`${dev}/config/roles/${held}`);
    await eve.getByLabel('Email').fill('eve@shiplog.local');
    await eve.getByLabel('Password').fill('eve edits the configuration');
    await eve.getByRole('button', { name: 'Sign in', exact: true }).click();
    await eve.getByRole('heading', { name: 'Who holds this role' }).waitFor();
    // Eve may not list agents; linking herself by her third-party id is still changing who holds the role.
    await eve.locator('[data-field="agentThirdPartyIds"]').getByRole('button', { name: 'Add agent third party id' }).click();
    await eve.getByLabel('Agent third party ids 1').fill('entra:eve');
    await eve.getByRole('button', { name: 'Save', exact: true }).click();
    const refused = eve.getByTestId('access-refused');
    await refused.getByText('The server refused this as access management.').waitFor();
    await refused.scrollIntoViewIfNeeded();
    await expectAccessible(eve, 'role holders refused');
    await shot(eve, 'editor-role-holders-refused');
    expect((await call('GET', `/v1/config/roles/${held}`)).version).toBe(role.version);
    await context.close();
  });
});
