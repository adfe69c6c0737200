import type { FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Services } from '../services.js';
import type { ServiceObserver } from '../shared/service-observer.js';

/** The audit kinds that are operations on the change log, by the name their metrics carry. */
const OPERATIONS: Record<string, string> = {
  'sync.push': 'push',
  'sync.pull': 'pull',
  'sync.import': 'import',
  'sync.restore': 'restore',
  'sync.push-received': 'push-received',
  'sync.pull-received': 'pull-received',
  'sync.import-received': 'import-received',
  'changes.rollback': 'rollback',
};

/** The audit kinds that are refusals of a credential, by the name their metric carries. */
const REFUSALS: Record<string, string> = { 'session.sign-in': 'sign-in', 'token.refused': 'token-request' };

/** A label value from the audit details: a short code as the services write them, anything else `other` (bounded series). */
const labelOf = (value: unknown): string => (typeof value === 'string' && /^[a-z][a-z0-9-]{0,40}$/.test(value) ? value : 'other');

/** How many changes an operation moved, from its audit details. */
function sizeOf(details: Record<string, unknown> | undefined): number | null {
  const size = details?.applied ?? details?.changes;
  return typeof size === 'number' && Number.isFinite(size) ? size : null;
}

export interface Metrics {
  readonly registry: Registry;
  /** Given to createServices: counts operations, refusals and delivery attempts as the services record them. */
  readonly observer: ServiceObserver;
  /** Counts the app's requests by route pattern and status, and reads the gauges from `services` at each scrape. */
  attach(app: FastifyInstance, services: Services): void;
  /** The Prometheus text of a scrape, with the gauges read now. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

/**
 * The process's memory, CPU and event-loop delay, each read without I/O when scraped. prom-client's default metrics
 * read /proc and wait a turn of the event loop, which took most of a scrape's time under load.
 */
function registerProcessMetrics(registry: Registry): void {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  // The monitor's timer must not keep a stopping process alive.
  (delay as unknown as { unref?: () => void }).unref?.();
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({ name: 'shiplog_process_start_time_seconds', help: 'When this process started, in seconds since the epoch.', registers: [registry], collect() { this.set(startSeconds); } });
  new Gauge({ name: 'shiplog_process_resident_memory_bytes', help: 'Resident memory of this process.', registers: [registry], collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'shiplog_nodejs_heap_used_bytes', help: 'V8 heap in use.', registers: [registry], collect() { this.set(process.memoryUsage().heapUsed); } });
  new Gauge({
    name: 'shiplog_process_cpu_seconds_total',
    help: 'CPU time (user and system) this process has used.',
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.set((user + system) / 1e6);
    },
  });
  new Gauge({
    name: 'shiplog_nodejs_eventloop_delay_p99_seconds',
    help: 'The 99th percentile of the event loop’s delay since the last scrape: how long work waited for the loop.',
    registers: [registry],
    collect() {
      this.set(Number.isNaN(delay.percentile(99)) ? 0 : delay.percentile(99) / 1e9);
      delay.reset();
    },
  });
}

/** Shiplog's metrics in a registry of their own (several instances may share a process); `process` adds the process's. */
export function createMetrics(options: { process?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.process) registerProcessMetrics(registry);
  const requests = new Counter({ name: 'shiplog_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'shiplog_http_request_duration_seconds',
    help: 'Time from a request received to its answer sent, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const operations = new Counter({
    name: 'shiplog_operations_total',
    help: 'Pushes, pulls, imports, restores and rollbacks run here, and pushes, pulls and imports received, by outcome.',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  });
  const operationSize = new Histogram({
    name: 'shiplog_operation_changes',
    help: 'Changes applied (or reverted) by an operation that succeeded.',
    labelNames: ['operation'],
    buckets: [0, 1, 10, 100, 1000, 10_000, 100_000],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'shiplog_auth_refusals_total',
    help: 'Refused sign-ins, token requests and bearer tokens, by kind and reason.',
    labelNames: ['kind', 'reason'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'shiplog_outbox_attempts_total',
    help: 'Webhook, runbook and notification delivery attempts by this process, by kind and outcome (retrying: failed, will be tried again).',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  const changeLog = new Gauge({ name: 'shiplog_change_log_length', help: 'Changes in the change log (the head’s sequence number).', registers: [registry] });
  const outbox = new Gauge({ name: 'shiplog_outbox_deliveries', help: 'Deliveries not delivered, by status: pending and sending are the outbox depth; failed gave up.', labelNames: ['status'], registers: [registry] });
  const database = new Gauge({ name: 'shiplog_database_up', help: '1 when the last scrape read the database, 0 when it could not.', registers: [registry] });
  const mailLag = new Gauge({ name: 'shiplog_mail_read_lag_seconds', help: 'Seconds since each mailbox this process reads was last read without an error.', labelNames: ['mailbox'], registers: [registry] });
  const scrapeTime = new Gauge({ name: 'shiplog_metrics_scrape_duration_seconds', help: 'How long the previous scrape took to read the gauges and write its text, inside this process.', registers: [registry] });
  const info = new Gauge({ name: 'shiplog_info', help: 'The instance this process serves (always 1).', labelNames: ['instance', 'kind', 'version'], registers: [registry] });

  let services: Services | undefined;

  const observer: ServiceObserver = {
    audited(entry) {
      const operation = OPERATIONS[entry.kind];
      if (operation) {
        operations.inc({ operation, outcome: labelOf(entry.outcome) });
        const size = entry.outcome === 'success' ? sizeOf(entry.details) : null;
        if (size !== null) operationSize.observe({ operation }, size);
        return;
      }
      const refusal = REFUSALS[entry.kind];
      if (refusal && entry.outcome !== 'success') refusals.inc({ kind: refusal, reason: labelOf(entry.details?.reason) });
    },
    deliveryAttempted(attempt) {
      attempts.inc({ kind: labelOf(attempt.kind), outcome: attempt.outcome });
    },
  };

  return {
    registry,
    observer,
    contentType: registry.contentType,
    attach(app, attached) {
      services = attached;
      info.set({ instance: attached.instance.name, kind: attached.instance.kind, version: attached.instance.version }, 1);
      app.addHook('onResponse', async (request, reply) => {
        // The route pattern, never the URL: ids and queries would make a series per request.
        const labels = { method: request.method, route: request.routeOptions.url ?? '(unmatched)', status: String(reply.statusCode) };
        requests.inc(labels);
        latency.observe(labels, reply.elapsedTime / 1000);
        if (reply.statusCode === 401 && request.headers.authorization) refusals.inc({ kind: 'bearer-token', reason: 'not-valid' });
      });
    },
    async scrape() {
      const started = performance.now();
      if (services) {
        try {
          const backlog = await services.backlog();
          changeLog.set(backlog.changeLogLength);
          for (const [status, n] of Object.entries(backlog.deliveries)) outbox.set({ status }, n);
          database.set(1);
        } catch {
          database.set(0);
        }
        mailLag.reset();
        const now = services.clock.now();
        for (const [mailbox, at] of services.mail.lastReads()) mailLag.set({ mailbox }, Math.max(0, (now - at) / 1000));
      }
      const text = await registry.metrics();
      scrapeTime.set((performance.now() - started) / 1000);
      return text;
    },
  };
}
