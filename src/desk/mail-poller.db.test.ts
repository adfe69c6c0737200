import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { mail, startImapServer, type ImapServer } from '../../test/support/imap.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { withStores, type Transactor } from '../store/ports.js';

const PASSWORD = 'poller-test-password';

/** A transactor whose write transactions fail at the mail log's insert, after the ticket was written, while armed. */
function failingMailLog() {
  let armed = false;
  const wrap = (db: Transactor): Transactor => ({
    read: (fn) => db.read(fn),
    write: (fn) =>
      db.write((stores) =>
        fn(
          armed
            ? withStores(stores, {
                desk: new Proxy(stores.desk, {
                  get(target, prop, receiver) {
                    if (prop !== 'insertInboundMail') return Reflect.get(target, prop, receiver) as unknown;
                    return async () => {
                      throw new Error('the database went away');
                    };
                  },
                }),
              })
            : stores,
        ),
      ),
  });
  return { wrap, arm: (on: boolean) => (armed = on) };
}

describe.each(engines)('the mail poller on %s', (engine) => {
  const failure = failingMailLog();
  let instance: TestInstance;
  let imap: ImapServer;

  beforeAll(async () => {
    imap = await startImapServer({ username: 'reader', password: PASSWORD });
    instance = await createTestInstance(engine, { name: 'dev', wrap: failure.wrap, mailOptions: { pollMs: 50, maxMessages: 2, maxBytes: 4096 } });
    const { services, ctx } = instance;
    await services.settings.update(ctx, { trackMailboxes: true }, { isAdministrator: true });
    const type = (await services.config.create(ctx, 'ticket-types', { name: 'Incident' })).entity!.id;
    await services.config.create(ctx, 'mailboxes', {
      name: 'Support',
      address: 'support@desk.test',
      type: 'imap',
      defaultTicketTypeId: type,
      credentials: [{ id: 'dev', instance: 'dev', mailboxAddress: 'support-dev@mail.test', host: '127.0.0.1', port: imap.port, security: 'none', username: 'reader', password: PASSWORD }],
    });
    const customer = await instance.db.write(async (stores) => {
      const now = Date.now();
      await stores.desk.insertCustomer({ id: 'c1', name: 'Acme', thirdPartyId: null, createdAt: now, updatedAt: now });
      await stores.desk.insertUser({ id: 'u1', customerId: 'c1', name: 'Alice', email: 'alice@acme.test', thirdPartyId: null, createdAt: now, updatedAt: now });
      return 'c1';
    });
    expect(customer).toBe('c1');
  });
  afterAll(async () => {
    await instance?.services.mail.stop();
    await instance?.close();
    await imap?.close();
  });

  const ticketCount = () => instance.db.read(async (stores) => (await stores.desk.listTickets({ visibility: { kind: 'all' }, limit: 1000 })).length);
  const logCount = () => instance.db.read(async (stores) => (await stores.desk.listInboundMail({ limit: 1000 })).length);

  it('leaves a message unread when acting on it fails, writes nothing of it, and acts on it once at the next check', async () => {
    imap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: 'Printer', body: 'Jammed', messageId: 'fail@acme.test' }));
    failure.arm(true);
    const failed = await instance.services.mail.checkNow();
    failure.arm(false);
    expect(failed).toEqual([expect.objectContaining({ ok: false, read: 0, error: expect.stringContaining('the database went away') })]);
    expect(await ticketCount()).toBe(0);
    expect(await logCount()).toBe(0);
    expect(imap.inbox()[0]!.flags).not.toContain('\\Seen');

    expect(await instance.services.mail.checkNow()).toEqual([expect.objectContaining({ ok: true, read: 1 })]);
    expect(await ticketCount()).toBe(1);
    expect(await logCount()).toBe(1);
    expect(imap.inbox()[0]!.flags).toContain('\\Seen');
  });

  it('reads at most maxMessages per check, oldest first, and leaves messages over maxBytes unread', async () => {
    for (const n of [1, 2, 3]) imap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: `Batch ${n}`, body: 'x', messageId: `batch-${n}@acme.test` }));
    imap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: 'Huge', body: 'y'.repeat(8192), messageId: 'huge@acme.test' }));
    const [first] = await instance.services.mail.checkNow();
    expect(first).toMatchObject({ ok: true, read: 2, skipped: 0 });
    const [second] = await instance.services.mail.checkNow();
    expect(second).toMatchObject({ ok: true, read: 1, skipped: 1 });
    const summaries = await instance.db.read(async (stores) => (await stores.desk.listTickets({ visibility: { kind: 'all' }, limit: 1000 })).map((t) => t.summary));
    expect(summaries.sort()).toEqual(['Batch 1', 'Batch 2', 'Batch 3', 'Printer']);
    expect(imap.inbox().find((m) => m.raw.includes('huge@acme.test'))!.flags).not.toContain('\\Seen');
  });

  it('once started, checks on its own timer until stopped', async () => {
    instance.services.mail.start();
    imap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: 'By the timer', body: 'z', messageId: 'timer@acme.test' }));
    const before = await ticketCount();
    for (let i = 0; i < 100 && (await ticketCount()) === before; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await ticketCount()).toBe(before + 1);
    await instance.services.mail.stop();
    imap.deliver(mail({ from: 'alice@acme.test', to: 'support@desk.test', subject: 'After stop', body: 'z', messageId: 'stopped@acme.test' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await ticketCount()).toBe(before + 1);
  });
});
