import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { settleDeliveries } from '../support/deliveries.js';
import { ok, startLiveInstance, type LiveInstance } from '../support/pipeline.js';
import { createAgent } from '../support/principals.js';

const DEV_PASSWORD = 'dev-smtp-password-51c0';

interface Mail {
  user: string | undefined;
  from: string;
  to: string[];
  data: string;
}

/** A real SMTP server on loopback: accepts only the dev credential, records every message; `refuse` rejects the next ones. */
async function startSmtp(): Promise<{ port: number; mails: Mail[]; refuse(times: number): void; close(): Promise<void> }> {
  const mails: Mail[] = [];
  let refusals = 0;
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === 'dev-smtp' && auth.password === DEV_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refusals > 0) {
          refusals -= 1;
          const error = new Error('Try again later') as Error & { responseCode: number };
          error.responseCode = 451;
          callback(error);
          return;
        }
        const from = session.envelope.mailFrom;
        mails.push({
          user: session.user as string | undefined,
          from: from ? from.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    refuse: (times) => (refusals = times),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each(engines)('notifications by email on ticket events on %s', (engine) => {
  let dev: LiveInstance;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let ada: Awaited<ReturnType<typeof createAgent>>;
  const ids = {} as Record<'customer' | 'type' | 'team' | 'emptyTeam' | 'email' | 'nobody' | 'production', string>;

  beforeAll(async () => {
    smtp = await startSmtp();
    dev = await startLiveInstance(engine, { name: 'dev', kind: 'development', webhookOptions: { retryBaseMs: 20, pollMs: 50 } });
    // Credentials per instance need tracking for mailboxes on.
    await ok(dev, 'PATCH', '/v1/settings', { trackMailboxes: true });
    const credential = (id: string, instance: string, username: string, password: string) => ({ id, instance, mailboxAddress: `desk@${instance}.test`, username, password, host: '127.0.0.1', port: smtp.port });
    await ok(dev, 'POST', '/v1/config/mailboxes', {
      name: 'Outgoing mail',
      address: 'desk@desk.test',
      type: 'smtp',
      credentials: [credential('dev', 'dev', 'dev-smtp', DEV_PASSWORD), credential('prod', 'production', 'prod-smtp', 'production-only-password')],
    });
    await ok(dev, 'POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    ids.type = (await ok(dev, 'POST', '/v1/config/ticket-types', { name: 'Incident' })).entity.id;
    ids.team = (await ok(dev, 'POST', '/v1/config/teams', { name: 'First line' })).entity.id;
    ids.emptyTeam = (await ok(dev, 'POST', '/v1/config/teams', { name: 'Nobody yet' })).entity.id;
    ada = await createAgent(dev, { name: 'Ada', email: 'ada@desk.test', roles: [{ name: 'First line', ticketAccess: 'modify', teamMemberships: [{ teamId: ids.team, access: 'modify' }] }] });
    const template = (
      await ok(dev, 'POST', '/v1/config/email-templates', {
        name: 'Assigned',
        subject: 'Assigned: {{ticket.summary}}',
        bodyHtml: '<p>Ticket {{ticket.number}}: {{ticket.summary}}</p>',
        bodyText: 'Ticket {{ticket.number}}: {{ticket.summary}}',
      })
    ).entity.id;
    const notification = async (body: Record<string, unknown>) => (await ok(dev, 'POST', '/v1/config/notifications', { event: 'ticket.assigned', ...body })).entity.id;
    ids.email = await notification({ name: 'Tell the team', channel: 'email', recipients: ['lead@desk.test'], teamIds: [ids.team], emailTemplateId: template, enabledInstances: ['dev'] });
    ids.nobody = await notification({ name: 'Tell an empty team', channel: 'email', teamIds: [ids.emptyTeam] });
    ids.production = await notification({ name: 'Production only', channel: 'email', recipients: ['ops@desk.test'], enabledInstances: ['production'] });
    ids.customer = (await ok(dev, 'POST', '/v1/customers', { name: 'Acme' })).id;
  });
  afterAll(async () => {
    await dev?.close();
    await smtp?.close();
  });

  it('mails the recipients and the team’s agents through this instance’s SMTP credentials, from the template', async () => {
    const ticket = (await ok(dev, 'POST', '/v1/tickets', { customerId: ids.customer, ticketTypeId: ids.type, summary: '<b>Printer</b> & co', agentId: ada.agent.id })).ticket;
    const log = await settleDeliveries(dev);
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.user).toBe('dev-smtp');
    expect(mail.from).toBe('desk@dev.test');
    expect(mail.to.sort()).toEqual(['ada@desk.test', 'lead@desk.test']);
    expect(mail.data).toContain('Subject: Assigned: <b>Printer</b> & co');
    expect(mail.data).toContain(`Ticket ${ticket.number}: &#60;b&#62;Printer&#60;/b&#62; &#38; co`);

    const byTarget = new Map(log.map((d) => [d.webhookId, d]));
    expect(byTarget.get(ids.email)).toMatchObject({ kind: 'notification', event: 'ticket.assigned', subjectId: ticket.id, status: 'delivered', attempts: 1 });
    expect(byTarget.get(ids.nobody)).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringContaining('no recipients') });
    expect(byTarget.has(ids.production)).toBe(false);
    const shown = JSON.stringify([log, await ok(dev, 'GET', '/v1/config/mailboxes')]);
    expect(shown).not.toContain(DEV_PASSWORD);
  });

  it('retries when the mail server refuses for now, and sends nothing for events it does not listen to', async () => {
    smtp.refuse(1);
    const before = smtp.mails.length;
    const ticket = (await ok(dev, 'POST', '/v1/tickets', { customerId: ids.customer, ticketTypeId: ids.type, summary: 'Unassigned at first' })).ticket;
    await settleDeliveries(dev);
    expect(smtp.mails.length).toBe(before);
    await ok(dev, 'PATCH', `/v1/tickets/${ticket.id}`, { agentId: ada.agent.id });
    const log = await settleDeliveries(dev);
    const sent = log.find((d) => d.webhookId === ids.email && d.subjectId === ticket.id)!;
    expect(sent).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(smtp.mails.length).toBe(before + 1);
  });
});
