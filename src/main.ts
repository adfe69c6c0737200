import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { createBuiltinCatalog } from './catalog/builtin/index.js';
import { buildApp } from './http/build-app.js';
import { DEFAULT_RATE_LIMIT } from './http/rate-limit.js';
import { createServices, type Services } from './services.js';
import { systemClock } from './shared/clock.js';
import { parsePublicUrl } from './shared/public-url.js';
import { openDialect, migrateToLatest } from './store/open-database.js';
import { createTransactor } from './store/sql/create-stores.js';
import { ensureInstanceIdentity, type InstanceKind } from './tracking/instance-identity.js';
import { createSecretBox, parseSecretKeys } from './tracking/secret-box.js';
import { historyKeysOf } from './tracking/history-keys.js';
import { upgradeHistory } from './tracking/history-upgrade.js';
import { systemActor } from './shared/actor.js';
import { shiplogVersion } from './version.js';
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
}

export interface RunningInstance {
  url: string;
  services: Services;
  bootstrap: BootstrapResult | null;
  close(): Promise<void>;
}

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
    const services = createServices(db, {
      instance: identity,
      version: options.version ?? shiplogVersion,
      catalog: createBuiltinCatalog(),
      box,
      clock: systemClock,
      ...(publicUrl ? { publicUrl } : {}),
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
    const { app } = await buildApp(services, { logger: options.logger ?? false, rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT });
    const url = await app.listen({ port: options.port, host: options.host });
    // Webhook deliveries queued by ticket events (here or by an earlier process) are sent from now on.
    services.webhooks.start();
    // Mailboxes whose credentials name this instance are read from now on.
    services.mail.start();
    // Expired sessions, tokens, throttle counts and sign-in attempts are removed from now on.
    services.purger.start();
    // Approved promotion requests scheduled for a time are applied by this instance from now on.
    services.promotionScheduler.start();
    return {
      url,
      services,
      bootstrap,
      async close() {
        await services.webhooks.stop();
        await services.mail.stop();
        await services.purger.stop();
        await services.promotionScheduler.stop();
        await app.close();
        await dialect.close();
      },
    };
  } catch (error) {
    await dialect.close();
    throw error;
  }
}
