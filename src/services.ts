import { createActorService, type ActorService } from './access/actor-service.js';
import type { Catalog } from './catalog/catalog.js';
import type { Clock } from './shared/clock.js';
import type { InstanceIdentity, Transactor } from './store/ports.js';
import { createChangeLog, type ChangeLog } from './tracking/change-log.js';
import { createChangeWriter } from './tracking/change-writer.js';
import { createConfigService, type ConfigService } from './tracking/config-service.js';
import { createRollbackService, type RollbackService } from './tracking/rollback.js';
import type { SecretBox } from './tracking/secret-box.js';
import { createSettingsService, type SettingsService } from './tracking/settings-service.js';

export interface ServiceConfig {
  instance: InstanceIdentity;
  version: string;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
}

/** Everything the http and cli layers use, built from plain factories in one place. */
export interface Services {
  instance: InstanceIdentity & { version: string };
  catalog: Catalog;
  config: ConfigService;
  changeLog: ChangeLog;
  rollback: RollbackService;
  settings: SettingsService;
  actors: ActorService;
}

export function createServices(db: Transactor, config: ServiceConfig): Services {
  const { catalog, clock, box, instance } = config;
  const writer = createChangeWriter({ catalog, clock, instance });
  return {
    instance: { ...instance, version: config.version },
    catalog,
    config: createConfigService({ db, catalog, box, writer }),
    changeLog: createChangeLog({ db, catalog }),
    rollback: createRollbackService({ db, catalog, writer }),
    settings: createSettingsService({ db, clock }),
    actors: createActorService({ db, clock }),
  };
}
