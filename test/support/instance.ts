import { randomBytes } from 'node:crypto';
import type { DispatcherOptions } from '../../src/desk/webhooks.js';
import type { MailPollerOptions } from '../../src/desk/mail-poller.js';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createBuiltinCatalog } from '../../src/catalog/builtin/index.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { buildApp } from '../../src/http/build-app.js';
import type { RouteEntry } from '../../src/http/plugins/auth.js';
import { createServices, type Services } from '../../src/services.js';
import { administratorAuthority, type WriteContext } from '../../src/shared/actor.js';
import { systemClock, type Clock } from '../../src/shared/clock.js';
import { parsePublicUrl } from '../../src/shared/public-url.js';
import type { EngineName } from '../../src/store/dialects/dialect.js';
import type { Transactor } from '../../src/store/ports.js';
import { createTransactor } from '../../src/store/sql/create-stores.js';
import { ensureInstanceIdentity, type InstanceKind } from '../../src/tracking/instance-identity.js';
import { createSecretBox, type SecretBox } from '../../src/tracking/secret-box.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import type { Metrics } from '../../src/http/metrics.js';
import type { ServiceObserver } from '../../src/shared/service-observer.js';
import { pendingMigrations } from '../../src/store/open-database.js';

export interface TestInstance {
  database: TestDatabase;
  db: Transactor;
  services: Services;
  box: SecretBox;
  /** The bootstrap administrator's API token. */
  token: string;
  /** The bootstrap administrator's write context. */
  ctx: WriteContext;
  close(): Promise<void>;
}

export interface TestInstanceOptions {
  name?: string;
  kind?: InstanceKind;
  clock?: Clock;
  catalog?: Catalog;
  secretKey?: Buffer;
  /** The software version the instance reports (peers sync only on the same version). */
  version?: string;
  /** Wraps the transactor, e.g. to inject failures. */
  wrap?: (db: Transactor) => Transactor;
  /** Webhook dispatcher timings (tests retry in milliseconds, not seconds). */
  webhookOptions?: DispatcherOptions;
  /** How often and how much the mail poller reads. */
  mailOptions?: MailPollerOptions;
  /** The public base URL the instance is reached at (single sign-on's redirect URI). */
  publicUrl?: string;
  /** Told what the services do, as the metrics are in main.ts. */
  observer?: ServiceObserver;
}

/** The secret key test instances share unless a test gives one: they sync as instances of one pipeline do (ADR 8, 12). */
const TEST_PIPELINE_KEY = randomBytes(32);

/** A migrated database with the composition root built on it, as main.ts does, without listening. */
export async function createTestInstance(engine: EngineName, options: TestInstanceOptions = {}): Promise<TestInstance> {
  const database = await createTestDatabase(engine);
  const raw = createTransactor(database.dialect);
  const db = options.wrap ? options.wrap(raw) : raw;
  const clock = options.clock ?? systemClock;
  const identity = await ensureInstanceIdentity(raw, clock, { name: options.name ?? 'dev', kind: options.kind ?? 'development' });
  const box = createSecretBox([options.secretKey ?? TEST_PIPELINE_KEY]);
  const services = createServices(db, {
    instance: identity,
    version: options.version ?? '0.0.0-test',
    catalog: options.catalog ?? createBuiltinCatalog(),
    box,
    clock,
    ...(options.webhookOptions ? { webhookOptions: options.webhookOptions } : {}),
    ...(options.mailOptions ? { mailOptions: options.mailOptions } : {}),
    ...(options.publicUrl ? { publicUrl: parsePublicUrl(options.publicUrl) } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
  });
  const token = `shp_test_${randomBytes(24).toString('base64url')}`;
  const boot = await services.bootstrapper.bootstrap({ adminToken: token, adminPassword: 'correct horse battery staple' });
  const agent = boot!.agent;
  return {
    database,
    db,
    services,
    box,
    token,
    ctx: { actor: { kind: 'agent', id: agent.id, name: agent.name }, request: null, changeSet: null, authority: administratorAuthority },
    close: () => database.drop(),
  };
}

export interface TestApp extends TestInstance {
  app: FastifyInstance;
  routeTable: RouteEntry[];
  /** Headers that authenticate as the bootstrap administrator. */
  auth: Record<string, string>;
}

/** A test instance with its HTTP app (inject only) and the administrator's token. */
export async function createTestApp(engine: EngineName, options: TestInstanceOptions & { logger?: FastifyServerOptions['logger']; metrics?: Metrics } = {}): Promise<TestApp> {
  const instance = await createTestInstance(engine, options);
  const { app, routeTable } = await buildApp(instance.services, {
    logger: options.logger ?? false,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    pendingMigrations: () => pendingMigrations(instance.database.dialect),
  });
  return {
    ...instance,
    app,
    routeTable,
    auth: { authorization: `Bearer ${instance.token}` },
    async close() {
      await app.close();
      await instance.close();
    },
  };
}
