import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, launchChromium, screenshots } from '../support/browser.js';
import { fillGeneratedForm } from '../support/config-form.js';
import { api, removeTempDirs, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import type { Answer } from '../support/pipeline.js';
import { exampleOf, inDependencyOrder, maskedExample, type CatalogEntry, type ExampleRecords } from '../support/schema-example.js';

const PASSWORD = 'a console password for every form';
const INSTANCE = 'dev';
/** Forms whose screenshots are kept (and looked at): a union, nested items, secrets and instances, a map. */
const SHOTS = new Set(['ticket-rules', 'workflows', 'webhooks', 'mailboxes', 'roles', 'integrations']);

afterAll(removeTempDirs);

describe.each(engines)('every catalog type in its generated form, on %s', (engine) => {
  const token = `shp_forms_${randomBytes(18).toString('base64url')}`;
  const shot = screenshots(engine);
  let database: TestDatabase | undefined;
  let served: Spawned;
  let url: string;
  let browser: Browser;
  let page: Page;
  let types: CatalogEntry[];
  let records: ExampleRecords;
  const made = new Map<string, string[]>();

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const res = await api(url, path, token, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  beforeAll(async () => {
    const dir = tempDir();
    const args = ['serve', '--name', INSTANCE, '--kind', 'development', '--port', '0', '--rate-limit', '0', '--quiet'];
    if (engine === 'postgres') {
      database = await createTestDatabase(engine, { migrate: false });
      args.push('--database', database.url, '--key-file', join(dir, 'dev.key'));
    } else args.push('--database', join(dir, 'dev.sqlite'));
    served = spawnCli(args, { SHIPLOG_ADMIN_PASSWORD: PASSWORD, SHIPLOG_ADMIN_TOKEN: token });
    await waitForOutput(served, (stdout) => /is serving http:\/\/\S+/.test(stdout), 'banner');
    url = /is serving (http:\/\/\S+)/.exec(served.output().stdout)![1]!;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (served) await stop(served);
    await database?.drop();
  });

  it('reads the catalog: 112 types, 92 tracked and 20 local; makes the records and one entity of every referenced type, in dependency order', async () => {
    types = (await call('GET', '/v1/catalog')).types as CatalogEntry[];
    expect(types).toHaveLength(112);
    expect(types.filter((t) => t.tracking.kind === 'local')).toHaveLength(20);

    // The records a body may name: a customer, one of its users, an agent; each with a third-party id.
    const customer = await call('POST', '/v1/customers', { name: 'Example customer', thirdPartyId: 'customer-tp-1' });
    const user = await call('POST', '/v1/users', { customerId: customer.id, name: 'Example user', thirdPartyId: 'user-tp-1' });
    const agent = await call('POST', '/v1/agents', { name: 'Example agent', email: 'example.agent@example.test', thirdPartyId: 'agent-tp-1' });
    records = {
      customer: { id: customer.id, thirdPartyId: 'customer-tp-1' },
      user: { id: user.id, thirdPartyId: 'user-tp-1' },
      agent: { id: agent.id, thirdPartyId: 'agent-tp-1' },
    };

    const targets = new Set(types.flatMap((t) => t.references.map((r) => r.target)));
    const order = inDependencyOrder(types.filter((t) => targets.has(t.key)));
    for (const entry of order) {
      const body = exampleOf(entry, { entitiesOf: (type) => made.get(type) ?? [], records, instance: INSTANCE, full: false, tag: 'prerequisite' });
      const created = await call('POST', `/v1/config/${entry.key}`, body);
      made.set(entry.key, [created.entity.id]);
    }
    expect([...made.keys()].sort()).toEqual([...targets].sort());
  });

  it('fills the generated form of every type with an example from its schema, saves it and reads it back unchanged; saving it again changes nothing', async () => {
    await page.goto(`${url}/config`);
    await page.getByLabel('Email').fill('admin@shiplog.local');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor();

    // axe on one form of each area: its richest (the largest schema).
    const checked = new Map<string, string>();
    for (const entry of types) {
      const current = checked.get(entry.area);
      const size = (key: string) => JSON.stringify(types.find((t) => t.key === key)!.schema).length;
      if (!current || size(entry.key) > size(current)) checked.set(entry.area, entry.key);
    }
    const axeTypes = new Set(checked.values());

    const saved = page.getByTestId('saved-note');
    const refused = page.locator('[role="alert"]');
    const done: string[] = [];
    for (const entry of types) {
      const body = exampleOf(entry, { entitiesOf: (type) => made.get(type) ?? [], records, instance: INSTANCE, full: true, tag: 'example' });
      // The generated form, also for a type with an editor of its own (the editors have their own walk).
      await page.goto(`${url}/config/${entry.key}/new?fields=all`);
      const submit = page.getByRole('button', { name: /^Create / });
      await submit.waitFor();
      await fillGeneratedForm(page, entry, body);
      if (axeTypes.has(entry.key)) await expectAccessible(page, `${entry.key} form, filled`);
      if (SHOTS.has(entry.key)) await shot(page, `config-form-${entry.key}`, { fullPage: true });
      await submit.click();
      await saved.or(refused).first().waitFor();
      if (await refused.count()) throw new Error(`${entry.key}: the form's save was refused: ${await refused.first().innerText()}\n${JSON.stringify(body)}`);
      // The note says what the save recorded: a change, or why none.
      const note = await saved.innerText();
      if (entry.tracking.kind === 'local') expect(note, entry.key).toMatch(/Local to this instance: no change was recorded/);
      else if (entry.tracking.kind === 'tracked') expect(note, entry.key).toMatch(/Saved and recorded as a change/);
      else expect(note, entry.key).toMatch(/Not tracked while the setting \w+ is off: no change was recorded|Saved and recorded as a change/);
      const id = new URL(page.url()).pathname.split('/').pop()!;
      const stored = await call('GET', `/v1/config/${entry.key}/${id}`);
      expect(stored.body, entry.key).toEqual(maskedExample(entry, body));

      // The form as it opens on the saved entity sends it back unchanged: secrets kept, nothing recorded.
      const [again] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(`/v1/config/${entry.key}/${id}`)),
        page.getByRole('button', { name: 'Save', exact: true }).click(),
      ]);
      expect(again.status(), entry.key).toBe(200);
      expect(await again.json(), entry.key).toMatchObject({ changeId: null, entity: { version: stored.version } });
      await page.getByText(/no change was recorded/).waitFor();
      done.push(entry.key);
    }
    expect(done).toHaveLength(112);
  }, 900_000);
});
