/// <reference lib="dom" />
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../../src/access/administrator-role.js';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { freePortRun } from '../support/cli.js';
import { engines } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/instance.js';
import { startProvider } from '../support/oidc-provider.js';
import type { Answer } from '../support/pipeline.js';

const ADMIN_PASSWORD = 'the walk administrator password';
const PARTNER_PASSWORD = 'the partner agent password';
const IDP_CLIENT = 'shiplog-console';
const IDP_SECRET = 'idp-client-secret-access-walk';
/** People the identity provider knows: the SSO-only agent. */
const accounts = { sam: { sub: 'sam', email: 'sam@desk.test', email_verified: true, name: 'Sam', groups: ['Service Desk'] } };

const GUIDE_TICKET_PERMISSIONS = [
  'addTickets',
  'editClosedTickets',
  'viewUnassignedTickets',
  'viewTicketsAssignedToOthers',
  'changeTicketType',
  'reassignTickets',
  'assignOutsideOwnTeams',
  'editTicketsNotAssigned',
  'overrideMaxPriority',
  'overrideReviewProcessing',
  'treatAsSpam',
  'exportTickets',
];

/** The console's navigation as the signed-in agent sees it. */
const navLinks = (page: Page) => page.getByRole('navigation', { name: 'Console' }).getByRole('link').allInnerTexts();

/**
 * The least-privilege guide in the console: the API-only agent with the guide's rights, its effective rights explained,
 * the application with the three permissions and its secret shown once, then used over OAuth; and signing in as the
 * guides' people — an SSO-only agent through a real OpenID provider, and the co-managed agent — who are offered only the
 * screens their rights cover and refused the rest, on screen and by the server.
 */
