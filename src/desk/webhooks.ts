import type { Catalog } from '../catalog/catalog.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import type { promotionEvents } from '../catalog/builtin/notifications.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { decodeCursor } from '../tracking/cursor.js';
import type { EntityRecord, Stores, Transactor, WebhookDeliveryRecord } from '../store/ports.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { openSecret } from '../tracking/secrets.js';
import { composeNotification, NotificationUnsendable, type MailTransport } from './notifications.js';
import { deliveryHeaders } from './signature.js';
import { pageOf } from './customer-service.js';
import { fillTemplate } from './templates.js';
import type { ServiceObserver } from '../shared/service-observer.js';

export type TicketEvent = 'ticket.created' | 'ticket.updated' | 'ticket.closed' | 'ticket.assigned' | 'ticket.action';
export type PromotionEvent = (typeof promotionEvents)[number];

/** One HTTP request of a delivery, as the transport sends it. */
export interface WebhookRequest {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
}

/** Sends webhook requests (HTTP in production); resolves with the response status, rejects on a network failure or timeout. */
export interface WebhookTransport {
  send(request: WebhookRequest): Promise<{ status: number }>;
}

export interface DispatcherOptions {
  /** How often due deliveries are looked for when nothing nudges the dispatcher. */
  pollMs?: number;
  /** How long a sender holds a claimed delivery before another may take it over. */
  leaseMs?: number;
  /** Wait before retry `n` (1-based): exponential from this base, capped at an hour. */
  retryBaseMs?: number;
  /** Deliveries sent per round. */
  batch?: number;
}

const OUTBOUND_TYPES = { webhook: 'webhooks', runbook: 'runbooks', notification: 'notifications' } as const;
const RUNBOOK_ATTEMPTS = 5;
/** The event of a delivery asked for from the console or the API to check a webhook or notification. */
export const TEST_EVENT = 'test';

/** Where a webhook or runbook runs: enabled, with an `enabledInstances` that is empty or names this instance. */
export function firesHere(entity: EntityRecord, instanceName: string, kind: WebhookDeliveryRecord['kind'] = 'webhook'): boolean {
  if (entity.type !== OUTBOUND_TYPES[kind] || entity.body.enabled === false) return false;
  const enabledOn = (entity.body.enabledInstances as string[] | undefined) ?? [];
  return enabledOn.length === 0 || enabledOn.includes(instanceName);
}

/**
 * Queues, for `event`, a delivery for every webhook that fires here and listens to it, and a run of every runbook that
 * fires here and is triggered by it — in the caller's write transaction (an outbox): a ticket change and what it sets
 * off commit together, or neither does.
 */
export async function queueWebhookEvent(
  stores: Stores,
  instance: { id: string; name: string },
  now: number,
  event: TicketEvent | PromotionEvent,
  subjectId: string,
  data: Record<string, unknown>,
): Promise<number> {
  const listening = (kind: WebhookDeliveryRecord['kind'], field: string) => async () =>
    (await stores.entities.listAll(OUTBOUND_TYPES[kind])).filter((e) => {
      const on = e.body[field];
      return firesHere(e, instance.name, kind) && (Array.isArray(on) ? on.includes(event) : on === event);
    });
  const targets = [
    ...(await listening('webhook', 'events')()).map((entity) => ({ kind: 'webhook' as const, entity })),
    ...(await listening('runbook', 'triggerEvents')()).map((entity) => ({ kind: 'runbook' as const, entity })),
    ...(await listening('notification', 'event')()).map((entity) => ({ kind: 'notification' as const, entity })),
  ];
  const deliveries = targets.map(({ kind, entity }) =>
    queuedDelivery({ kind, entity, event, subjectId, instance, now, data, maxAttempts: typeof entity.body.maxAttempts === 'number' ? entity.body.maxAttempts : RUNBOOK_ATTEMPTS }),
  );
  await stores.deliveries.insertMany(deliveries);
  return deliveries.length;
}

