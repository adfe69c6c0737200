import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCli } from '../support/cli.js';
import { engines } from '../support/databases.js';
import { startDeskPair } from '../support/deliveries.js';
import { mail, startImapServer, type ImapServer } from '../support/imap.js';
import { ok, type Answer, type LiveInstance } from '../support/pipeline.js';

const DEV_PASSWORD = `dev-imap-${randomBytes(8).toString('hex')}`;
const STAGING_PASSWORD = `staging-imap-${randomBytes(8).toString('hex')}`;

afterAll(removeTempDirs);

describe.each(engines)('mail read from mailboxes into tickets on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let devImap: ImapServer;
  let stagingImap: ImapServer;
  const ids = {} as Record<'type' | 'hardware' | 'support' | 'devAcme' | 'devAlice' | 'devGlobex', string>;

  const credential = (instance: string, imap: ImapServer, username: string, password: string) => ({
    id: instance,
    instance,
    mailboxAddress: `support-${instance}@mail.test`,
    host: '127.0.0.1',
    port: imap.port,
    security: 'none',
    username,
    password,
  });
  /** Creates a mailbox on dev; its id. */
  const mailbox = async (name: string, type: string, credentials: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<string> =>
    (await ok(dev, 'POST', '/v1/config/mailboxes', { name, address: `${name.toLowerCase()}@desk.test`, type, credentials, ...extra })).entity.id;
  const check = async (on: LiveInstance): Promise<Answer[]> => (await ok(on, 'POST', '/v1/mailboxes/check')).items;
  const tickets = async (on: LiveInstance): Promise<Answer[]> => (await ok(on, 'GET', '/v1/tickets?limit=100')).items;
  const mailLog = async (on: LiveInstance): Promise<Answer[]> => (await ok(on, 'GET', '/v1/mailboxes/messages?limit=100')).items;
  const actionsOf = async (on: LiveInstance, ticketId: string): Promise<Answer[]> => (await ok(on, 'GET', `/v1/tickets/${ticketId}/actions`)).items;

  /** A customer with one user, on one instance (desk records are the instance's own). */
  async function customerWithUser(on: LiveInstance, name: string, email: string): Promise<{ customer: string; user: string }> {
    const customer = (await ok(on, 'POST', '/v1/customers', { name })).id as string;
    const user = (await ok(on, 'POST', '/v1/users', { customerId: customer, name: email.split('@')[0], email })).id as string;
    return { customer, user };
  }

  beforeAll(async () => {
    devImap = await startImapServer({ username: 'dev-reader', password: DEV_PASSWORD });
    stagingImap = await startImapServer({ username: 'staging-reader', password: STAGING_PASSWORD });
    ({ dev, staging, ticketTypeId: ids.type } = await startDeskPair(engine));
    for (const on of [dev, staging]) await ok(on, 'PATCH', '/v1/settings', { trackMailboxes: true });
    ids.hardware = (await ok(dev, 'POST', '/v1/config/teams', { name: 'Hardware' })).entity.id;
    await ok(dev, 'POST', '/v1/config/ticket-rules', {
      name: 'Printers to hardware',
      criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
      outcomes: [{ field: 'team', teamId: ids.hardware }],
    });
    ids.support = (
      await ok(dev, 'POST', '/v1/config/mailboxes', {
        name: 'Support',
        address: 'support@desk.test',
        type: 'imap',
        defaultTicketTypeId: ids.type,
        credentials: [credential('dev', devImap, 'dev-reader', DEV_PASSWORD), credential('staging', stagingImap, 'staging-reader', STAGING_PASSWORD)],
      })
    ).entity.id;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
    ({ customer: ids.devAcme, user: ids.devAlice } = await customerWithUser(dev, 'Acme', 'alice@acme.test'));
    ids.devGlobex = (await customerWithUser(dev, 'Globex', 'bob@globex.test')).customer;
    await customerWithUser(staging, 'Acme', 'alice@acme.test');
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), staging?.close()]);
    await Promise.all([devImap?.close(), stagingImap?.close()]);
  });

  it('logs a ticket for the sender’s customer through the ticket rules, as the mailbox, and marks the message read', async () => {
    devImap.deliver(mail({ from: 'Alice <alice@acme.test>', to: 'support@desk.test', subject: 'Printer on fire', body: 'It jams, then it smokes.', messageId: 'first@acme.test' }));
    expect(await check(dev)).toEqual([expect.objectContaining({ mailboxId: ids.support, name: 'Support', ok: true, read: 1, skipped: 0, error: null })]);

    const [ticket] = await tickets(dev);
    expect(ticket).toMatchObject({ customerId: ids.devAcme, userId: ids.devAlice, ticketTypeId: ids.type, summary: 'Printer on fire', details: 'It jams, then it smokes.', teamId: ids.hardware });
    const [created] = await actionsOf(dev, ticket.id);
    expect(created).toMatchObject({
      kind: 'created',
      actor: { kind: 'system', id: `mailbox:${ids.support}`, name: 'Mailbox Support' },
      details: { matchedRules: [{ name: 'Printers to hardware' }], mail: { mailbox: 'Support', from: 'alice@acme.test', messageId: 'first@acme.test' } },
    });
    expect(await mailLog(dev)).toEqual([
      expect.objectContaining({ mailboxId: ids.support, messageKey: 'first@acme.test', fromAddress: 'alice@acme.test', subject: 'Printer on fire', outcome: 'ticket-logged', ticketId: ticket.id, reason: null }),
    ]);
    expect(devImap.inbox().map((m) => m.flags)).toEqual([['\\Seen']]);
  });

  it('reads each instance’s own mailbox only: staging opens its own with its own credentials', async () => {
    expect(await check(staging)).toEqual([expect.objectContaining({ ok: true, read: 0 })]);
    expect(await tickets(staging)).toEqual([]);

    stagingImap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: 'Testing the UAT mailbox', body: 'Hello staging.', messageId: 'uat@acme.test' }));
    expect(await check(dev)).toEqual([expect.objectContaining({ ok: true, read: 0 })]);
    expect(await check(staging)).toEqual([expect.objectContaining({ ok: true, read: 1 })]);
    expect((await tickets(staging)).map((t) => t.summary)).toEqual(['Testing the UAT mailbox']);
    expect((await tickets(dev)).map((t) => t.summary)).toEqual(['Printer on fire']);

    const processing = await ok(staging, 'GET', '/v1/mailboxes/processing');
    expect(processing.items).toEqual([
      expect.objectContaining({
        mailboxId: ids.support,
        processes: true,
        credential: expect.objectContaining({ id: 'staging', mailboxAddress: 'support-staging@mail.test', username: 'staging-reader', security: 'none' }),
        reason: `Reads support-staging@mail.test (INBOX at 127.0.0.1:${stagingImap.port}) with the credentials for instance "staging".`,
        lastCheck: expect.objectContaining({ ok: true, read: 1, error: null }),
      }),
    ]);
  });

  it('adds a reply as a note — matched by the mail it answers or by [#number] in the subject — keeping only the new text', async () => {
    const [ticket] = await tickets(dev);
    devImap.deliver(
      mail({
        from: 'alice@acme.test',
        to: 'support@desk.test',
        subject: 'Re: Printer on fire',
        body: 'Now it is out.\n\nOn Mon, 23 Nov 2026, Support wrote:\n> It jams, then it smokes.',
        messageId: 'second@acme.test',
        headers: { 'In-Reply-To': '<first@acme.test>', References: '<first@acme.test>' },
      }),
    );
    devImap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: `RE: [#${ticket.number}] Printer on fire`, body: 'Thanks, all fixed.', messageId: 'third@acme.test' }));
    expect(await check(dev)).toEqual([expect.objectContaining({ ok: true, read: 2 })]);

    expect(await tickets(dev)).toHaveLength(1);
    const notes = (await actionsOf(dev, ticket.id)).filter((a: Answer) => a.kind === 'note');
    expect(notes.map((n: Answer) => [n.name, n.note, n.actor.name])).toEqual([
      ['Email', 'Now it is out.', 'Mailbox Support'],
      ['Email', 'Thanks, all fixed.', 'Mailbox Support'],
    ]);
    const log = await mailLog(dev);
    expect(log.slice(0, 2).map((m) => [m.messageKey, m.outcome, m.ticketId, m.reason])).toEqual([
      ['third@acme.test', 'note-added', ticket.id, `The subject names ticket #${ticket.number}.`],
      ['second@acme.test', 'note-added', ticket.id, `A reply to mail of ticket #${ticket.number}.`],
    ]);
  });

  it('never adds another customer’s mail to a ticket: a stranger naming the ticket logs a ticket of its own', async () => {
    const [acme] = await tickets(dev);
    devImap.deliver(mail({ from: 'bob@globex.test', to: 'support@desk.test', subject: `Re: [#${acme.number}] Printer on fire`, body: 'Mine too?', messageId: 'bob@globex.test-1' }));
    await check(dev);
    const all = await tickets(dev);
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ customerId: ids.devGlobex, summary: `[#${acme.number}] Printer on fire` });
    expect((await actionsOf(dev, acme.id)).filter((a: Answer) => a.kind === 'note')).toHaveLength(2);
  });

  it('ignores mail from unknown senders, automatic mail and mail from the mailbox itself, saying why, and logs no ticket', async () => {
    const before = (await tickets(dev)).length;
    devImap.deliver(mail({ from: 'someone@nowhere.test', to: 'support@desk.test', subject: 'Buy now', body: 'Offer', messageId: 'spam@nowhere.test' }));
    devImap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: 'Out of office', body: 'Back Monday', messageId: 'ooo@acme.test', headers: { 'Auto-Submitted': 'auto-replied' } }));
    devImap.deliver(mail({ from: 'support-dev@mail.test', to: 'support@desk.test', subject: 'Loop', body: 'Our own mail', messageId: 'loop@mail.test' }));
    expect(await check(dev)).toEqual([expect.objectContaining({ ok: true, read: 3 })]);
    expect(await tickets(dev)).toHaveLength(before);

    const ignored = (await ok(dev, 'GET', '/v1/mailboxes/messages?outcome=ignored')).items as Answer[];
    expect(ignored.map((m) => [m.messageKey, m.reason])).toEqual([
      ['loop@mail.test', 'The message comes from the mailbox itself.'],
      ['ooo@acme.test', expect.stringContaining('Automatic mail')],
      ['spam@nowhere.test', 'someone@nowhere.test is not the address of any user: only users of customers log tickets by mail.'],
    ]);
    expect(devImap.inbox().every((m) => m.flags.includes('\\Seen'))).toBe(true);
  });

  it('checks mailboxes and lists the mail log from the command line', async () => {
    const shiplog = (...args: string[]) => runCli(args, { SHIPLOG_URL: dev.url, SHIPLOG_TOKEN: dev.token });
    const checked = await shiplog('mailboxes', 'check');
    expect(checked.code, checked.stderr).toBe(0);
    expect(JSON.parse(checked.stdout)).toEqual({ items: [expect.objectContaining({ mailboxId: ids.support, ok: true, read: 0 })] });
    const listed = await shiplog('mailboxes', 'messages', '--filter', 'outcome=ignored');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^RECEIVED\s+MAILBOX\s+FROM\s+SUBJECT\s+OUTCOME\s+TICKET OR REASON$/m);
    expect(listed.stdout).toMatch(/Support\s+someone@nowhere\.test\s+Buy now\s+ignored\s+someone@nowhere\.test is not the address/);
    expect(listed.stdout).not.toContain('Printer on fire');
  });

  it('acts on a message once: read again after it was marked unread, it logs nothing more', async () => {
    const before = { tickets: (await tickets(dev)).length, log: (await mailLog(dev)).length, notes: (await actionsOf(dev, (await tickets(dev)).at(-1)!.id)).length };
    devImap.markAllUnread();
    expect(await check(dev)).toEqual([expect.objectContaining({ ok: true, read: devImap.inbox().length })]);
    expect((await tickets(dev)).length).toBe(before.tickets);
    expect((await mailLog(dev)).length).toBe(before.log);
    expect((await actionsOf(dev, (await tickets(dev)).at(-1)!.id)).length).toBe(before.notes);
  });

  it('says why a mailbox cannot be read or is not read here, and never shows a password', async () => {
    const billing = await mailbox('Billing', 'imap', [{ ...credential('dev', devImap, 'dev-reader', `${DEV_PASSWORD}-wrong`), mailboxAddress: 'billing-dev@mail.test' }], {
      defaultTicketTypeId: ids.type,
    });
    const remote = await mailbox('Remote', 'imap', [{ ...credential('dev', devImap, 'dev-reader', DEV_PASSWORD), mailboxAddress: 'remote-dev@mail.test', host: 'imap.example.test' }]);
    const graph = await mailbox('Graph', 'microsoft', [{ id: 'dev', instance: 'dev', mailboxAddress: 'graph-dev@mail.test', clientId: 'app', clientSecret: 'graph-secret', tenantId: 'tenant' }]);
    const checks = await check(dev);
    expect(checks).toHaveLength(2);
    expect(checks.find((c) => c.mailboxId === ids.support)).toMatchObject({ ok: true });
    expect(checks.find((c) => c.mailboxId === billing)).toMatchObject({ ok: false, read: 0, error: expect.stringMatching(/^The server refused the login of dev-reader/) });

    const processing = await ok(dev, 'GET', '/v1/mailboxes/processing');
    const byId = new Map((processing.items as Answer[]).map((m) => [m.mailboxId, m]));
    expect(byId.get(billing)).toMatchObject({ processes: true, lastCheck: { ok: false, error: expect.stringContaining('refused the login') } });
    expect(byId.get(remote)).toMatchObject({ processes: false, lastCheck: null, reason: expect.stringContaining('sends the password unencrypted') });
    expect(byId.get(graph)).toMatchObject({ processes: false, reason: expect.stringContaining('Shiplog reads mailboxes over IMAP') });
    const shown = JSON.stringify([checks, processing, await mailLog(dev), await ok(dev, 'GET', '/v1/config/mailboxes')]);
    for (const secret of [DEV_PASSWORD, STAGING_PASSWORD, 'graph-secret']) expect(shown).not.toContain(secret);
  });

  it('logs a message it cannot make a ticket of as ignored, with the reason, once', async () => {
    const untypedImap = await startImapServer({ username: 'untyped-reader', password: DEV_PASSWORD });
    try {
      await mailbox('Untyped', 'imap', [{ ...credential('dev', untypedImap, 'untyped-reader', DEV_PASSWORD), mailboxAddress: 'untyped-dev@mail.test', folder: 'INBOX' }]);
      untypedImap.deliver(mail({ from: 'alice@acme.test', to: 'untyped@desk.test', subject: 'No type', body: '?', messageId: 'untyped@acme.test' }));
      const before = (await tickets(dev)).length;
      await check(dev);
      untypedImap.markAllUnread();
      await check(dev);
      expect((await tickets(dev)).length).toBe(before);
      const logged = (await mailLog(dev)).filter((m) => m.mailboxName === 'Untyped');
      expect(logged).toEqual([expect.objectContaining({ messageKey: 'untyped@acme.test', outcome: 'ignored', reason: 'The mailbox has no default ticket type to log tickets with.' })]);
    } finally {
      await untypedImap.close();
    }
  });
});
