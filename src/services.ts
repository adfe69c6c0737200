import { accessManagementGuard } from './access/access-management-guard.js';
import { roleWriteGuard } from './access/role-write-guard.js';
import { createAgentService, type AgentService } from './access/agent-service.js';
import { createApplicationService, type ApplicationService } from './access/application-service.js';
import { createAuditLog, type AuditLog } from './access/audit-log.js';
import { createAuthenticator, type Authenticator } from './access/authenticator.js';
import { createBootstrapper, type Bootstrapper } from './access/bootstrap.js';
import { createPurger, type Purger } from './access/purge.js';
import { createSessionService, defaultSessionPolicy, type SessionService } from './access/session-service.js';
import { createSsoService, type OidcClient, type SsoService } from './access/sso-service.js';
import { createOpenIdClient } from './http/oidc-client.js';
import { createTokenService, type TokenService } from './access/token-service.js';
import type { Catalog } from './catalog/catalog.js';
import type { Clock } from './shared/clock.js';
import { joinedTransactor, type InstanceIdentity, type Transactor } from './store/ports.js';
import { createChangeLog, type ChangeLog } from './tracking/change-log.js';
import { createChangeWriter } from './tracking/change-writer.js';
import { createConfigService, type ConfigService } from './tracking/config-service.js';
import { customerRecordGuard } from './tracking/customer-records.js';
import { createRollbackService, type RollbackService } from './tracking/rollback.js';
import type { SecretBox } from './tracking/secret-box.js';
import { historyKeysOf } from './tracking/history-keys.js';
import { createHttpPeerConnector } from './http/peer-client.js';
import type { PeerConnector } from './sync/peer-client.js';
import { createSyncReceiver, type SyncReceiver } from './sync/sync-receiver.js';
import type { DeskDataReset } from './sync/restore.js';
import { createSyncService, type SyncService } from './sync/sync-service.js';
import { createSettingsService, type SettingsService } from './tracking/settings-service.js';
import { createAssetService, type AssetService } from './desk/asset-service.js';
import { createMailboxWriteGuard, mailboxProcessing, type MailboxProcessing } from './desk/mailboxes.js';
import { createCustomerService, type CustomerService } from './desk/customer-service.js';
import { createTicketService, type TicketService } from './desk/ticket-service.js';
import { createTicketListService, type TicketListService } from './desk/ticket-lists.js';
import { createDeskChoices, type DeskChoiceService } from './desk/desk-choices.js';
import { createWebhookDispatcher, type DispatcherOptions, type WebhookDispatcher, type WebhookTransport } from './desk/webhooks.js';
import { createFetchWebhookTransport } from './http/webhook-transport.js';
import type { MailTransport } from './desk/notifications.js';
import { createSmtpTransport } from './mail/smtp-transport.js';
import { createImapReader } from './mail/imap-reader.js';
import type { MailReader } from './desk/inbound-mail.js';
import { createMailPoller, type MailPoller, type MailPollerOptions } from './desk/mail-poller.js';
import { createIdAliases, type IdAliases } from './halo/id-aliases.js';
import type { ServiceObserver } from './shared/service-observer.js';
import type { DeliveryStatus } from './store/ports.js';
import { createPromotionService, type PromotionService } from './promotion/promotion-service.js';
import { createPromotionScheduler, type PromotionScheduler } from './promotion/promotion-scheduler.js';

export interface ServiceConfig {
  instance: InstanceIdentity;
  version: string;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
  /** How this instance reaches its peers (HTTP unless a test says otherwise). */
  connector?: PeerConnector;
  deskDataResets?: DeskDataReset[];
  /** How webhooks are sent (HTTP unless a test says otherwise), and the dispatcher's timings. */
  webhookTransport?: WebhookTransport;
  webhookOptions?: DispatcherOptions;
  /** How notifications are mailed (SMTP unless a test says otherwise). */
  mailTransport?: MailTransport;
  /** The OpenID Connect client of single sign-on (openid-client over HTTP unless a test says otherwise). */
  oidcClient?: OidcClient;
  /** The base URL people and identity providers reach this instance at (`--public-url`); absolute URLs are made from it alone. */
  publicUrl?: URL;
  /** How mailboxes are read (IMAP unless a test says otherwise), and how often. */
  mailReader?: MailReader;
  mailOptions?: MailPollerOptions;
  /** Told of audited events and delivery attempts as they happen (the metrics of `/metrics`). */
  observer?: ServiceObserver;
  /** How often the scheduler looks for promotion requests due. */
  promotionOptions?: { intervalMs?: number };
}

/** What waits to be done, and how long the history is: the gauges an operator alerts on. */
export interface Backlog {
  /** Rows in the change log (the head's sequence number). */
  changeLogLength: number;
  /** Webhook deliveries, runbook runs and notifications not delivered, by status: pending and sending are the outbox's depth. */
  deliveries: Record<Exclude<DeliveryStatus, 'delivered'>, number>;
}