/** A delivery queued now, due at once; its payload the event with `data`. */
function queuedDelivery(d: {
  kind: WebhookDeliveryRecord['kind'];
  entity: EntityRecord;
  event: string;
  subjectId: string;
  instance: { id: string; name: string };
  now: number;
  data: Record<string, unknown>;
  maxAttempts: number;
}): WebhookDeliveryRecord {
  const id = newId(d.now);
  const { now, event } = d;
  return {
    id,
    kind: d.kind,
    progress: 0,
    webhookId: d.entity.id,
    webhookName: d.entity.name,
    event,
    subjectId: d.subjectId,
    payload: JSON.stringify({ id, event, occurredAt: new Date(now).toISOString(), instance: { id: d.instance.id, name: d.instance.name }, ...d.data }),
    status: 'pending',
    attempts: 0,
    maxAttempts: d.maxAttempts,
    nextAt: now,
    leaseUntil: null,
    responseStatus: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
}

const inJsonString = (text: string) => JSON.stringify(text).slice(1, -1);

/** A delivery as the log shows it: what was sent when, and how it went; the payload and any secret are left out. */
export interface DeliveryView {
  id: string;
  kind: WebhookDeliveryRecord['kind'];
  /** Runbook steps done. */
  progress: number;
  webhookId: string;
  webhookName: string;
  event: string;
  subjectId: string;
  status: WebhookDeliveryRecord['status'];
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: string | null;
  responseStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export function deliveryView(d: WebhookDeliveryRecord): DeliveryView {
  return {
    id: d.id,
    kind: d.kind,
    progress: d.progress,
    webhookId: d.webhookId,
    webhookName: d.webhookName,
    event: d.event,
    subjectId: d.subjectId,
    status: d.status,
    attempts: d.attempts,
    maxAttempts: d.maxAttempts,
    nextAttemptAt: d.status === 'pending' ? new Date(d.nextAt).toISOString() : null,
    responseStatus: d.responseStatus,
    lastError: d.lastError,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export interface WebhookDispatcher {
  /** The delivery log, newest first. */
  deliveries(query: { webhookId?: string; status?: WebhookDeliveryRecord['status']; cursor?: string; limit: number }): Promise<{ items: DeliveryView[]; nextCursor: string | null }>;
  /** Queues a failed delivery again, with a fresh allowance of attempts. */
  retry(id: string): Promise<DeliveryView>;
  /** Queues a test delivery of a webhook or notification now, whatever event it listens to; refused where it does not fire. */
  testDelivery(type: string, id: string): Promise<DeliveryView>;
  /** Sends what is due until nothing is; resolves with the number of attempts made. */
  runOnce(): Promise<number>;
  /** Asks for a round soon (after a transaction queued deliveries). */
  nudge(): void;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Sends queued deliveries: each with its webhook's headers and authentication, signed with its signing secret, within
 * its timeout; a failure (a network error, a timeout or a non-2xx answer) is retried with exponential backoff up to the
 * webhook's `maxAttempts`. Every attempt's outcome stays in the delivery log; secrets never do.
 */
export function createWebhookDispatcher(deps: {
  db: Transactor;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
  instance: { id: string; name: string };
  transport: WebhookTransport;
  /** How notifications are mailed (SMTP in production). */
  mail: MailTransport;
  options?: DispatcherOptions;
  observer?: ServiceObserver;
}): WebhookDispatcher {
  const { db, box, clock, instance, transport } = deps;
  const def = deps.catalog.get('webhooks');
  const runbookDef = deps.catalog.get('runbooks');
  const pollMs = deps.options?.pollMs ?? 1000;
  const leaseMs = deps.options?.leaseMs ?? 60_000;
  const retryBaseMs = deps.options?.retryBaseMs ?? 2000;
  const batch = deps.options?.batch ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let started = false;
  let stopping = false;

  /** The headers of the entity's `authentication`, its secrets opened only to be sent. */
  function authenticationHeaders(typeDef: EntityTypeDefinition, entity: EntityRecord): Record<string, string> {
    const auth = entity.body.authentication as { type: string; username?: string; headerName?: string } | undefined;
    const secret = (slot: string) => openSecret(typeDef, box, entity.id, entity.body, slot) ?? '';
    if (auth?.type === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.username ?? ''}:${secret('authentication.password')}`).toString('base64')}` };
    if (auth?.type === 'bearer') return { authorization: `Bearer ${secret('authentication.token')}` };
    if (auth?.type === 'api-key' && auth.headerName) return { [auth.headerName.toLowerCase()]: secret('authentication.token') };
    return {};
  }

  function requestFor(webhook: EntityRecord, delivery: WebhookDeliveryRecord, now: number): WebhookRequest {
    const body = webhook.body;
    const headers: Record<string, string> = {
      ...((body.headers as Record<string, string> | undefined) ?? {}),
      'content-type': 'application/json',
      'user-agent': 'Shiplog-Webhooks',
      ...deliveryHeaders(delivery, delivery.payload, openSecret(def, box, webhook.id, body, 'signingSecret'), now),
      ...authenticationHeaders(def, webhook),
    };
    return {
      url: body.url as string,
      method: (body.method as WebhookRequest['method'] | undefined) ?? 'POST',
      headers,
      body: delivery.payload,
      timeoutMs: typeof body.timeoutMs === 'number' ? body.timeoutMs : 5000,
    };
  }

  const backoff = (attempt: number) => Math.min(retryBaseMs * 2 ** (attempt - 1), 3_600_000);

  interface RunbookStep {
    id: string;
    name: string;
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    path: string;
    body?: string;
  }

  /** A runbook's steps in order, from where the last attempt stopped; resolves with the steps done and how the last went. */
  async function runSteps(runbook: EntityRecord, delivery: WebhookDeliveryRecord): Promise<{ progress: number; status?: number; error?: string }> {
    const steps = runbook.body.steps as RunbookStep[];
    const event = JSON.parse(delivery.payload) as unknown;
    const base = String(runbook.body.baseUrl).replace(/\/+$/, '');
    let progress = delivery.progress;
    let last: { status?: number; error?: string } = {};
    for (; progress < steps.length; progress += 1) {
      const step = steps[progress]!;
      const headers: Record<string, string> = {
        'user-agent': 'Shiplog-Runbooks',
        'shiplog-event': delivery.event,
        'shiplog-delivery': delivery.id,
        'shiplog-step': step.id,
        ...authenticationHeaders(runbookDef, runbook),
      };
      const body = step.body === undefined ? undefined : fillTemplate(step.body, event, inJsonString);
      if (body !== undefined) headers['content-type'] = 'application/json';
      try {
        const { status } = await transport.send({ url: `${base}${fillTemplate(step.path, event, encodeURIComponent)}`, method: step.method, headers, body: body ?? null, timeoutMs: 10_000 });
        last = { status };
        if (status < 200 || status >= 300) return { progress, status, error: `step "${step.name}": HTTP ${status}` };
      } catch (error) {
        return { progress, error: `step "${step.name}": ${error instanceof Error ? error.message : 'the request failed'}` };
      }
    }
    return { progress, ...last };
  }

  async function attempt(delivery: WebhookDeliveryRecord): Promise<WebhookDeliveryRecord> {
    const now = clock.now();
    const target = await db.read((stores) => stores.entities.find(delivery.webhookId));
    const done = (fields: Partial<WebhookDeliveryRecord>): WebhookDeliveryRecord => ({ ...delivery, leaseUntil: null, updatedAt: clock.now(), ...fields });
    if (!target || !firesHere(target, instance.name, delivery.kind)) {
      return done({ status: 'failed', lastError: `The ${delivery.kind} was deleted, disabled or no longer enabled on this instance.` });
    }
    let outcome: { status?: number; error?: string; progress?: number; sent?: boolean };
    if (delivery.kind === 'runbook') {
      outcome = await runSteps(target, delivery);
    } else if (delivery.kind === 'notification') {
      try {
        const send = await db.read((stores) => composeNotification(stores, { catalog: deps.catalog, box, instanceName: instance.name }, target, delivery, now));
        if (send.kind === 'mail') {
          await deps.mail.send(send.server, send.message);
          outcome = { sent: true };
        } else {
          outcome = { status: (await transport.send(send.request)).status };
        }
      } catch (error) {
        // Configuration that cannot send is not retried; a server that refuses or cannot be reached is.
        if (error instanceof NotificationUnsendable) return done({ status: 'failed', attempts: delivery.attempts + 1, lastError: error.message });
        outcome = { error: error instanceof Error ? error.message : 'the notification was not sent' };
      }
    } else {
      try {
        outcome = { status: (await transport.send(requestFor(target, delivery, now))).status };
      } catch (error) {
        outcome = { error: error instanceof Error ? error.message : 'the request failed' };
      }
    }
    const attempts = delivery.attempts + 1;
    const progress = outcome.progress ?? delivery.progress;
    if (outcome.sent || (outcome.error === undefined && outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300)) {
      return done({ status: 'delivered', attempts, progress: delivery.kind === 'runbook' ? progress : 1, responseStatus: outcome.status ?? null, lastError: null });
    }
    const lastError = outcome.error ?? `HTTP ${outcome.status}`;
    const responseStatus = outcome.status ?? null;
    if (attempts >= delivery.maxAttempts) return done({ status: 'failed', attempts, progress, responseStatus, lastError });
    return done({ status: 'pending', attempts, progress, responseStatus, lastError, nextAt: clock.now() + backoff(attempts) });
  }

  async function round(): Promise<number> {
    let made = 0;
    // Claiming takes the write lock, which every process on the database shares: an idle poll only reads.
    const due = await db.read((stores) => stores.deliveries.nextDue());
    if (due === null || due > clock.now()) return made;
    for (;;) {
      // A stopping dispatcher finishes the batch it claimed and claims no more.
      if (stopping) return made;
      const now = clock.now();
      const claimed = await db.write((stores) => stores.deliveries.claimDue(now, now + leaseMs, batch));
      if (claimed.length === 0) return made;
      const results = await Promise.all(claimed.map((delivery) => attempt(delivery)));
      await db.write(async (stores) => {
        for (const [i, result] of results.entries()) await stores.deliveries.finish(result, claimed[i]!.leaseUntil!);
      });
      for (const result of results) {
        deps.observer?.deliveryAttempted?.({ kind: result.kind, outcome: result.status === 'delivered' ? 'delivered' : result.status === 'failed' ? 'failed' : 'retrying' });
      }
      made += results.length;
    }
  }

  function schedule(delayMs: number): void {
    if (!started) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), delayMs);
    timer.unref();
  }

  async function tick(): Promise<void> {
    try {
      await dispatcher.runOnce();
    } catch {
      // A round that failed (the database away) is tried again at the next poll.
    }
    schedule(pollMs);
  }

  const dispatcher: WebhookDispatcher = {
    async deliveries({ webhookId, status, cursor, limit }) {
      const rows = await db.read((stores) =>
        stores.deliveries.list({ limit: limit + 1, ...(webhookId ? { webhookId } : {}), ...(status ? { status } : {}), ...(cursor ? { beforeId: decodeCursor(cursor) } : {}) }),
      );
      return pageOf(rows, limit, deliveryView);
    },
    async retry(id) {
      const again = await db.write(async (stores) => {
        const delivery = await stores.deliveries.find(id);
        if (!delivery) throw new DomainError('DELIVERY_NOT_FOUND', `There is no webhook delivery with id ${id}.`, { id });
        if (delivery.status !== 'failed') throw new DomainError('DELIVERY_NOT_FAILED', `The delivery is ${delivery.status}; only a failed delivery is retried.`, { status: delivery.status });
        const now = clock.now();
        const next: WebhookDeliveryRecord = { ...delivery, status: 'pending', attempts: 0, nextAt: now, leaseUntil: null, updatedAt: now };
        await stores.deliveries.update(next);
        return next;
      });
      dispatcher.nudge();
      return deliveryView(again);
    },
    async testDelivery(type, id) {
      const kind = type === 'webhooks' ? 'webhook' : type === 'notifications' ? 'notification' : null;
      if (!kind) throw new DomainError('TEST_DELIVERY_UNSUPPORTED', `A test delivery is sent by a webhook or a notification, not by ${type}.`, { errors: [{ path: 'type', code: 'unsupported', message: 'must be webhooks or notifications' }] });
      const queued = await db.write(async (stores) => {
        const entity = await stores.entities.find(id);
        if (!entity || entity.type !== type) throw new DomainError('ENTITY_NOT_FOUND', `There is no ${kind} with id ${id}.`, { type, id });
        if (!firesHere(entity, instance.name, kind)) {
          const why = entity.body.enabled === false ? 'it is disabled' : `it is not enabled for instance "${instance.name}" (enabledInstances)`;
          throw new DomainError('TEST_DELIVERY_NOT_HERE', `The ${kind} does not fire on this instance: ${why}. Nothing was sent.`, {
            errors: [{ path: entity.body.enabled === false ? 'enabled' : 'enabledInstances', code: 'not-here', message: `does not fire on ${instance.name}: ${why}` }],
          });
        }
        // A sample ticket, so a notification's template has something to fill; nothing of the desk is sent. A test is sent
        // once: its answer is what the person asked to see.
        const delivery = queuedDelivery({
          kind,
          entity,
          event: TEST_EVENT,
          subjectId: entity.id,
          instance,
          now: clock.now(),
          data: { test: true, ticket: { id: 'test', number: 0, summary: `Test delivery of ${entity.name}` } },
          maxAttempts: 1,
        });
        await stores.deliveries.insertMany([delivery]);
        return delivery;
      });
      dispatcher.nudge();
      return deliveryView(queued);
    },
    runOnce() {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        let made = 0;
        do {
          again = false;
          made += await round();
        } while (again);
        return made;
      })().finally(() => {
        running = undefined;
      });
      return running;
    },
    nudge() {
      schedule(0);
    },
    start() {
      started = true;
      schedule(0);
    },
    async stop() {
      started = false;
      stopping = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
      stopping = false;
    },
  };
  return dispatcher;
}
