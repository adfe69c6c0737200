import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';

interface Problem {
  code: string;
  errors?: { path: string; code: string }[];
}

const PASSWORD = 'staging-mailbox-password-7f3a';

describe.each(engines)('mailboxes with credentials per instance on %s', (engine) => {
  let t: TestApp;
  const call = async <T = unknown>(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.json<T>(), raw: res.body };
  };
  const mailbox = (name: string, credentials: Record<string, unknown>[]) => ({ name, address: `${name.toLowerCase()}@desk.test`, type: 'imap', credentials });
  let support: string;

  beforeAll(async () => {
    t = await createTestApp(engine, { name: 'staging', kind: 'staging' });
    await t.services.settings.update(t.ctx, { trackMailboxes: true }, { isAdministrator: true });
    support = (
      await call<{ entity: { id: string } }>(
        'POST',
        '/v1/config/mailboxes',
        mailbox('Support', [
          { id: 'dev', instance: 'dev', mailboxAddress: 'support-dev@mail.test', username: 'dev-reader', password: 'dev-mailbox-password' },
          { id: 'staging', instance: 'staging', mailboxAddress: 'support-staging@mail.test', username: 'staging-reader', password: PASSWORD, host: 'imap.mail.test', port: 993 },
        ]),
      )
    ).body.entity.id;
    await call('POST', '/v1/config/mailboxes', mailbox('Billing', [{ id: 'dev', instance: 'dev', mailboxAddress: 'billing-dev@mail.test' }]));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('says which mailbox this instance reads, with its own credentials only, and never a secret', async () => {
    const answer = await call<{ instance: string; items: Record<string, unknown>[] }>('GET', '/v1/mailboxes/processing');
    expect(answer.status).toBe(200);
    expect(answer.body.instance).toBe('staging');
    const byName = new Map(answer.body.items.map((i) => [i.name, i]));
    expect(byName.get('Support')).toMatchObject({
      mailboxId: support,
      processes: true,
      credential: { id: 'staging', mailboxAddress: 'support-staging@mail.test', username: 'staging-reader', host: 'imap.mail.test', port: 993 },
    });
    expect(byName.get('Support')!.credential).not.toHaveProperty('password');
    expect(byName.get('Billing')).toMatchObject({ processes: false, credential: null });
    expect(String(byName.get('Billing')!.reason)).toContain('"dev"');
    expect(answer.raw).not.toContain(PASSWORD);
    expect(answer.raw).not.toContain('dev-reader');
    // The credential this instance uses is the only one it can open.
    expect(await t.services.config.readSecret('mailboxes', support, 'credentials[staging].password')).toBe(PASSWORD);
  });

  it('refuses two credentials for the same external mailbox, in one mailbox or across two, writing nothing', async () => {
    const head = (await t.db.read((stores) => stores.changes.head())).seq;
    const across = await call<Problem>('POST', '/v1/config/mailboxes', mailbox('Sales', [{ id: 'prod', instance: 'production', mailboxAddress: 'SUPPORT-STAGING@mail.test' }]));
    expect(across).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', errors: [{ path: 'credentials[0].mailboxAddress', code: 'mailbox-taken' }] } });
    const within = await call<Problem>(
      'POST',
      '/v1/config/mailboxes',
      mailbox('Sales', [
        { id: 'a', instance: 'dev', mailboxAddress: 'sales@mail.test' },
        { id: 'b', instance: 'production', mailboxAddress: 'Sales@mail.test' },
      ]),
    );
    expect(within.status).toBe(400);
    expect(within.body.errors?.map((e) => e.path)).toContain('credentials[1].mailboxAddress');
    expect((await t.db.read((stores) => stores.changes.head())).seq).toBe(head);
    expect((await call<{ items: unknown[] }>('GET', '/v1/config/mailboxes')).body.items).toHaveLength(2);
  });

  it('lets a mailbox be saved again with its own credentials', async () => {
    const current = await call<{ body: Record<string, unknown> }>('GET', `/v1/config/mailboxes/${support}`);
    const saved = await call('PUT', `/v1/config/mailboxes/${support}`, { ...current.body.body, name: 'Support desk' });
    expect(saved.status).toBe(200);
  });

  it('keeps credentials per instance to the mailbox tracking setting: with it off, one credential, for this instance', async () => {
    await t.services.settings.update(t.ctx, { trackMailboxes: false }, { isAdministrator: true });
    try {
      const head = (await t.db.read((stores) => stores.changes.head())).seq;
      const count = async () => (await call<{ items: unknown[] }>('GET', '/v1/config/mailboxes')).body.items.length;
      const before = await count();
      const two = await call<Problem>(
        'POST',
        '/v1/config/mailboxes',
        mailbox('Helpdesk', [
          { id: 'staging', instance: 'staging', mailboxAddress: 'helpdesk-staging@mail.test' },
          { id: 'prod', instance: 'production', mailboxAddress: 'helpdesk@mail.test' },
        ]),
      );
      expect(two).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', errors: [{ path: 'credentials[1]', code: 'per-instance-credentials-off' }] } });
      const elsewhere = await call<Problem>('POST', '/v1/config/mailboxes', mailbox('Helpdesk', [{ id: 'prod', instance: 'production', mailboxAddress: 'helpdesk@mail.test' }]));
      expect(elsewhere).toMatchObject({ status: 400, body: { errors: [{ path: 'credentials[0].instance', code: 'per-instance-credentials-off' }] } });
      expect(await count()).toBe(before);
      expect((await t.db.read((stores) => stores.changes.head())).seq).toBe(head);

      const own = await call('POST', '/v1/config/mailboxes', mailbox('Helpdesk', [{ id: 'staging', instance: 'staging', mailboxAddress: 'helpdesk-staging@mail.test' }]));
      expect(own.status).toBe(201);
      // A mailbox saved with credentials per instance while the setting was on keeps them, until they are changed.
      const current = await call<{ body: Record<string, unknown> }>('GET', `/v1/config/mailboxes/${support}`);
      expect((await call('PUT', `/v1/config/mailboxes/${support}`, { ...current.body.body, name: 'Support (renamed)' })).status).toBe(200);
      const credentials = (current.body.body.credentials as Record<string, unknown>[]).map((c) => ({ ...c, mailboxAddress: `new-${String(c.mailboxAddress)}` }));
      const changed = await call<Problem>('PUT', `/v1/config/mailboxes/${support}`, { ...current.body.body, credentials });
      expect(changed.body.errors?.map((e) => e.code)).toContain('per-instance-credentials-off');
    } finally {
      await t.services.settings.update(t.ctx, { trackMailboxes: true }, { isAdministrator: true });
    }
  });
});
