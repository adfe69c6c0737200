/// <reference lib="dom" />
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { expectAccessible } from './browser.js';

/** What the co-managed guide says a co-managed agent sees on the desk: its customer's records, and nothing else. */
export interface CoManagedView {
  /** The instance's console, e.g. http://127.0.0.1:4101. */
  url: string;
  /** The customer the agent supports (its client restrictions and co-managed IT customer). */
  customer: string;
  /** Every ticket summary of that customer the agent sees — exactly these are listed. */
  tickets: string[];
  /** Its users' names. */
  users: string[];
  /** Its assets' names. */
  assets: string[];
  /** Text that tickets of the agent's customer and of others share: a search for it finds only the agent's. */
  sharedText: string;
  /** A ticket of another customer, opened by its address: not found, as if it did not exist. */
  otherTicketId: string;
  /** Names that must appear on none of the screens: other customers, their users, tickets and assets. */
  hidden: string[];
  /** Saves a screenshot of each screen (the walk's `screenshots(engine)`), named with this prefix. */
  shot?: (page: Page, name: string) => Promise<void>;
}

const CONFIG_SCREENS = ['Changes', 'Instances', 'Export and import', 'Configuration', 'Requests', 'Settings', 'Audit log'];

async function rowTexts(page: Page, testId: string): Promise<string[]> {
  return (await page.getByTestId(testId).locator('tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

async function expectNothingHidden(page: Page, view: CoManagedView, screen: string): Promise<void> {
  const text = await page.locator('main').innerText();
  for (const name of view.hidden) expect(text, `${screen} shows ${name}`).not.toContain(name);
}

/**
 * Checks, in a page signed in as a co-managed agent, every desk screen of the guide: the console offers the desk and no
 * configuration screen; the tickets listed are exactly its customer's, searched by text only with no filter and no list
 * of its own to save; its customer alone, with its users and assets; another customer's ticket is not found. Runs
 * axe-core on each screen.
 */
export async function expectCoManagedAgentView(page: Page, view: CoManagedView): Promise<void> {
  await page.goto(`${view.url}/`);
  await page.getByRole('heading', { name: 'Tickets', exact: true }).waitFor();
  expect(new URL(page.url()).pathname, 'the first screen is the desk').toBe('/desk/tickets');
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Desk' }).waitFor();
  for (const name of CONFIG_SCREENS) expect(await nav.getByRole('link', { name, exact: true }).count(), `${name} is not offered`).toBe(0);

  // Tickets: exactly its customer's, text search only.
  const summaries = async () => (await page.getByTestId('ticket-rows').locator('tr td:nth-child(2)').allInnerTexts()).sort();
  await expect.poll(summaries).toEqual([...view.tickets].sort());
  for (const row of await rowTexts(page, 'ticket-rows')) expect(row).toContain(view.customer);
  await page.getByTestId('co-managed-search-note').waitFor();
  expect(await page.locator('main select').count(), 'no filter to choose').toBe(0);
  expect(await page.getByRole('form', { name: 'Save this search as a list' }).count(), 'no list of its own').toBe(0);
  await expectNothingHidden(page, view, 'ticket list');
  await expectAccessible(page, 'co-managed ticket list');
  await view.shot?.(page, 'co-managed-tickets');

  await page.getByLabel('Search by text in the summary').fill(view.sharedText);
  await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(view.sharedText);
  const matching = view.tickets.filter((t) => t.toLowerCase().includes(view.sharedText.toLowerCase())).sort();
  await expect.poll(summaries).toEqual(matching);
  await expectNothingHidden(page, view, 'ticket search');
  await view.shot?.(page, 'co-managed-search');

  // Another customer's ticket does not exist for it.
  await page.goto(`${view.url}/desk/tickets/${view.otherTicketId}`);
  await page.getByRole('alert').filter({ hasText: 'TICKET_NOT_FOUND' }).waitFor();
  await expectNothingHidden(page, view, 'another customer’s ticket');
  await expectAccessible(page, 'co-managed: another customer’s ticket');

  // Customers: its own alone, with its users.
  await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Customers' }).click();
  await expect.poll(() => rowTexts(page, 'customer-rows')).toEqual([expect.stringContaining(view.customer)]);
  expect(await page.getByRole('form', { name: 'New customer' }).count(), 'no customer to add').toBe(0);
  await expectNothingHidden(page, view, 'customer list');
  await expectAccessible(page, 'co-managed customer list');
  await view.shot?.(page, 'co-managed-customers');
  await page.getByTestId('customer-rows').getByRole('link', { name: view.customer }).click();
  await page.getByRole('heading', { name: view.customer }).waitFor();
  await expect.poll(async () => (await page.getByTestId('user-rows').locator('li span.font-medium').allInnerTexts()).sort()).toEqual([...view.users].sort());
  await expectNothingHidden(page, view, 'customer page');
  await expectAccessible(page, 'co-managed customer page');

  // Assets: its customer's alone.
  await page.getByRole('navigation', { name: 'Desk' }).getByRole('link', { name: 'Assets' }).click();
  await expect.poll(async () => (await page.getByTestId('asset-rows').locator('tr td:first-child').allInnerTexts()).sort()).toEqual([...view.assets].sort());
  await expectNothingHidden(page, view, 'asset list');
  await expectAccessible(page, 'co-managed asset list');
  await view.shot?.(page, 'co-managed-assets');
}
