import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../../../services.js';
import { haloAgentRoutes } from './agents.js';
import { haloAssetRoutes } from './assets.js';
import { haloCustomerRoutes } from './customers.js';
import { haloSetupRoutes } from './setup.js';
import { haloTicketRoutes } from './tickets.js';
import { haloTrackingRoutes } from './tracking.js';

/** `/api/*`: the Halo API dialect (docs/halo-api.md), a translation over the same services as /v1. */
export const haloRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    await app.register(haloTicketRoutes(services));
    await app.register(haloCustomerRoutes(services));
    await app.register(haloAssetRoutes(services));
    await app.register(haloAgentRoutes(services));
    await app.register(haloSetupRoutes(services));
    await app.register(haloTrackingRoutes(services));
  };
