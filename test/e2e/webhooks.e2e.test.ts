import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { logTicket as logDeskTicket, settleDeliveries, startDeskPair } from '../support/deliveries.js';
import { ok, type Answer, type LiveInstance } from '../support/pipeline.js';

const SIGNING_SECRET = `whsec-${randomBytes(12).toString('hex')}`;
const BEARER = `receiver-token-${randomBytes(8).toString('hex')}`;

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback: records every request; answers 500 while `failures` (for any path, or for paths under `failing`) is above zero. */
async function startReceiver(): Promise<{ url: string; received: Received[]; fail(times: number, under?: string): void; close(): Promise<void> }> {
  const received: Received[] = [];
  let failures = 0;
  let failing = '/';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (failures > 0 && (req.url ?? '').startsWith(failing)) {
        failures -= 1;
        res.writeHead(500).end('not now');
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/shiplog`,
    received,
    fail: (times, under = '/') => {
      failures = times;
      failing = under;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each(engines)('webhooks on ticket events on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let webhookId: string;
  let ticketTypeId: string;

  const logTicket = async (on: LiveInstance, summary: string): Promise<string> => (await logDeskTicket(on, ticketTypeId, summary)).id;

  beforeAll(async () => {
    receiver = await startReceiver();
    ({ dev, staging, ticketTypeId } = await startDeskPair(engine));
    webhookId = (
      await ok(dev, 'POST', '/v1/config/webhooks', {
        name: 'Ticket feed',
        url: receiver.url,
        events: ['ticket.created', 'ticket.action'],
        signingSecret: SIGNING_SECRET,
        authentication: { type: 'bearer', token: BEARER },
        enabledInstances: ['dev'],
        maxAttempts: 3,
        timeoutMs: 2000,
      })
    ).entity.id;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), staging?.close()]);
    await receiver?.close();
  });

  it('delivers a signed event to a real receiver, and never sends the signing secret', async () => {
    const ticketId = await logTicket(dev, 'Screen flickers');
    const log = await settleDeliveries(dev);
    expect(log[0]).toMatchObject({ webhookId, event: 'ticket.created', subjectId: ticketId, status: 'delivered', attempts: 1, responseStatus: 204, lastError: null });

    const request = receiver.received.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.headers['shiplog-event']).toBe('ticket.created');
    expect(request.headers['shiplog-delivery']).toBe(log[0].id);
    expect(request.headers.authorization).toBe(`Bearer ${BEARER}`);
    const body = JSON.parse(request.body) as Answer;
    expect(body).toMatchObject({ id: log[0].id, event: 'ticket.created', instance: { name: 'dev' }, ticket: { id: ticketId, summary: 'Screen flickers' } });
    // The signature verifies with the secret; the secret itself is nowhere in what was sent or logged.
    const [t, v1] = String(request.headers['shiplog-signature']).split(',').map((part) => part.split('=')[1]);
    expect(v1).toBe(createHmac('sha256', SIGNING_SECRET).update(`${t}.${request.body}`).digest('hex'));
    expect(JSON.stringify(request)).not.toContain(SIGNING_SECRET);
    const shown = JSON.stringify([await ok(dev, 'GET', '/v1/webhooks/deliveries'), await ok(dev, 'GET', `/v1/config/webhooks/${webhookId}`)]);
    expect(shown).not.toContain(SIGNING_SECRET);
    expect(shown).not.toContain(BEARER);
  });

  it('exists on the next instance after a sync, but fires only where it is enabled', async () => {
    const copy = await ok(staging, 'GET', `/v1/config/webhooks/${webhookId}`);
    expect(copy.body).toMatchObject({ enabledInstances: ['dev'], signingSecret: { set: true } });
    const before = receiver.received.length;
    await logTicket(staging, 'Logged on staging');
    await staging.services.webhooks.runOnce();
    expect(receiver.received.length).toBe(before);
    expect((await ok(staging, 'GET', '/v1/webhooks/deliveries')).items).toEqual([]);
  });

  it('retries with backoff after the receiver fails, then delivers', async () => {
    receiver.fail(2);
    const before = receiver.received.length;
    const ticketId = await logTicket(dev, 'Keyboard missing keys');
    const log = await settleDeliveries(dev);
    const delivery = log.find((d) => d.subjectId === ticketId)!;
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, responseStatus: 204 });
    const attempts = receiver.received.slice(before);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.headers['shiplog-delivery']))).toEqual(new Set([delivery.id]));
  });

  it('gives up after the webhook’s attempts, keeps the failure in the log, and retries it on request', async () => {
    receiver.fail(3);
    const ticketId = await logTicket(dev, 'Mouse drifts');
    const failed = (await settleDeliveries(dev)).find((d) => d.subjectId === ticketId)!;
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, responseStatus: 500, lastError: 'HTTP 500' });
    expect((await ok(dev, 'GET', `/v1/webhooks/deliveries?status=failed`)).items.map((d: Answer) => d.id)).toContain(failed.id);

    const notFailed = await dev.call('POST', `/v1/webhooks/deliveries/${(await ok(dev, 'GET', '/v1/webhooks/deliveries?status=delivered')).items[0].id}/retry`);
    expect(notFailed).toMatchObject({ status: 409, body: { code: 'DELIVERY_NOT_FAILED' } });
    expect(await ok(dev, 'POST', `/v1/webhooks/deliveries/${failed.id}/retry`)).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await settleDeliveries(dev)).find((d) => d.id === failed.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('queues nothing for a ticket write that is refused, and fires only for the events it listens to', async () => {
    const count = (await ok(dev, 'GET', '/v1/webhooks/deliveries?limit=200')).items.length;
    const refused = await dev.call('POST', '/v1/tickets', { customerId: 'no-such-customer', ticketTypeId, summary: 'Nope' });
    expect(refused).toMatchObject({ status: 422, body: { code: 'REFERENCE_NOT_FOUND', errors: [{ path: 'customerId' }] } });
    const customer = await ok(dev, 'POST', '/v1/customers', { name: 'Quiet customer' });
    const ticket = (await ok(dev, 'POST', '/v1/tickets', { customerId: customer.id, ticketTypeId, summary: 'Quiet' })).ticket;
    await ok(dev, 'PATCH', `/v1/tickets/${ticket.id}`, { summary: 'Still quiet' }); // ticket.updated: not listened to
    await ok(dev, 'POST', `/v1/tickets/${ticket.id}/actions`, { kind: 'note', note: 'Looked at it' });
    const log = (await settleDeliveries(dev)).slice(0, (await ok(dev, 'GET', '/v1/webhooks/deliveries?limit=200')).items.length - count);
    expect(log.map((d) => d.event).sort()).toEqual(['ticket.action', 'ticket.created']);
  });

  it('runs a runbook’s steps in order on its trigger event, filled from the event, resuming a failed run at the failed step', async () => {
    const base = new URL(receiver.url).origin;
    const runbookId = (
      await ok(dev, 'POST', '/v1/config/runbooks', {
        name: 'Open a change in the CMDB',
        baseUrl: base,
        authentication: { type: 'api-key', headerName: 'X-Api-Key', token: BEARER },
        steps: [
          { id: 'open', name: 'Open record', method: 'POST', path: '/cmdb/tickets/{{ticket.id}}', body: '{"summary":"{{ticket.summary}}","note":"{{action.note}}"}' },
          { id: 'notify', name: 'Notify owner', method: 'GET', path: '/cmdb/notify?event={{event}}' },
        ],
        triggerEvents: ['ticket.action'],
        enabledInstances: ['dev'],
      })
    ).entity.id;
    const customer = await ok(dev, 'POST', '/v1/customers', { name: 'Runbook customer' });
    const ticket = (await ok(dev, 'POST', '/v1/tickets', { customerId: customer.id, ticketTypeId, summary: 'Disk "full" again' })).ticket;
    await settleDeliveries(dev);
    const before = receiver.received.length;
    // The first step succeeds, the second fails once: the retry sends only the second step again.
    receiver.fail(1, '/cmdb/notify');
    await ok(dev, 'POST', `/v1/tickets/${ticket.id}/actions`, { kind: 'note', note: 'Escalating' });
    const log = await settleDeliveries(dev);
    const run = log.find((d) => d.kind === 'runbook')!;
    expect(run).toMatchObject({ webhookId: runbookId, event: 'ticket.action', subjectId: ticket.id, status: 'delivered', progress: 2, attempts: 2 });
    const calls = receiver.received.slice(before).filter((r) => r.headers['shiplog-delivery'] === run.id);
    expect(calls.map((c) => c.headers['shiplog-step'])).toEqual(['open', 'notify', 'notify']);
    const opened = calls[0]!;
    expect(opened.method).toBe('POST');
    expect(JSON.parse(opened.body)).toEqual({ summary: 'Disk "full" again', note: 'Escalating' });
    expect(opened.headers['x-api-key']).toBe(BEARER);
    await ok(dev, 'DELETE', `/v1/config/runbooks/${runbookId}`);
  });

  it('stops firing on this instance once the webhook no longer names it', async () => {
    const current = await ok(dev, 'GET', `/v1/config/webhooks/${webhookId}`);
    await ok(dev, 'PUT', `/v1/config/webhooks/${webhookId}`, { ...current.body, signingSecret: undefined, authentication: { type: 'bearer' }, enabledInstances: ['production'] });
    const before = receiver.received.length;
    await logTicket(dev, 'After the move');
    await dev.services.webhooks.runOnce();
    expect(receiver.received.length).toBe(before);
  });
});
