/// <reference lib="dom" />
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { engines } from '../support/databases.js';
import { create, ok, replace, startPipeline, type Pipeline } from '../support/pipeline.js';
import { createAgent, type TestAgent } from '../support/principals.js';

const RITA_PASSWORD = 'rita asks for promotions';
const ANN_PASSWORD = 'ann approves promotions';

/**
 * Promotion requests in production's console: staging's push (by Rita) becomes a request; Rita's own approval is
 * refused on screen, Ann approves and applies it; a second request whose team was hotfixed in production goes stale
 * when applied, and its page says why.
 */
describe.each(engines)('promotion requests in the console, on %s', (engine) => {
  const shot = screenshots(engine);
  let pipeline: Pipeline;
  let ritaOnStaging: TestAgent;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let rita: Page;
  let ann: Page;
  let departmentId: string;
  let teamId: string;
  let firstRequest: string;

  /** Staging pushes the given changes into production as Rita: production answers with the request it holds. */
  async function pushAsRita(changeIds: string[], description: string): Promise<string> {
    const pushed = await pipeline.staging.call('POST', '/v1/instances/production/push', { changeIds, description }, ritaOnStaging.headers);
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(202);
    return pushed.body.request.id as string;
  }

  async function signedIn(email: string, password: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${pipeline.production.url}/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor();
    return page;
  }

  beforeAll(async () => {
    pipeline = await startPipeline(engine);
    const { dev, staging, production } = pipeline;
    ritaOnStaging = await createAgent(staging, { name: 'Rita Requester', email: 'rita@example.test', roles: [{ configAccess: 'read', canPushConfig: true }] });
    // Rita is the same person in production (the same address) and may approve, but not her own requests.
    await createAgent(production, { name: 'Rita Requester', email: 'rita@example.test', password: RITA_PASSWORD, roles: [{ configAccess: 'read', canPushConfig: true, canApprovePromotions: true }] });
    await createAgent(production, { name: 'Ann Approver', email: 'ann@example.test', password: ANN_PASSWORD, roles: [{ configAccess: 'read', canApprovePromotions: true }] });
    departmentId = (await create(dev, 'departments', { name: 'Operations' })).id;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
    await ok(staging, 'POST', '/v1/instances/production/push', {});
    await ok(production, 'PATCH', '/v1/promotion-policy', { approvalsRequired: 1, timeZone: 'UTC' });
    const team = await create(dev, 'teams', { name: 'Night shift', departmentId });
    teamId = team.id;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
    firstRequest = await pushAsRita([team.changeId], 'Night shift team for the Q1 rota');
    browser = await launchChromium();
    [rita, ann] = await Promise.all([signedIn('rita@example.test', RITA_PASSWORD), signedIn('ann@example.test', ANN_PASSWORD)]);
  }, 240_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    contexts = [];
    await browser?.close();
    await pipeline?.close();
  });

  it('lists the pending request with who asked, what and how many approvals; the status filter is in the URL; the policy is shown', async () => {
    await rita.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Requests' }).click();
    await rita.getByRole('heading', { name: 'Promotion requests' }).waitFor();
    await rita.getByRole('navigation', { name: 'Filter by status' }).getByRole('link', { name: 'pending', exact: true }).click();
    await rita.waitForURL(/\/requests\?status=pending$/);
    const row = rita.locator(`[data-request="${firstRequest}"]`);
    await row.waitFor();
    expect(await row.innerText()).toMatch(/Night shift team for the Q1 rota[\s\S]*pending[\s\S]*Rita Requester[\s\S]*push from staging[\s\S]*1 on 1 entity[\s\S]*0 of 1/);
    expect(await rita.getByTestId('promotion-policy').innerText()).toMatch(/Approvals required\s+1[\s\S]*Requester may approve their own\s+no/);
    await expectAccessible(rita, 'requests list');
    await shot(rita, 'promotion-requests', { docs: true });
    // Another status: nothing applied yet.
    await rita.goto(`${pipeline.production.url}/requests?status=applied`);
    await rita.getByTestId('no-requests').waitFor();
  });

  it("shows the request's plan, and refuses the requester's own approval clearly", async () => {
    await rita.goto(`${pipeline.production.url}/requests?status=pending`);
    await rita.getByRole('link', { name: 'Night shift team for the Q1 rota' }).click();
    await rita.getByRole('heading', { name: /Night shift team for the Q1 rota/ }).waitFor();
    expect(await rita.getByTestId('request-entities').innerText()).toMatch(/Night shift \(teams\)[\s\S]*Created/);
    // The entity side by side: it did not exist here, the request creates it.
    const diff = rita.getByRole('region', { name: 'Night shift (teams): before and after' });
    await diff.getByRole('row', { name: /^name/ }).waitFor();
    expect(await diff.getByRole('columnheader').allInnerTexts()).toEqual(['Field', 'Before (did not exist)', 'After']);
    expect(await diff.getByRole('row', { name: /^name/ }).innerText()).toContain('Night shift');
    await rita.getByLabel('Comment').fill('Mine, and fine');
    await rita.getByRole('button', { name: 'Approve', exact: true }).click();
    const refused = rita.getByRole('alert');
    await refused.waitFor();
    expect(await refused.innerText()).toContain('SELF_APPROVAL_REFUSED');
    expect(await refused.innerText()).toContain('refused');
    await expectAccessible(rita, 'own approval refused');
    await shot(rita, 'promotion-request-self-approval', { fullPage: true });
    expect((await ok(pipeline.production, 'GET', `/v1/promotion-requests/${firstRequest}`)).approvals).toBe(0);
  });

  it('another approver approves with a comment and applies it: the team is in production, the timeline says so', async () => {
    await ann.goto(`${pipeline.production.url}/requests/${firstRequest}`);
    await ann.getByLabel('Comment').fill('Looks right');
    await ann.getByRole('button', { name: 'Approve', exact: true }).click();
    await ann.getByRole('status').filter({ hasText: 'Approved: the request is now approved.' }).waitFor();
    expect(await ann.getByTestId('request-reviews').innerText()).toMatch(/Ann Approver approved[\s\S]*counts[\s\S]*“Looks right”/);
    await expectAccessible(ann, 'approved request');
    await ann.getByRole('button', { name: 'Apply now' }).click();
    await ann.getByRole('status').filter({ hasText: 'Applied: the request is now applied.' }).waitFor();
    const timeline = await ann.getByTestId('request-timeline').locator('li').evaluateAll((items) => items.map((i) => i.getAttribute('data-kind')));
    expect(timeline).toEqual(['requested', 'approved', 'applied']);
    // Nothing is left to decide on an applied request.
    expect(await ann.getByRole('button', { name: 'Apply now' }).count()).toBe(0);
    await expectAccessible(ann, 'applied request');
    await shot(ann, 'promotion-request-applied', { fullPage: true });
    expect((await ok(pipeline.production, 'GET', `/v1/config/teams/${teamId}`)).body).toMatchObject({ name: 'Night shift', departmentId });
  });

  it('a request whose team was hotfixed in production goes stale when applied: nothing written, the page says why', async () => {
    const renamed = await replace(pipeline.dev, 'teams', teamId, { name: 'Night shift (Q1)', departmentId });
    await ok(pipeline.dev, 'POST', '/v1/instances/staging/push', {});
    const second = await pushAsRita([renamed], 'Rename the night shift');
    await replace(pipeline.production, 'teams', teamId, { name: 'Night shift (hotfix)', departmentId });
    await ann.goto(`${pipeline.production.url}/requests/${second}`);
    const diff = ann.getByRole('region', { name: 'Night shift (Q1) (teams): before and after' });
    expect(await diff.getByRole('row', { name: /^name/ }).innerText()).toMatch(/Night shift\s+Night shift \(Q1\)/);
    await ann.getByRole('button', { name: 'Approve', exact: true }).click();
    await ann.getByRole('status').filter({ hasText: 'the request is now approved' }).waitFor();
    await ann.getByRole('button', { name: 'Apply now' }).click();
    const refused = ann.getByRole('alert');
    await refused.waitFor();
    expect(await refused.innerText()).toContain('REQUEST_STALE');
    const reason = ann.getByTestId('request-reason');
    await reason.waitFor();
    expect(await reason.innerText()).toContain(teamId);
    expect(await ann.getByRole('heading', { level: 1 }).innerText()).toContain('stale');
    await expectAccessible(ann, 'stale apply refused');
    await shot(ann, 'promotion-request-stale-refused', { docs: true, fullPage: true });
    // The requester sees why, and is offered a re-plan (the approvals start again).
    await rita.goto(`${pipeline.production.url}/requests/${second}`);
    expect(await rita.getByTestId('request-reason').innerText()).toContain(teamId);
    await rita.getByRole('button', { name: 'Re-plan' }).waitFor();
    expect(await rita.getByTestId('request-timeline').locator('li[data-kind="stale"]').count()).toBe(1);
    await expectAccessible(rita, 'stale request');
    await shot(rita, 'promotion-request-stale', { fullPage: true });
    expect((await ok(pipeline.production, 'GET', `/v1/config/teams/${teamId}`)).body.name).toBe('Night shift (hotfix)');
  });
});
