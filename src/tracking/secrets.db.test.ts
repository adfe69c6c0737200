import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { DomainError } from '../shared/errors.js';

interface Sent {
  status: number;
  headers: Record<string, unknown>;
  body: unknown;
  text: string;
}

type Body = Record<string, unknown>;

interface OutcomeJson {
  entity: { id: string; head: string | null; body: Body & { credentials?: Body[] } };
  changeId: string | null;
}

interface DetailJson {
  secretsChanged: string[];
  before: Body | null;
  after: Body | null;
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the call to be refused');
}

describe.each(engines)('secrets on %s', (engine) => {
  let t: TestApp;
  const logs: string[] = [];
  const secrets: string[] = [];
  const responses: Sent[] = [];
  const changeIds: string[] = [];

  const secret = (label: string): string => {
    const value = `${label}-${randomBytes(9).toString('hex')}`;
    secrets.push(value);
    return value;
  };

  async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Sent> {
    const response = await t.app.inject({ method, url, headers: { ...t.auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
    const sent: Sent = { status: response.statusCode, headers: response.headers, body: response.payload ? JSON.parse(response.payload) : null, text: response.payload };
    responses.push(sent);
    const changeId = response.headers['x-change-id'];
    if (typeof changeId === 'string') changeIds.push(changeId);
    return sent;
  }

  const ok = <T = OutcomeJson>(sent: Sent, status = 200): T => {
    expect(sent.status, sent.text).toBe(status);
    return sent.body as T;
  };

  const detail = async (changeId: string | null) => ok<DetailJson>(await call('GET', `/v1/changes/${changeId}`));

  let hookId: string;
  let mailboxId: string;
  let signingSecret: string;
  let hookPassword: string;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    t = await createTestApp(engine, { logger: { level: 'trace', stream } });
    ok(await call('PATCH', '/v1/settings', { trackMailboxes: true }));
  });
  afterAll(async () => t?.close());

  it('sets secrets, shows only that they are set, and lists which ones a change touched', async () => {
    signingSecret = secret('signing');
    hookPassword = secret('hook-password');
    const created = ok(
      await call('POST', '/v1/config/webhooks', {
        name: 'Deploy hook',
        url: 'https://hooks.example.test/deploy',
        events: ['ticket.created'],
        signingSecret,
        authentication: { type: 'basic', username: 'hook-user', password: hookPassword },
      }),
      201,
    );
    hookId = created.entity.id;
    expect(created.entity.body).toMatchObject({ signingSecret: { set: true }, authentication: { type: 'basic', username: 'hook-user', password: { set: true } } });
    expect(await t.services.config.readSecret('webhooks', hookId, 'signingSecret')).toBe(signingSecret);
    expect(await t.services.config.readSecret('webhooks', hookId, 'authentication.password')).toBe(hookPassword);
    const first = await detail(created.changeId);
    expect(first.secretsChanged).toEqual(['authentication.password', 'signingSecret']);
    expect(first.after).toMatchObject({ signingSecret: { set: true }, authentication: { password: { set: true } } });

    const [devPassword, devClientSecret, prodPassword] = [secret('dev-password'), secret('dev-client-secret'), secret('prod-password')];
    const mailbox = ok(
      await call('POST', '/v1/config/mailboxes', {
        name: 'Support',
        address: 'support@example.test',
        type: 'microsoft',
        credentials: [
          { id: 'dev', instance: 'dev', mailboxAddress: 'dev-support@example.test', username: 'dev-user', password: devPassword, clientId: 'client-1', clientSecret: devClientSecret },
          { id: 'prod', instance: 'prod', mailboxAddress: 'support@example.test', password: prodPassword },
        ],
      }),
      201,
    );
    mailboxId = mailbox.entity.id;
    expect(mailbox.changeId).toEqual(expect.any(String));
    expect(mailbox.entity.body.credentials).toEqual([
      expect.objectContaining({ id: 'dev', password: { set: true }, clientSecret: { set: true }, username: 'dev-user' }),
      expect.objectContaining({ id: 'prod', password: { set: true } }),
    ]);
    expect((await detail(mailbox.changeId)).secretsChanged).toEqual(['credentials[dev].clientSecret', 'credentials[dev].password', 'credentials[prod].password']);
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[dev].password')).toBe(devPassword);
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[dev].clientSecret')).toBe(devClientSecret);
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[prod].password')).toBe(prodPassword);

    // Reordered items keep their secrets: slots are named by item id, not position.
    const reordered = ok(
      await call('PUT', `/v1/config/mailboxes/${mailboxId}`, {
        name: 'Support',
        address: 'support@example.test',
        type: 'microsoft',
        credentials: [
          { id: 'prod', instance: 'prod', mailboxAddress: 'support@example.test', password: { set: true } },
          { id: 'dev', instance: 'dev', mailboxAddress: 'dev-support@example.test', username: 'dev-user', password: { set: true }, clientId: 'client-1' },
        ],
      }),
    );
    expect((await detail(reordered.changeId)).secretsChanged).toEqual([]);
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[dev].password')).toBe(devPassword);
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[dev].clientSecret')).toBe(devClientSecret);
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[prod].password')).toBe(prodPassword);

    const cleared = ok(
      await call('PUT', `/v1/config/mailboxes/${mailboxId}`, {
        name: 'Support',
        address: 'support@example.test',
        type: 'microsoft',
        credentials: [
          { id: 'prod', instance: 'prod', mailboxAddress: 'support@example.test', password: null },
          { id: 'dev', instance: 'dev', mailboxAddress: 'dev-support@example.test', username: 'dev-user', clientId: 'client-1' },
        ],
      }),
    );
    expect((await detail(cleared.changeId)).secretsChanged).toEqual(['credentials[prod].password']);
    expect(cleared.entity.body.credentials?.[0]).not.toHaveProperty('password');
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[prod].password')).toBeNull();
    expect(await t.services.config.readSecret('mailboxes', mailboxId, 'credentials[dev].password')).toBe(devPassword);
  });

  it('keeps an omitted or { set: true } secret, records nothing for the same value, replaces and clears', async () => {
    const readHook = () => t.services.config.readSecret('webhooks', hookId, 'signingSecret');
    const readPassword = () => t.services.config.readSecret('webhooks', hookId, 'authentication.password');
    const base = { url: 'https://hooks.example.test/deploy', events: ['ticket.created'] };

    // The client's usual round trip: read, edit a field, send the body back with the masks in it.
    const read = ok<{ body: Body }>(await call('GET', `/v1/config/webhooks/${hookId}`));
    const masked = ok(await call('PUT', `/v1/config/webhooks/${hookId}`, { ...read.body, name: 'Deploy hook (renamed)' }));
    expect(masked.changeId).toEqual(expect.any(String));
    expect((await detail(masked.changeId)).secretsChanged).toEqual([]);
    expect(await readHook()).toBe(signingSecret);
    expect(await readPassword()).toBe(hookPassword);

    const omitted = ok(
      await call('PUT', `/v1/config/webhooks/${hookId}`, { ...base, name: 'Deploy hook (omitted)', authentication: { type: 'basic', username: 'hook-user' } }),
    );
    expect((await detail(omitted.changeId)).secretsChanged).toEqual([]);
    expect(omitted.entity.body).toMatchObject({ signingSecret: { set: true }, authentication: { password: { set: true } } });
    expect(await readHook()).toBe(signingSecret);
    expect(await readPassword()).toBe(hookPassword);

    const same = await call('PUT', `/v1/config/webhooks/${hookId}`, {
      ...base,
      name: 'Deploy hook (omitted)',
      signingSecret,
      authentication: { type: 'basic', username: 'hook-user', password: hookPassword },
    });
    expect(ok(same).changeId).toBeNull();
    expect(same.headers['x-change-id']).toBeUndefined();
    expect(ok(same).entity.head).toBe(omitted.changeId);

    const rotated = secret('rotated-signing');
    const replaced = ok(await call('PUT', `/v1/config/webhooks/${hookId}`, { ...base, name: 'Deploy hook (omitted)', signingSecret: rotated, authentication: { type: 'basic', username: 'hook-user' } }));
    expect((await detail(replaced.changeId)).secretsChanged).toEqual(['signingSecret']);
    expect(await readHook()).toBe(rotated);
    expect(await readPassword()).toBe(hookPassword);

    const cleared = ok(await call('PUT', `/v1/config/webhooks/${hookId}`, { ...base, name: 'Deploy hook (omitted)', signingSecret: null, authentication: { type: 'basic', username: 'hook-user' } }));
    const clearing = await detail(cleared.changeId);
    expect(clearing.secretsChanged).toEqual(['signingSecret']);
    expect(clearing.before).toMatchObject({ signingSecret: { set: true } });
    expect(clearing.after).not.toHaveProperty('signingSecret');
    expect(cleared.entity.body).not.toHaveProperty('signingSecret');
    expect(await readHook()).toBeNull();
    expect(await readPassword()).toBe(hookPassword);
  });

  it('refuses an invalid body without echoing the secret it carried', async () => {
    const refused = await call('POST', '/v1/config/webhooks', {
      name: 'Broken hook',
      url: 'not a url',
      events: ['ticket.created'],
      signingSecret: secret('refused-signing'),
      authentication: { type: 'bearer', token: secret('refused-token'), tokn: secret('refused-typo') },
    });
    expect(refused.status).toBe(400);
    expect((refused.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(expect.arrayContaining(['url', 'authentication.tokn']));
  });

  it('shows no secret in any response: entities, lists, change list and detail, rollback preview, catalog', async () => {
    ok(await call('GET', '/v1/config/webhooks'));
    ok(await call('GET', '/v1/config/mailboxes?limit=1'));
    ok(await call('GET', `/v1/config/mailboxes/${mailboxId}`));
    const list = ok<{ items: { id: string }[] }>(await call('GET', '/v1/changes?limit=200'));
    expect(list.items.length).toBeGreaterThanOrEqual(changeIds.length);
    for (const item of list.items) await detail(item.id);
    const first = list.items.at(-1)!.id;
    const preview = ok<{ counts: { changes: number } }>(await call('POST', `/v1/changes/${first}/rollback-before?dryRun=true`));
    expect(preview.counts.changes).toBe(list.items.length);
    ok(await call('GET', '/v1/changes?type=webhooks&q=deploy'));
    ok(await call('GET', '/v1/changes/verify'));
    ok(await call('GET', '/v1/catalog'));
    ok(await call('GET', '/v1/catalog/webhooks'));
    ok(await call('GET', '/v1/settings'));

    const everything = responses.map((r) => `${r.text}\n${JSON.stringify(r.headers)}`).join('\n');
    expect(everything).toContain('Deploy hook');
    expect(everything).toContain('"set":true');
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    for (const value of secrets) expect(everything).not.toContain(value);
  });

  it('logs no secret', async () => {
    const text = logs.join('');
    expect(text).toContain('/v1/config/webhooks');
    expect(text).toContain('request completed');
    for (const value of secrets) expect(text).not.toContain(value);
  });

  it('stores no secret in clear in the database', async () => {
    const stored = await storedText(t);
    expect(stored.includes(Buffer.from('Deploy hook (omitted)'))).toBe(true);
    expect(stored.includes(Buffer.from('dev-support@example.test'))).toBe(true);
    for (const value of secrets) expect(stored.includes(Buffer.from(value)), value).toBe(false);
  });

  it('refuses a ciphertext moved to another entity, another field or another item', async () => {
    const { services, ctx } = t;
    const db = t.database.dialect.db;
    const hook = (name: string, signing: string, token: string) => ({
      name,
      url: 'https://hooks.example.test/x',
      events: ['ticket.created'],
      signingSecret: signing,
      authentication: { type: 'bearer', token },
    });
    const a = (await services.config.create(ctx, 'webhooks', hook('A', 'a-signing', 'a-token'))).entity!.id;
    const b = (await services.config.create(ctx, 'webhooks', hook('B', 'b-signing', 'b-token'))).entity!.id;
    const bodyOf = async (id: string) => JSON.parse((await db.selectFrom('entities').select('body').where('id', '=', id).executeTakeFirstOrThrow()).body) as Body;
    const store = (id: string, body: Record<string, unknown>) => db.updateTable('entities').set({ body: JSON.stringify(body) }).where('id', '=', id).execute();
    expect(await services.config.readSecret('webhooks', b, 'signingSecret')).toBe('b-signing');

    const bodyA = await bodyOf(a);
    const bodyB = await bodyOf(b);
    await store(b, { ...bodyB, signingSecret: bodyA.signingSecret });
    const acrossEntities = await refusal(services.config.readSecret('webhooks', b, 'signingSecret'));
    expect(acrossEntities.code).toBe('SECRET_UNREADABLE');
    expect(await services.config.readSecret('webhooks', a, 'signingSecret')).toBe('a-signing');

    await store(a, { ...bodyA, authentication: { ...(bodyA.authentication as Body), token: bodyA.signingSecret } });
    expect((await refusal(services.config.readSecret('webhooks', a, 'authentication.token'))).code).toBe('SECRET_UNREADABLE');
    expect(await services.config.readSecret('webhooks', a, 'signingSecret')).toBe('a-signing');
    await store(a, bodyA);
    expect(await services.config.readSecret('webhooks', a, 'authentication.token')).toBe('a-token');

    const mailbox = await services.config.create(ctx, 'mailboxes', {
      name: 'Moves',
      address: 'moves@example.test',
      type: 'imap',
      credentials: [
        { id: 'one', instance: 'dev', mailboxAddress: 'one@example.test', password: 'one-password' },
        { id: 'two', instance: 'prod', mailboxAddress: 'two@example.test', password: 'two-password' },
      ],
    });
    const id = mailbox.entity!.id;
    const body = await bodyOf(id);
    const [one, two] = body.credentials as Body[];
    await store(id, { ...body, credentials: [one, { ...two, password: one!.password }] });
    expect((await refusal(services.config.readSecret('mailboxes', id, 'credentials[two].password'))).code).toBe('SECRET_UNREADABLE');
    expect(await services.config.readSecret('mailboxes', id, 'credentials[one].password')).toBe('one-password');
  });
});

/** Everything the database holds: the SQLite file and its WAL byte for byte, or every text column of every PostgreSQL table. */
async function storedText(t: TestApp): Promise<Buffer> {
  if (t.database.engine === 'sqlite') {
    const files = [t.database.url, `${t.database.url}-wal`].filter((file) => existsSync(file));
    return Buffer.concat(files.map((file) => readFileSync(file)));
  }
  const db = t.database.dialect.db;
  const columns = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and data_type in ('text', 'character varying', 'json', 'jsonb')
  `.execute(db);
  expect(columns.rows.map((c) => `${c.table_name}.${c.column_name}`)).toEqual(expect.arrayContaining(['entities.body', 'changes.after', 'changes.before', 'settings.value']));
  const values: string[] = [];
  for (const { table_name, column_name } of columns.rows) {
    const result = await sql<{ v: string | null }>`select ${sql.ref(column_name)}::text as v from ${sql.table(table_name)}`.execute(db);
    for (const row of result.rows) if (row.v !== null) values.push(row.v);
  }
  return Buffer.from(values.join('\n'), 'utf8');
}
