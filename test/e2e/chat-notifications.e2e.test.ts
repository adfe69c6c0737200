import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { logTicket as logDeskTicket, settleDeliveries, startDeskPair } from '../support/deliveries.js';
import { changeLog, ok, type Answer, type LiveInstance } from '../support/pipeline.js';

// Incoming-webhook addresses carry their credential in the path, as Slack's and Teams' do.
const SLACK_PATH = `/services/T0001/B0002/${randomBytes(12).toString('hex')}`;
const TEAMS_PATH = `/workflows/${randomBytes(12).toString('hex')}/triggers/manual/paths/invoke`;
const HOOK_PATH = `/hooks/${randomBytes(12).toString('hex')}`;
const SIGNING_SECRET = `nsec-${randomBytes(12).toString('hex')}`;

interface Posted {
  path: string;
  headers: IncomingHttpHeaders;
  body: Answer;
}

/** Slack, Teams and a plain receiver on one loopback server: records posts by path; `fail(n)` answers 503 to the next n. */
async function startChat(): Promise<{ base: string; posts: Posted[]; fail(times: number): void; close(): Promise<void> }> {
  const posts: Posted[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end('busy');
        return;
      }
      posts.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer });
      if (req.url === SLACK_PATH) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      else if (req.url === TEAMS_PATH || req.url === HOOK_PATH) res.writeHead(202).end();
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('no_service');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    fail: (times) => (failures = times),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each(engines)('notifications to Teams, Slack and webhooks on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let chat: Awaited<ReturnType<typeof startChat>>;
  const ids = {} as Record<'customer' | 'type' | 'slack' | 'teams' | 'hook', string>;
  const secrets = () => [SLACK_PATH, TEAMS_PATH, HOOK_PATH, SIGNING_SECRET];

  const logTicket = (on: LiveInstance, summary: string) => logDeskTicket(on, ids.type, summary);
  const postsTo = (path: string) => chat.posts.filter((p) => p.path === path);

  beforeAll(async () => {
    chat = await startChat();
    ({ dev, staging, ticketTypeId: ids.type } = await startDeskPair(engine));
    const notification = async (body: Record<string, unknown>) =>
      (await ok(dev, 'POST', '/v1/config/notifications', { event: 'ticket.created', enabledInstances: ['dev'], ...body })).entity.id;
    ids.slack = await notification({ name: 'Desk <channel>', channel: 'slack', webhookUrl: `${chat.base}${SLACK_PATH}` });
    ids.teams = await notification({ name: 'Desk in Teams', channel: 'teams', webhookUrl: `${chat.base}${TEAMS_PATH}` });
    ids.hook = await notification({ name: 'Ticket feed', channel: 'webhook', webhookUrl: `${chat.base}${HOOK_PATH}`, signingSecret: SIGNING_SECRET });
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), staging?.close()]);
    await chat?.close();
  });

  it('posts a Slack message, a Teams card and the signed event to their addresses, escaped so a summary cannot mention or link', async () => {
    const ticket = await logTicket(dev, '<!channel> *urgent* [click](http://evil.test) & co');
    const log = await settleDeliveries(dev);
    const byTarget = new Map(log.filter((d) => d.subjectId === ticket.id).map((d) => [d.webhookId, d]));
    expect(byTarget.get(ids.slack)).toMatchObject({ kind: 'notification', status: 'delivered', attempts: 1, responseStatus: 200 });
    expect(byTarget.get(ids.teams)).toMatchObject({ status: 'delivered', responseStatus: 202 });
    expect(byTarget.get(ids.hook)).toMatchObject({ status: 'delivered', responseStatus: 202 });

    const [slack] = postsTo(SLACK_PATH);
    expect(slack!.headers['content-type']).toBe('application/json');
    expect(slack!.body).toEqual({
      text: `*[#${ticket.number}] &lt;!channel&gt; *urgent* [click](http://evil.test) &amp; co*\nDesk &lt;channel&gt;: ticket.created on ticket #${ticket.number}`,
    });

    const [teams] = postsTo(TEAMS_PATH);
    expect(teams!.body).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } }] });
    const [title, line] = teams!.body.attachments[0].content.body as Answer[];
    expect(title.text).toBe(`[#${ticket.number}] \\<\\!channel\\> \\*urgent\\* \\[click\\]\\(http://evil\\.test\\) & co`);
    expect(line.text).toBe(`Desk in Teams: ticket\\.created on ticket #${ticket.number}`);

    const [hook] = postsTo(HOOK_PATH);
    expect(hook!.body).toMatchObject({ event: 'ticket.created', instance: { name: 'dev' }, ticket: { id: ticket.id }, notification: { id: ids.hook, name: 'Ticket feed' } });
    expect(hook!.headers['shiplog-delivery']).toBe(byTarget.get(ids.hook).id);
    const [t, v1] = String(hook!.headers['shiplog-signature']).split(',').map((part) => part.split('=')[1]);
    expect(v1).toBe(createHmac('sha256', SIGNING_SECRET).update(`${t}.${JSON.stringify(hook!.body)}`).digest('hex'));
  });

  it('never shows an address or the signing secret: not in the entity, the change list, an export or the delivery log', async () => {
    const changes = await changeLog(dev);
    const created = changes.filter((c: Answer) => c.type === 'notifications');
    expect(created).toHaveLength(3);
    const details = await Promise.all(created.map((c: Answer) => ok(dev, 'GET', `/v1/changes/${c.id}`)));
    expect(details.find((d: Answer) => d.entityId === ids.hook).secretsChanged).toEqual(['signingSecret', 'webhookUrl']);
    const shown = JSON.stringify([
      await ok(dev, 'GET', '/v1/config/notifications'),
      changes,
      details,
      await ok(dev, 'POST', '/v1/changes/export', { changeIds: created.map((c: Answer) => c.id) }),
      await ok(dev, 'GET', '/v1/webhooks/deliveries'),
      await ok(staging, 'GET', '/v1/config/notifications'),
    ]);
    for (const secret of secrets()) expect(shown).not.toContain(secret);
    expect((await ok(dev, 'GET', `/v1/config/notifications/${ids.slack}`)).body.webhookUrl).toEqual({ set: true });
  });

  it('exists on staging after the push but posts nothing there', async () => {
    expect((await ok(staging, 'GET', `/v1/config/notifications/${ids.teams}`)).body).toMatchObject({ channel: 'teams', webhookUrl: { set: true }, enabledInstances: ['dev'] });
    const before = chat.posts.length;
    await logTicket(staging, 'Logged on staging');
    await staging.services.webhooks.runOnce();
    expect(chat.posts.length).toBe(before);
    expect((await ok(staging, 'GET', '/v1/webhooks/deliveries')).items).toEqual([]);
  });

  it('retries a post the chat service refuses for now, and a wrong address until its attempts run out', async () => {
    chat.fail(1);
    const ticket = await logTicket(dev, 'Busy chat');
    const log = (await settleDeliveries(dev)).filter((d) => d.subjectId === ticket.id);
    expect(log.map((d) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(log.map((d) => d.attempts).sort()).toEqual([1, 1, 2]);

    const wrong = await ok(dev, 'POST', '/v1/config/notifications', {
      name: 'Wrong channel',
      event: 'ticket.created',
      channel: 'slack',
      webhookUrl: `${chat.base}/services/T0001/B0002/revoked`,
      enabledInstances: ['dev'],
    });
    const other = await logTicket(dev, 'Nobody hears');
    const failed = (await settleDeliveries(dev)).find((d) => d.subjectId === other.id && d.webhookId === wrong.entity.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 5, responseStatus: 404, lastError: 'HTTP 404' });
    await ok(dev, 'DELETE', `/v1/config/notifications/${wrong.entity.id}`);
  });

  it('refuses a chat channel without an address, an address on email, fields of another channel, and an address that is not http(s)', async () => {
    const before = (await changeLog(dev)).length;
    const refused = async (body: Record<string, unknown>, id?: string) => {
      const answer = await dev.call(id ? 'PUT' : 'POST', `/v1/config/notifications${id ? `/${id}` : ''}`, { name: 'Refused', event: 'ticket.created', ...body });
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('VALIDATION_FAILED');
      return answer.body.errors.map((e: Answer) => `${e.path} ${e.code}`);
    };
    expect(await refused({ channel: 'teams' })).toEqual(['webhookUrl required']);
    expect(await refused({ channel: 'email', recipients: ['a@desk.test'], webhookUrl: `${chat.base}${SLACK_PATH}` })).toEqual(['webhookUrl not-applicable']);
    expect(await refused({ channel: 'slack', webhookUrl: `${chat.base}${SLACK_PATH}`, recipients: ['a@desk.test'], emailTemplateId: ids.slack })).toEqual([
      'emailTemplateId custom',
      'recipients custom',
    ]);
    expect(await refused({ channel: 'slack', webhookUrl: `${chat.base}${SLACK_PATH}`, signingSecret: 'x' })).toEqual(['signingSecret not-applicable']);
    expect(await refused({ channel: 'slack', webhookUrl: 'ftp://chat.test/hook' })).toEqual(['webhookUrl custom']);
    // On a replacement: cleared, or kept (left out) where it no longer applies, is refused; the stored address stays.
    expect(await refused({ channel: 'slack', webhookUrl: null }, ids.slack)).toEqual(['webhookUrl required']);
    expect(await refused({ channel: 'email', recipients: ['a@desk.test'] }, ids.slack)).toEqual(['webhookUrl not-applicable']);
    expect((await changeLog(dev)).length).toBe(before);
  });

  it('keeps the address when a replacement leaves it out or sends { "set": true }', async () => {
    const kept = async (webhookUrl?: unknown) => {
      await ok(dev, 'PUT', `/v1/config/notifications/${ids.slack}`, {
        name: `Desk renamed ${String(webhookUrl === undefined)}`,
        event: 'ticket.created',
        channel: 'slack',
        enabledInstances: ['dev'],
        ...(webhookUrl === undefined ? {} : { webhookUrl }),
      });
      const before = postsTo(SLACK_PATH).length;
      const ticket = await logTicket(dev, 'After a rename');
      const log = await settleDeliveries(dev);
      expect(log.find((d) => d.subjectId === ticket.id && d.webhookId === ids.slack)).toMatchObject({ status: 'delivered' });
      expect(postsTo(SLACK_PATH).length).toBe(before + 1);
    };
    await kept();
    await kept({ set: true });
  });

  it('turns a chat notification into an email one when the address is cleared with it', async () => {
    const teams = await ok(dev, 'GET', `/v1/config/notifications/${ids.teams}`);
    const mailed = await ok(dev, 'PUT', `/v1/config/notifications/${ids.teams}`, { ...teams.body, channel: 'email', webhookUrl: null, recipients: ['lead@desk.test'] });
    expect(mailed.entity.body).toMatchObject({ channel: 'email', recipients: ['lead@desk.test'] });
    expect(mailed.entity.body).not.toHaveProperty('webhookUrl');
    expect((await ok(dev, 'GET', `/v1/changes/${mailed.changeId}`)).secretsChanged).toEqual(['webhookUrl']);
  });
});
