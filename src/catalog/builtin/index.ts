import type { Catalog } from '../catalog.js';
import { createCatalog } from '../catalog.js';
import type { EntityTypeDefinition } from '../entity-type.js';
import { assetsTypes } from './assets.js';
import { billingTypes } from './billing.js';
import { customersTypes } from './customers.js';
import { customisationTypes } from './customisation.js';
import { emailTypes } from './email.js';
import { generalTypes } from './general.js';
import { integrationsTypes } from './integrations.js';
import { localTypes } from './local.js';
import { notificationsTypes } from './notifications.js';
import { portalTypes } from './portal.js';
import { reportingTypes } from './reporting.js';
import { salesTypes } from './sales.js';
import { schedulingTypes } from './scheduling.js';
import { slaTypes } from './sla.js';
import { teamsAndAgentsTypes } from './teams-and-agents.js';
import { ticketsTypes } from './tickets.js';
import { workflowsTypes } from './workflows.js';

/** Every shipped entity type: the guide's supported entities tracked, its unsupported ones local. */
export const builtinTypes: EntityTypeDefinition[] = [
  ...teamsAndAgentsTypes,
  ...ticketsTypes,
  ...workflowsTypes,
  ...slaTypes,
  ...customisationTypes,
  ...integrationsTypes,
  ...notificationsTypes,
  ...emailTypes,
  ...assetsTypes,
  ...customersTypes,
  ...billingTypes,
  ...salesTypes,
  ...schedulingTypes,
  ...portalTypes,
  ...reportingTypes,
  ...generalTypes,
  ...localTypes,
];

export function createBuiltinCatalog(): Catalog {
  return createCatalog(builtinTypes);
}
