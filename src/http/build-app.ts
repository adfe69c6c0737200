import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newId } from '../shared/ids.js';
import type { Services } from '../services.js';
import { registerAuth, type RouteEntry } from './plugins/auth.js';
import { frameworkErrors, registerErrorHandling } from './plugins/errors.js';
import { registerJsonBody } from './plugins/json-body.js';
import { registerRequestTextChecks } from './plugins/request-text.js';
import { openApiOptions } from './openapi.js';
import { rateLimit } from './rate-limit.js';
import { agentRoutes } from './routes/agents.js';
import { applicationRoutes } from './routes/applications.js';
import { catalogRoutes } from './routes/catalog.js';
import { changeRoutes } from './routes/changes.js';
import { configRoutes } from './routes/config.js';
import { instanceRoutes } from './routes/instance.js';
import { oauthRoutes } from './routes/oauth.js';
import { sessionRoutes } from './routes/session.js';
import { auditRoutes } from './routes/audit.js';
import { instanceSyncRoutes } from './routes/instances-sync.js';
import { webConsole } from './web-console.js';
import { syncRoutes } from './routes/sync.js';
import { deskRoutes } from './routes/desk.js';
import { ssoRoutes } from './routes/sso.js';
import { haloRoutes } from './routes/halo/index.js';
import { promotionRoutes } from './routes/promotion-requests.js';

/** Largest request body accepted (documented in docs/api.md). */
export const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  bodyLimit?: number;
  /** Requests a minute per principal (rate-limit.ts); absent or 0: no limit. */
  rateLimit?: number;
  /** Where the built console lives (default dist/web); false serves none. */
  consoleDir?: string | false;
}

export interface ShiplogApp {
  app: FastifyInstance;
  /** Every route with the permission it declares; the access tests are generated from it. */
  routeTable: RouteEntry[];
}

/** Builds the HTTP application. It never listens: main.ts does, tests use inject(). */
export async function buildApp(services: Services, options: AppOptions = {}): Promise<ShiplogApp> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? BODY_LIMIT,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : newId();
    },
    requestIdHeader: false,
    return503OnClosing: true,
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerJsonBody(app);
  registerRequestTextChecks(app);
  registerErrorHandling(app, options.consoleDir === false ? null : webConsole(options.consoleDir));

  const routeTable: RouteEntry[] = [];
  registerAuth(app, services, routeTable, options.rateLimit ? rateLimit(options.rateLimit, services.clock) : undefined);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  await app.register(swagger, openApiOptions({ version: services.instance.version, publicUrl: services.publicUrl, instanceId: services.instance.id }));

  app.get(
    '/openapi.json',
    {
      config: { permission: 'public' },
      schema: {
        operationId: 'getOpenApiDocument',
        tags: ['meta'],
        summary: 'This API document',
        description: 'The OpenAPI 3.0 document of this instance’s API, generated from the schemas the server validates with; typed clients are generated from it (docs/api.md).',
        response: { 200: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.0 document.') },
      },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
  app.get(
    '/healthz',
    {
      config: { permission: 'public' },
      schema: {
        operationId: 'getHealth',
        tags: ['meta'],
        summary: 'Health check',
        description: 'Answers 200 while the process serves requests; it does not touch the database.',
        response: { 200: z.object({ ok: z.literal(true) }) },
      },
    },
    async () => ({ ok: true as const }),
  );

  await app.register(instanceRoutes(services));
  await app.register(catalogRoutes(services));
  await app.register(configRoutes(services));
  await app.register(changeRoutes(services));
  await app.register(agentRoutes(services));
  await app.register(applicationRoutes(services));
  await app.register(oauthRoutes(services));
  await app.register(sessionRoutes(services));
  await app.register(auditRoutes(services));
  await app.register(instanceSyncRoutes(services));
  await app.register(syncRoutes(services));
  await app.register(deskRoutes(services));
  await app.register(ssoRoutes(services));
  await app.register(haloRoutes(services));
  await app.register(promotionRoutes(services));
  await app.ready();
  return { app, routeTable };
}
