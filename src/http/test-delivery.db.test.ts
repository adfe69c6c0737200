import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';

interface Problem {
  code: string;
  errors?: { path: string; code: string; message: string }[];
}
interface Delivery {
  id: string;
  kind: string;
  webhookId: string;
  event: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  responseStatus: number | null;
  lastError: string | null;
}

const SIGNING_SECRET = 'test-delivery-signing-secret-41c9';
const TOKEN = 'test-delivery-bearer-token-8e02';

describe.each(engines)('a test delivery of a webhook or notification on %s', (engine) => {
  let t: TestApp;
  let receiver: Server;
  let base: string;
  const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const call = async <T = unknown>(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.json<T>(), raw: res.body };
  };
  const create = async (type: string, body: Record<string, unknown>) => (await call<{ entity: { id: string } }>('POST', `/v1/config/${type}`, body)).body.entity.id;
  const log = async (id: string) => (await call<{ items: Delivery[] }>('GET', `/v1/webhooks/deliveries?webhookId=${id}`)).body.items;

  beforeAll(async () => {
    t = await createTestApp(engine, { name: 'staging', kind: 'staging' });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body });
        res.statusCode = req.url?.startsWith('/broken') ? 500 : 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('sends a webhook once with its headers, signature and authentication, event test, and logs the answer without a secret', async () => {
    const id = await create('webhooks', {
      name: 'Ticket feed',
      url: `${base}/hook`,
      events: ['ticket.closed'],
      headers: { 'x-feed': 'desk' },
      signingSecret: SIGNING_SECRET,
      authentication: { type: 'bearer', token: TOKEN },
      enabledInstances: ['staging'],
    });
    const queued = await call<Delivery>('POST', `/v1/config/webhooks/${id}/test-delivery`);
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ kind: 'webhook', webhookId: id, event: 'test', status: 'pending', attempts: 0, maxAttempts: 1 });
    await t.services.webhooks.runOnce();

    const sent = received.filter((r) => r.url === '/hook');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers).toMatchObject({ 'x-feed': 'desk', authorization: `Bearer ${TOKEN}` });
    expect(sent[0]!.headers).toMatchObject({ 'shiplog-event': 'test', 'shiplog-delivery': queued.body.id, 'shiplog-signature': expect.any(String) });
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ event: 'test', test: true, instance: { name: 'staging' } });

    const entries = await log(id);
    expect(entries).toEqual([expect.objectContaining({ id: queued.body.id, status: 'delivered', attempts: 1, responseStatus: 200, lastError: null })]);
    const raw = (await call('GET', `/v1/webhooks/deliveries?webhookId=${id}`)).raw;
    expect(raw).not.toContain(SIGNING_SECRET);
    expect(raw).not.toContain(TOKEN);
  });

  it('tries a failing receiver once and logs its answer as failed', async () => {
    const id = await create('webhooks', { name: 'Broken feed', url: `${base}/broken`, events: ['ticket.created'] });
    expect((await call('POST', `/v1/config/webhooks/${id}/test-delivery`)).status).toBe(202);
    await t.services.webhooks.runOnce();
    expect(await log(id)).toEqual([expect.objectContaining({ status: 'failed', attempts: 1, responseStatus: 500, lastError: 'HTTP 500' })]);
  });

  it('posts a webhook-channel notification to its secret address, which the log never shows', async () => {
    const id = await create('notifications', { name: 'Closed tickets', event: 'ticket.closed', channel: 'webhook', webhookUrl: `${base}/notify/k3y-in-the-path` });
    expect((await call('POST', `/v1/config/notifications/${id}/test-delivery`)).status).toBe(202);
    await t.services.webhooks.runOnce();
    const sent = received.filter((r) => r.url.startsWith('/notify/'));
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ event: 'test', notification: { id, name: 'Closed tickets' } });
    expect(await log(id)).toEqual([expect.objectContaining({ kind: 'notification', event: 'test', status: 'delivered', responseStatus: 200 })]);
    expect((await call('GET', `/v1/webhooks/deliveries?webhookId=${id}`)).raw).not.toContain('k3y-in-the-path');
  });

  it('refuses where the webhook does not fire, naming the field, and queues nothing', async () => {
    const elsewhere = await create('webhooks', { name: 'Production feed', url: `${base}/hook`, events: ['ticket.created'], enabledInstances: ['production'] });
    const disabled = await create('webhooks', { name: 'Off feed', url: `${base}/hook`, events: ['ticket.created'], enabled: false });
    const before = received.length;
    for (const [id, field] of [
      [elsewhere, 'enabledInstances'],
      [disabled, 'enabled'],
    ] as const) {
      const refused = await call<Problem>('POST', `/v1/config/webhooks/${id}/test-delivery`);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('TEST_DELIVERY_NOT_HERE');
      expect(refused.body.errors?.map((e) => e.path)).toEqual([field]);
      expect(await log(id)).toEqual([]);
    }
    await t.services.webhooks.runOnce();
    expect(received.length).toBe(before);
  });

  it('answers 404 for an entity that is not of the type, and 400 for a type that sends nothing', async () => {
    const team = await create('teams', { name: 'Service Desk' });
    expect((await call<Problem>('POST', `/v1/config/webhooks/${team}/test-delivery`)).body.code).toBe('ENTITY_NOT_FOUND');
    expect((await call<Problem>('POST', `/v1/config/notifications/01J0000000000000000000TEST/test-delivery`)).status).toBe(404);
    const wrongType = await call<Problem>('POST', `/v1/config/teams/${team}/test-delivery`);
    expect(wrongType.status).toBe(400);
    expect(await log(team)).toEqual([]);
  });
});