describe.each(engines)('access in the console, on %s', (engine) => {
  const shot = screenshots(engine);
  let t: TestApp;
  let url: string;
  let idp: Awaited<ReturnType<typeof startProvider>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const ids: Record<string, string> = {};
  let secret = '';
  let clientId = '';

  async function admin(method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...t.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** What the page's own session gets from the instance for a GET (the server's word, not the console's). */
  const statusInPage = (p: Page, path: string) => p.evaluate(async (target) => (await fetch(target)).status, path);

  async function signInWithPassword(p: Page, email: string, password: string): Promise<void> {
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByText('Signed in as').waitFor();
  }

  /** Another person's browser: its own cookies, closed afterwards. */
  async function inNewContext(run: (p: Page) => Promise<void>): Promise<void> {
    const other = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    try {
      const p = await other.newPage();
      p.setDefaultTimeout(30_000);
      p.setDefaultNavigationTimeout(60_000);
      await run(p);
    } finally {
      await other.close();
    }
  }

  async function expectNotAllowed(p: Page, path: string, permission: string): Promise<void> {
    await p.goto(`${url}${path}`);
    await p.getByRole('heading', { name: 'Not allowed' }).waitFor();
    await p.getByText(permission, { exact: true }).waitFor();
  }

  beforeAll(async () => {
    const port = await freePortRun(1);
    url = `http://127.0.0.1:${port}`;
    t = await createTestApp(engine, { name: 'dev', kind: 'development', publicUrl: url });
    await t.app.listen({ port, host: '127.0.0.1' });
    idp = await startProvider(`${url}/auth/sso/callback`, { accounts, clientIds: [IDP_CLIENT], clientSecret: IDP_SECRET });

    // A signed-in administrator for the walk (the bootstrap administrator's token sets it up).
    ids.admin = (await admin('POST', '/v1/agents', { name: 'Walk administrator', email: 'walk-admin@desk.test', password: ADMIN_PASSWORD, roleIds: [ADMINISTRATOR_ROLE_ID] })).id;
    ids.firstLine = (await admin('POST', '/v1/config/teams', { name: '1st Line Support' })).entity.id;
    ids.secondLine = (await admin('POST', '/v1/config/teams', { name: '2nd Line Support' })).entity.id;
    // The guide's role: ticket, client and users access read and modify, the twelve ticket permissions, read access to the teams.
    ids.integrationRole = (
      await admin('POST', '/v1/config/roles', {
        name: 'HaloPSA integration',
        ticketAccess: 'modify',
        customerAccess: 'modify',
        userAccess: 'modify',
        ticketPermissions: Object.fromEntries(GUIDE_TICKET_PERMISSIONS.map((flag) => [flag, true])),
        teamMemberships: [{ teamId: ids.firstLine }, { teamId: ids.secondLine }],
      })
    ).entity.id;
    ids.retired = (await admin('POST', '/v1/agents', { name: 'Retired integration', email: 'retired@msp.test', apiOnly: true, disabled: true })).id;

    // The SSO-only agent: no password, a role that reads configuration; the connection signs in to this instance.
    ids.readerRole = (await admin('POST', '/v1/config/roles', { name: 'Configuration reader', configAccess: 'read', ticketAccess: 'read' })).entity.id;
    await admin('POST', '/v1/agents', { name: 'Sam', email: 'sam@desk.test', roleIds: [ids.readerRole] });
    await admin('POST', '/v1/config/sso-connections', { name: 'Company login', protocol: 'oidc', issuer: idp.issuer, clientId: IDP_CLIENT, clientSecret: IDP_SECRET, instances: ['dev'] });

    // The co-managed support guide's agent: a co-managed team, a role restricted to the customer, the agent working for it.
    ids.northwind = (await admin('POST', '/v1/customers', { name: 'Northwind' })).id;
    ids.partnerTeam = (await admin('POST', '/v1/config/teams', { name: 'Northwind IT', isCoManaged: true })).entity.id;
    ids.partnerRole = (
      await admin('POST', '/v1/config/roles', {
        name: 'Co-managed Northwind',
        configAccess: 'none',
        ticketAccess: 'modify',
        customerRestrictions: { allowAllCustomers: false, customerIds: [ids.northwind] },
        teamMemberships: [{ teamId: ids.partnerTeam, access: 'modify' }],
      })
    ).entity.id;
    await admin('POST', '/v1/agents', {
      name: 'Nora at Northwind',
      email: 'nora@northwind.test',
      password: PARTNER_PASSWORD,
      coManagedCustomerId: ids.northwind,
      clientRestrictions: { allowAllCustomers: false, customerIds: [ids.northwind] },
      roleIds: [ids.partnerRole],
    });

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    page = await context.newPage();
    // On a busy machine the first load of the console may take a while.
    page.setDefaultTimeout(30_000);
    page.setDefaultNavigationTimeout(60_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.close();
  });

  it('creates the guide’s API-only agent in the console and explains its rights: which role gives which', async () => {
    await page.goto(`${url}/`);
    await signInWithPassword(page, 'walk-admin@desk.test', ADMIN_PASSWORD);
    expect(await navLinks(page)).toEqual(['Changes', 'Instances', 'Export and import', 'Configuration', 'Requests', 'Desk', 'Access', 'Settings', 'Audit log', 'Your access']);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Access', exact: true }).click();
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    await page.getByTestId('agent-rows').getByRole('link', { name: 'Retired integration' }).waitFor();
    await expectAccessible(page, 'agents');
    await shot(page, 'access-agents');

    await page.getByRole('link', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('TesthaloIntegration');
    await page.getByLabel('Email').fill('halo-integration@msp.test');
    await page.getByLabel('Is an API-only agent').check();
    // An API-only agent has no password to give.
    await expect.poll(() => page.getByLabel('Console password (optional)').count()).toBe(0);
    await page.getByLabel('HaloPSA integration').check();
    await expectAccessible(page, 'new agent');
    await shot(page, 'access-new-agent');
    await page.getByRole('button', { name: 'Create agent' }).click();

    await page.getByRole('heading', { name: 'TesthaloIntegration', level: 1 }).waitFor();
    const rights = page.getByTestId('rights');
    const row = (name: string) => rights.getByRole('row', { name: new RegExp(name) });
    await expect.poll(() => row('tickets:edit').innerText()).toMatch(/Edit tickets.*HaloPSA integration \(Ticket access: modify\)/s);
    await expect.poll(() => row('customers:read').innerText()).toMatch(/HaloPSA integration \(Client access: modify\)/);
    await expect.poll(() => row('users:edit').innerText()).toMatch(/HaloPSA integration \(Users access: modify\)/);
    await expect.poll(() => row('config:read').innerText()).toMatch(/Not given by any role held/);
    await rights.getByText('1st Line Support: read — HaloPSA integration (Team membership: read)').waitFor();
    for (const flag of GUIDE_TICKET_PERMISSIONS) await rights.getByText(flag, { exact: true }).waitFor();
    await expectAccessible(page, 'agent with its rights explained');
    await shot(page, 'access-agent-rights', { fullPage: true, docs: true });
    const created = await admin('GET', '/v1/agents?q=TesthaloIntegration');
    expect(created.items).toMatchObject([{ apiOnly: true, hasPassword: false, roles: [{ id: ids.integrationRole }] }]);
    ids.integration = created.items[0].id;

    // Disable and enable again: a disabled agent has no rights.
    await page.getByRole('button', { name: 'Disable agent' }).click();
    await rights.getByText('This agent is disabled').waitFor();
    expect((await admin('GET', `/v1/agents/${ids.integration}`)).disabled).toBe(true);
    await page.getByRole('button', { name: 'Enable agent' }).click();
    await expect.poll(() => row('tickets:edit').innerText()).toMatch(/Ticket access: modify/);

    // Search finds it by name.
    await page.goto(`${url}/access/agents`);
    await page.getByLabel('Search by name or email').fill('halo');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('halo');
    await expect.poll(() => page.getByTestId('agent-rows').getByRole('row').allInnerTexts()).toEqual([expect.stringMatching(/TesthaloIntegration.*HaloPSA integration.*API-only.*Enabled/s)]);

    // The co-managed agent: the customer it works for, and the scope its restrictions leave it.
    await page.getByLabel('Search by name or email').fill('northwind');
    await page.getByTestId('agent-rows').getByRole('link', { name: 'Nora at Northwind' }).click();
    await page.getByRole('heading', { name: 'Nora at Northwind', level: 1 }).waitFor();
    await expect.poll(() => page.getByLabel('Co-managed customer').inputValue()).toBe(ids.northwind);
    await page.getByTestId('rights').getByText('Only Northwind, what every restriction below allows:').waitFor();
  });

  it('creates the application with the three permissions: the secret shown once, then never again', async () => {
    await page.goto(`${url}/access/applications`);
    await page.getByRole('heading', { name: 'API applications' }).waitFor();
    await page.getByRole('link', { name: 'New application' }).click();
    await page.getByLabel('Application name').fill('Cybertest');
    // Checkboxes for what the administrator holds: every permission.
    expect(await page.getByRole('group', { name: 'Permissions' }).getByRole('checkbox').count()).toBe(14);
    for (const name of ['Read tickets', 'Edit tickets', 'Read customers']) await page.getByLabel(name, { exact: false }).first().check();
    // The server's refusal shows on the field at fault, and nothing is written.
    await page.getByLabel('Agent to log in as').selectOption({ label: 'Retired integration (API-only) — disabled' });
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByText(`Agent ${ids.retired} is disabled.`).first().waitFor();
    await page.getByText('Nothing was written.').waitFor();
    expect(await page.getByLabel('Agent to log in as').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'application refused on its agent');
    await shot(page, 'access-application-refused');
    expect((await admin('GET', '/v1/applications')).items).toEqual([]);

    await page.getByLabel('Agent to log in as').selectOption({ label: 'TesthaloIntegration (API-only)' });
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByRole('heading', { name: 'Copy the client secret now' }).waitFor();
    secret = await page.getByTestId('client-secret').innerText();
    clientId = await page.getByTestId('client-id').innerText();
    expect(secret).toMatch(/^\S{20,}$/);
    await page.getByRole('button', { name: 'Copy client secret' }).click();
    await page.getByText('The client secret is on the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await expectAccessible(page, 'client secret shown once');
    await shot(page, 'access-application-secret', { docs: true });
    const [created] = (await admin('GET', '/v1/applications')).items;
    expect(created).toMatchObject({ name: 'Cybertest', clientId, agentId: ids.integration, permissions: ['tickets:read', 'tickets:edit', 'customers:read'], enabled: true });
    ids.application = created.id;

    await page.getByRole('link', { name: 'I have copied the secret — go to the application' }).click();
    await page.getByRole('heading', { name: 'Cybertest', level: 1 }).waitFor();
    await page.getByText('shown only when created or rotated').waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByRole('heading', { name: 'Cybertest', level: 1 }).waitFor();
    await expect.poll(() => page.getByLabel('Read tickets').first().isChecked()).toBe(true);
    expect(await page.content()).not.toContain(secret);
    await expectAccessible(page, 'application');
    await shot(page, 'access-application');
    await page.goto(`${url}/access/applications/new`);
    await page.getByRole('heading', { name: 'New API application' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    await page.goto(`${url}/access/applications`);
    await page.getByTestId('application-rows').getByRole('link', { name: 'Cybertest' }).waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  const oauth = (id: string, clientSecret: string) => {
    const config = new client.Configuration({ issuer: url, token_endpoint: `${url}/auth/token` }, id, clientSecret, client.ClientSecretPost(clientSecret));
    client.allowInsecureRequests(config);
    return config;
  };
  const withToken = (token: string, path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  it('uses the application’s credentials over OAuth: an allowed route answers, a refused one is 403; a rotated secret is shown once', async () => {
    const token = await client.clientCredentialsGrant(oauth(clientId, secret));
    expect((await withToken(token.access_token, '/v1/tickets')).status).toBe(200);
    expect((await withToken(token.access_token, '/v1/customers')).status).toBe(200);
    const refused = await withToken(token.access_token, '/v1/config/teams');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await withToken(token.access_token, '/v1/agents')).status).toBe(403);

    await page.goto(`${url}/access/applications/${ids.application}`);
    await page.getByRole('button', { name: 'Rotate secret…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('stop working at once').waitFor();
    await dialog.getByRole('button', { name: 'Rotate the secret' }).click();
    await dialog.getByRole('heading', { name: 'Copy the client secret now' }).waitFor();
    const rotated = await dialog.getByTestId('client-secret').innerText();
    expect(rotated).not.toBe(secret);
    await expectAccessible(page, 'rotated secret');
    await shot(page, 'access-application-rotated');
    await dialog.getByRole('button', { name: 'I have copied it — close' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(rotated);
    // The old secret and its token stop working at once; the new one works.
    await expect(client.clientCredentialsGrant(oauth(clientId, secret))).rejects.toThrow();
    expect((await withToken(token.access_token, '/v1/tickets')).status).toBe(401);
    const fresh = await client.clientCredentialsGrant(oauth(clientId, rotated));
    expect((await withToken(fresh.access_token, '/v1/tickets')).status).toBe(200);

    // Disabled in the console, the application gets no token.
    await page.getByRole('button', { name: 'Disable application' }).click();
    await page.getByRole('button', { name: 'Enable application' }).waitFor();
    await expect(client.clientCredentialsGrant(oauth(clientId, rotated))).rejects.toThrow();
    expect((await withToken(fresh.access_token, '/v1/tickets')).status).toBe(401);
  });

  it('signs in an SSO-only agent through the provider: the screens its rights cover, and "not allowed" for the rest', async () => {
    await inNewContext(async (p) => {
      await p.goto(`${url}/`);
      await p.getByRole('heading', { name: 'Sign in to dev' }).waitFor();
      idp.login('sam');
      await p.getByRole('link', { name: 'Company login' }).click();
      await p.getByText('Signed in as').waitFor();
      await p.getByText('Sam', { exact: true }).waitFor();
      expect(new URL(p.url()).pathname).toBe('/changes');
      expect(await navLinks(p)).toEqual(['Changes', 'Instances', 'Export and import', 'Configuration', 'Requests', 'Desk', 'Your access']);
      // Reading configuration is not pushing it: no rollback, sync, link or import is offered.
      await p.getByRole('link', { name: 'Instances' }).click();
      await p.getByRole('heading', { name: 'Instances and pipeline' }).waitFor();
      expect(await p.getByRole('button', { name: 'Link an instance…' }).count()).toBe(0);
      await p.getByRole('link', { name: 'Export and import' }).click();
      await p.getByRole('heading', { name: /^Export and import/ }).waitFor();
      expect(await p.getByRole('heading', { name: 'Import', exact: true }).count()).toBe(0);
      await p.getByRole('link', { name: 'Changes' }).click();
      await expectAccessible(p, 'change list as the SSO-only agent');
      await shot(p, 'access-sso-agent-changes');

      await p.getByRole('link', { name: 'Your access' }).click();
      await p.getByRole('heading', { name: 'Your access' }).waitFor();
      await expect.poll(() => p.getByRole('row', { name: /config:read/ }).innerText()).toMatch(/Configuration reader \(Configuration access: read\)/);
      await expect.poll(() => p.getByRole('row', { name: /access:manage/ }).innerText()).toMatch(/Not given by any role held/);
      await expectAccessible(p, 'own rights, SSO-only agent');
      await shot(p, 'access-sso-agent-rights');

      await expectNotAllowed(p, '/access/agents', 'access:manage');
      await expectAccessible(p, 'not allowed');
      await shot(p, 'access-not-allowed');
      await expectNotAllowed(p, '/settings', 'config:edit');
      await expectNotAllowed(p, '/audit', 'audit:read');
      // The server refuses them anyway.
      expect(await statusInPage(p, '/v1/agents')).toBe(403);
      expect(await statusInPage(p, '/v1/settings')).toBe(403);
      expect(await statusInPage(p, '/v1/audit')).toBe(403);
      expect(await statusInPage(p, '/v1/changes')).toBe(200);
    });
  });

  it('signs in the co-managed agent: only the desk and its own access are offered, configuration and access are refused', async () => {
    await inNewContext(async (p) => {
      await p.goto(`${url}/`);
      await signInWithPassword(p, 'nora@northwind.test', PARTNER_PASSWORD);
      // No configuration to read: it starts at the desk, where its customer's tickets are.
      await p.waitForURL(/\/desk\/tickets/);
      expect(await navLinks(p)).toEqual(['Desk', 'Your access']);
      await p.getByRole('link', { name: 'Your access' }).click();
      await p.getByRole('heading', { name: 'Your access' }).waitFor();
      const rights = p.getByTestId('rights');
      await expect.poll(() => p.getByRole('row', { name: /tickets:edit/ }).innerText()).toMatch(/Co-managed Northwind \(Ticket access: modify\)/);
      await rights.getByText('Northwind IT: read and modify — Co-managed Northwind (Team membership: modify)').waitFor();
      await rights.getByText('Only Northwind, what every restriction below allows:').waitFor();
      await rights.getByText("The agent's own client restrictions: Northwind").waitFor();
      await rights.getByText('Role Co-managed Northwind: Northwind').waitFor();
      await expectAccessible(p, 'own rights, co-managed agent');
      await shot(p, 'access-co-managed-rights', { fullPage: true });

      await expectNotAllowed(p, '/changes', 'config:read');
      await expectNotAllowed(p, '/config/teams', 'config:read');
      await expectNotAllowed(p, '/access/applications', 'access:manage');
      await expectAccessible(p, 'not allowed, co-managed agent');
      await shot(p, 'access-co-managed-not-allowed', { docs: true });
      expect(await statusInPage(p, '/v1/config/teams')).toBe(403);
      expect(await statusInPage(p, '/v1/applications')).toBe(403);
      expect(await statusInPage(p, '/v1/agents/me/rights')).toBe(200);
    });
  });
});