/** Everything the http and cli layers use, built from plain factories in one place. */
export interface Services {
  instance: InstanceIdentity & { version: string };
  /** The configured public base URL (ending with `/`), or null when none was given. */
  publicUrl: URL | null;
  catalog: Catalog;
  clock: Clock;
  config: ConfigService;
  changeLog: ChangeLog;
  rollback: RollbackService;
  settings: SettingsService;
  authenticator: Authenticator;
  bootstrapper: Bootstrapper;
  audit: AuditLog;
  agents: AgentService;
  sessions: SessionService;
  sso: SsoService;
  applications: ApplicationService;
  accessTokens: TokenService;
  syncReceiver: SyncReceiver;
  sync: SyncService;
  customers: CustomerService;
  tickets: TicketService;
  ticketLists: TicketListService;
  /** The names and choices desk screens show, as far as the caller may see. */
  deskChoices: DeskChoiceService;
  assets: AssetService;
  /** Sends queued webhook deliveries; `start` it where the instance serves. */
  webhooks: WebhookDispatcher;
  /** Which mailboxes this instance reads, with which of their credentials, and how their last check went. */
  mailboxes(): Promise<MailboxProcessing[]>;
  /** Reads this instance's mailboxes; `start` it where the instance serves. */
  mail: MailPoller;
  /** Removes expired sessions, tokens, throttle counts and sign-in attempts; `start` it where the instance serves. */
  purger: Purger;
  /** Integer aliases of global ids, for the Halo dialect. */
  aliases: IdAliases;
  /** The change log's length and the outbox's depth, read in one snapshot. */
  backlog(): Promise<Backlog>;
  /** Promotion policy and requests; `runDue` is the scheduler's round (see main's scheduler). */
  promotions: PromotionService;
  /** Applies scheduled promotion requests when due; `start` it where the instance serves. */
  promotionScheduler: PromotionScheduler;
  /** Runs `fn` with these services made over one write transaction: every use case it calls commits together, or none does. */
  batch<T>(fn: (services: Services) => Promise<T>): Promise<T>;
}

export function createServices(db: Transactor, config: ServiceConfig): Services {
  const { catalog, clock, box, instance } = config;
  // Access rules guard local writes and received changes alike: who may grant a role, who may change sign-in.
  const accessGuards = [roleWriteGuard, accessManagementGuard];
  const keys = historyKeysOf(box);
  const writer = createChangeWriter({ catalog, clock, instance, keys, guards: [...accessGuards, createMailboxWriteGuard(instance.name), customerRecordGuard] });
  const audit = createAuditLog({ db, clock, ...(config.observer ? { observer: config.observer } : {}) });
  // Notifications of requests are queued in the outbox; the dispatcher, made below, is nudged once it exists.
  let nudge = (): void => undefined;
  const promotions = createPromotionService({ db, catalog, box, clock, instance, audit, guards: accessGuards, onQueued: () => nudge() });
  const syncReceiver = createSyncReceiver({ db, catalog, box, clock, instance, version: config.version, audit, guards: accessGuards, promotions });
  const sync = createSyncService({
    db,
    catalog,
    box,
    clock,
    instance,
    version: config.version,
    audit,
    receiver: syncReceiver,
    connector: config.connector ?? createHttpPeerConnector({ check: (change) => syncReceiver.precheck(change) }),
    // A restore clears the desk's records (tickets, customers, users), as the guide warns, and whatever else asks to be.
    deskDataResets: [(stores) => stores.desk.clear(), (stores) => stores.deliveries.clear(), ...(config.deskDataResets ?? [])],
  });
  const configService = createConfigService({ db, catalog, box, writer, audit });
  const webhooks = createWebhookDispatcher({
    db,
    catalog,
    box,
    clock,
    instance,
    transport: config.webhookTransport ?? createFetchWebhookTransport(),
    mail: config.mailTransport ?? createSmtpTransport(),
    ...(config.webhookOptions ? { options: config.webhookOptions } : {}),
    ...(config.observer ? { observer: config.observer } : {}),
  });
  nudge = () => webhooks.nudge();
  const tickets = createTicketService({ db, clock, instance, onQueued: () => webhooks.nudge() });
  const mail = createMailPoller({
    db,
    catalog,
    box,
    clock,
    instance,
    reader: config.mailReader ?? createImapReader(),
    tickets,
    ...(config.mailOptions ? { options: config.mailOptions } : {}),
  });
  return {
    instance: { ...instance, version: config.version },
    publicUrl: config.publicUrl ?? null,
    catalog,
    clock,
    config: configService,
    changeLog: createChangeLog({ db, catalog, keys }),
    rollback: createRollbackService({ db, catalog, writer, instanceId: instance.id, audit }),
    settings: createSettingsService({ db, clock, audit }),
    authenticator: createAuthenticator({ db, clock }),
    bootstrapper: createBootstrapper({ db, clock, catalog, writer }),
    audit,
    agents: createAgentService({ db, clock, catalog, writer, audit }),
    sessions: createSessionService({ db, clock, audit, policy: defaultSessionPolicy }),
    sso: createSsoService({ db, clock, audit, box, catalog, instance, policy: defaultSessionPolicy, client: config.oidcClient ?? createOpenIdClient(), publicUrl: config.publicUrl ?? null }),
    applications: createApplicationService({ db, clock, audit }),
    accessTokens: createTokenService({ db, clock, audit }),
    syncReceiver,
    sync,
    customers: createCustomerService({ db, clock, catalog }),
    tickets,
    ticketLists: createTicketListService({ db, clock, tickets }),
    deskChoices: createDeskChoices({ db }),
    assets: createAssetService({ db, catalog, config: configService }),
    webhooks,
    mailboxes: () => db.read((stores) => mailboxProcessing(stores, instance.name, mail.lastChecks())),
    mail,
    purger: createPurger({ db, clock }),
    aliases: createIdAliases({ db, clock }),
    backlog: () => db.read(async (stores) => ({ changeLogLength: (await stores.changes.head()).seq, deliveries: await stores.deliveries.countUndelivered() })),
    promotions,
    promotionScheduler: createPromotionScheduler(promotions, config.promotionOptions ?? {}),
    batch: (fn) => db.write((stores) => fn(createServices(joinedTransactor(stores), config))),
  };
}
