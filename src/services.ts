import { keepAdministratorsOnRestore, roleWriteGuard } from './access/administrator-role.js';
import { createAgentService, type AgentService } from './access/agent-service.js';
import { createApplicationService, type ApplicationService } from './access/application-service.js';
import { createAuditLog, type AuditLog } from './access/audit-log.js';
import { createAuthenticator, type Authenticator } from './access/authenticator.js';
import { createBootstrapper, type Bootstrapper } from './access/bootstrap.js';
import { createSessionService, type SessionService } from './access/session-service.js';
import { createTokenService, type TokenService } from './access/token-service.js';
import type { Catalog } from './catalog/catalog.js';
import type { Clock } from './shared/clock.js';
import type { InstanceIdentity, Transactor } from './store/ports.js';
import { createChangeLog, type ChangeLog } from './tracking/change-log.js';
import { createChangeWriter } from './tracking/change-writer.js';
import { createConfigService, type ConfigService } from './tracking/config-service.js';
import { createRollbackService, type RollbackService } from './tracking/rollback.js';
import type { SecretBox } from './tracking/secret-box.js';
import { createHttpPeerConnector } from './http/peer-client.js';
import type { PeerConnector } from './sync/peer-client.js';
import { createSyncReceiver, type SyncReceiver } from './sync/sync-receiver.js';
import { createSyncService, type DeskDataReset, type SyncService } from './sync/sync-service.js';
import { createSettingsService, type SettingsService } from './tracking/settings-service.js';

export interface ServiceConfig {
  instance: InstanceIdentity;
  version: string;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
  /** How this instance reaches its peers (HTTP unless a test says otherwise). */
  connector?: PeerConnector;
  deskDataResets?: DeskDataReset[];
}

/** Everything the http and cli layers use, built from plain factories in one place. */
export interface Services {
  instance: InstanceIdentity & { version: string };
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
  applications: ApplicationService;
  accessTokens: TokenService;
  syncReceiver: SyncReceiver;
  sync: SyncService;
}

export function createServices(db: Transactor, config: ServiceConfig): Services {
  const { catalog, clock, box, instance } = config;
  const writer = createChangeWriter({ catalog, clock, instance, guards: [roleWriteGuard] });
  const audit = createAuditLog({ db, clock });
  const syncReceiver = createSyncReceiver({ db, catalog, box, clock, instance, version: config.version, audit });
  const sync = createSyncService({
    db,
    catalog,
    box,
    clock,
    instance,
    version: config.version,
    audit,
    receiver: syncReceiver,
    connector: config.connector ?? createHttpPeerConnector(),
    ...(config.deskDataResets ? { deskDataResets: config.deskDataResets } : {}),
    restoreKeepers: [keepAdministratorsOnRestore],
  });
  return {
    instance: { ...instance, version: config.version },
    catalog,
    clock,
    config: createConfigService({ db, catalog, box, writer }),
    changeLog: createChangeLog({ db, catalog }),
    rollback: createRollbackService({ db, catalog, writer }),
    settings: createSettingsService({ db, clock, audit }),
    authenticator: createAuthenticator({ db, clock }),
    bootstrapper: createBootstrapper({ db, clock, catalog, writer }),
    audit,
    agents: createAgentService({ db, clock, catalog, writer, audit }),
    sessions: createSessionService({ db, clock, audit }),
    applications: createApplicationService({ db, clock, audit }),
    accessTokens: createTokenService({ db, clock, audit }),
    syncReceiver,
    sync,
  };
}
