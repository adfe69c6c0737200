import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import { createBuiltinCatalog } from './catalog/builtin/index.js';
import { buildApp } from './http/build-app.js';
import { DEFAULT_RATE_LIMIT } from './http/rate-limit.js';
import { createServices, type Services } from './services.js';
import { systemClock } from './shared/clock.js';
import { parsePublicUrl } from './shared/public-url.js';
import { openDialect, migrateToLatest, pendingMigrations } from './store/open-database.js';
import { createMetrics } from './http/metrics.js';
import { startMetricsServer, type MetricsServerOptions } from './http/metrics-server.js';
import { createTransactor } from './store/sql/create-stores.js';
import { ensureInstanceIdentity, type InstanceKind } from './tracking/instance-identity.js';
import { createSecretBox, parseSecretKeys } from './tracking/secret-box.js';
import { historyKeysOf } from './tracking/history-keys.js';
import { upgradeHistory } from './tracking/history-upgrade.js';
import { systemActor } from './shared/actor.js';
import { shiplogVersion } from './version.js';
import { holdServingLock } from './ops/serving-lock.js';
import type { BootstrapResult } from './access/bootstrap.js';

export interface InstanceOptions {
  name: string;
  kind: InstanceKind;
  database: string;
  port: number;
  host: string;
  /** Where the secret key lives when SHIPLOG_SECRET_KEY is not set. */
  keyFile?: string;
  secretKey?: string;
  adminToken?: string;
  adminPassword?: string;
  /** The base URL the instance is reached at (`--public-url`, `SHIPLOG_PUBLIC_URL`); absolute URLs are made from it alone. */
  publicUrl?: string;
  logger?: FastifyServerOptions['logger'];
  version?: string;
  /** Requests a minute per principal, in this process; 0 turns the limit off. Default DEFAULT_RATE_LIMIT. */
  rateLimit?: number;
  /** Where `/metrics` is served (a listener of its own); absent: no metrics are kept. */
  metrics?: MetricsServerOptions;
  /** How long a stop waits for requests in flight and deliveries under way before it cuts them off. Default 30 s. */
  stopTimeoutMs?: number;
}

export interface RunningInstance {
  url: string;
  /** Where `/metrics` is scraped, when metrics were asked for. */
  metricsUrl: string | null;
  services: Services;
  bootstrap: BootstrapResult | null;
  /** The server's logger (silent when the instance logs nothing). */
  log: FastifyBaseLogger;
  /**
   * Stops taking connections, lets the requests in flight and the deliveries under way finish (within the stop
   * timeout), then closes the database. Resolves false when the timeout cut something off.
   */
  close(): Promise<boolean>;
}

/** The default bound on a stop (`--stop-timeout`). */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

function defaultKeyFile(options: InstanceOptions): string {
  if (/^postgres(ql)?:\/\//.test(options.database)) return resolve('data', `${options.name}.key`);
  return `${resolve(options.database.replace(/^sqlite:/, ''))}.key`;
}

/** The secret key: from the environment, or a key file made (mode 0600) on first start. */
export function loadSecretKeys(options: InstanceOptions): Buffer[] {
  if (options.secretKey) return parseSecretKeys(options.secretKey);
  const file = options.keyFile ?? defaultKeyFile(options);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return parseSecretKeys(readFileSync(file, 'utf8'));
}

/** config → database → composition root → listen. */
export async function startInstance(options: InstanceOptions): Promise<RunningInstance> {
  const publicUrl = options.publicUrl === undefined ? undefined : parsePublicUrl(options.publicUrl);
  const dialect = openDialect(options.database);
  try {
    await migrateToLatest(dialect);
    const db = createTransactor(dialect);
    const identity = await ensureInstanceIdentity(db, systemClock, { name: options.name, kind: options.kind });
    const box = createSecretBox(loadSecretKeys(options));
    const metrics = options.metrics ? createMetrics({ process: true }) : undefined;
    const services = createServices(db, {
      instance: identity,
      version: options.version ?? shiplogVersion,
      catalog: createBuiltinCatalog(),
      box,
      clock: systemClock,
      ...(publicUrl ? { publicUrl } : {}),
      ...(metrics ? { observer: metrics.observer } : {}),
    });
    // A log written by a version before keyed digests is carried forward once, under this instance's key (ADR 12).
    const upgrade = await upgradeHistory(db, historyKeysOf(box));
    if (upgrade.outcome !== 'none') {
      await services.audit.record({ kind: 'history.keyed', outcome: upgrade.outcome === 'rekeyed' ? 'success' : 'failure', actor: systemActor, request: null, details: { ...upgrade } });
    }
    const bootstrap = await services.bootstrapper.bootstrap({
      ...(options.adminToken ? { adminToken: options.adminToken } : {}),
      ...(options.adminPassword ? { adminPassword: options.adminPassword } : {}),
    });
    let stopping = false;
    const { app } = await buildApp(services, {
      logger: options.logger ?? false,
      rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
      ...(metrics ? { metrics } : {}),
      pendingMigrations: () => pendingMigrations(dialect),
      stopping: () => stopping,
    });
    // Held while serving, so that a restore can tell the database is in use (restore-backup, ADR 27).
    const servingLock = await holdServingLock(options.database);
    const url = await app.listen({ port: options.port, host: options.host });
    const metricsServer = metrics && options.metrics ? await startMetricsServer(metrics, options.metrics).catch(async (error: unknown) => {
      await app.close();
      throw error;
    }) : undefined;
    // Webhook deliveries queued by ticket events (here or by an earlier process) are sent from now on.
    services.webhooks.start();
    // Mailboxes whose credentials name this instance are read from now on.
    services.mail.start();
    // Expired sessions, tokens, throttle counts and sign-in attempts are removed from now on.
    services.purger.start();
    // Approved promotion requests scheduled for a time are applied by this instance from now on.
    services.promotionScheduler.start();
    let closing: Promise<boolean> | undefined;
    return {
      url,
      metricsUrl: metricsServer ? `${metricsServer.url}/metrics` : null,
      services,
      bootstrap,
      log: app.log,
      close() {
        closing ??= (async () => {
          stopping = true;
          // No new connections from here; answers to requests in flight close their connections; the dispatcher sends
          // the batch it holds and claims no more (what stays pending is sent by the next process).
          const drained = Promise.all([app.close(), services.webhooks.stop(), services.mail.stop(), services.purger.stop(), services.promotionScheduler.stop()]).then(() => true);
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, false)));
          const clean = await Promise.race([drained, timeout]);
          clearTimeout(timer);
          if (!clean) {
            app.log.warn({ stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS }, 'stop timeout reached: cutting off the requests and deliveries still under way');
            app.server.closeAllConnections();
          }
          await metricsServer?.close();
          await servingLock.release();
          await dialect.close();
          return clean;
        })();
        return closing;
      },
    };
  } catch (error) {
    await dialect.close();
    throw error;
  }
}
