import { randomBytes } from 'node:crypto';
import type { EngineName } from '../../src/store/dialects/dialect.js';
import { link, ok, startLiveInstance, type Answer, type LiveInstance } from './pipeline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the instance's dispatcher until its delivery log shows nothing pending or being sent (or gives up); the log. */
export async function settleDeliveries(instance: LiveInstance): Promise<Answer[]> {
  for (let i = 0; i < 100; i += 1) {
    await instance.services.webhooks.runOnce();
    const log = (await ok(instance, 'GET', '/v1/webhooks/deliveries?limit=200')).items as Answer[];
    if (!log.some((d) => d.status === 'pending' || d.status === 'sending')) return log;
    await sleep(25);
  }
  throw new Error(`${instance.name}: deliveries still pending`);
}

/**
 * Development and staging sharing a secret key, linked both ways, their dispatchers retrying within milliseconds;
 * development has a default status and an "Incident" ticket type.
 */
export async function startDeskPair(engine: EngineName): Promise<{ dev: LiveInstance; staging: LiveInstance; ticketTypeId: string }> {
  const secretKey = randomBytes(32);
  const webhookOptions = { retryBaseMs: 20, pollMs: 50 };
  const dev = await startLiveInstance(engine, { name: 'dev', kind: 'development', secretKey, webhookOptions });
  const staging = await startLiveInstance(engine, { name: 'staging', kind: 'staging', secretKey, webhookOptions });
  await link(dev, staging);
  await link(staging, dev, { source: true });
  await ok(dev, 'POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
  const ticketTypeId = (await ok(dev, 'POST', '/v1/config/ticket-types', { name: 'Incident' })).entity.id as string;
  return { dev, staging, ticketTypeId };
}

/** A ticket logged on `on` for a new customer; the ticket as answered. */
export async function logTicket(on: LiveInstance, ticketTypeId: string, summary: string): Promise<Answer> {
  const customer = await ok(on, 'POST', '/v1/customers', { name: `Customer of ${summary}` });
  return (await ok(on, 'POST', '/v1/tickets', { customerId: customer.id, ticketTypeId, summary })).ticket;
}
