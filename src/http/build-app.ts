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
import type { Metrics } from './metrics.js';
import { DomainError } from '../shared/errors.js';
import { problems } from './schemas.js';
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
  /** Counts requests by route and status, scraped elsewhere (metrics-server.ts). */
  metrics?: Metrics;
  /** The migrations this build has that the database lacks (`/readyz`); without it, none are looked for. */
  pendingMigrations?: () => Promise<string[]>;
  /** True once the process has begun to stop: `/readyz` then says so, for load balancers to send nothing more. */
  stopping?: () => boolean;
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
    // A request on a kept-alive connection while the process stops is still answered (with Connection: close), never 503.
    return503OnClosing: false,
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerJsonBody(app);
  registerRequestTextChecks(app);
  registerErrorHandling(app, options.consoleDir === false ? null : webConsole(options.consoleDir));

  const routeTable: RouteEntry[] = [];
  options.metrics?.attach(app, services);
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
  app.get(
    '/readyz',
    {
      config: { permission: 'public' },
      schema: {
        operationId: 'getReadiness',
        tags: ['meta'],
        summary: 'Readiness check',
        description:
          'Answers 200 when this process can serve: the database answers and every migration of this version is applied. Otherwise 503 NOT_READY, saying which (`database`, `pendingMigrations`), or that the process is stopping (`stopping`). Load balancers send requests only to a ready process.',
        response: {
          200: z.object({ ready: z.literal(true), database: z.literal('reachable'), pendingMigrations: z.array(z.string()).max(0) }),
          ...problems(503),
        },
      },
    },
    async () => {
      const stopping = options.stopping?.() ?? false;
      const database = await services.backlog().then(
        () => 'reachable' as const,
        () => 'unreachable' as const,
      );
      const pendingMigrations = database === 'reachable' && options.pendingMigrations ? await options.pendingMigrations().catch(() => null) : [];
      if (stopping || database !== 'reachable' || pendingMigrations === null || pendingMigrations.length > 0) {
        const why = stopping ? 'This process is stopping.' : database !== 'reachable' ? 'The database does not answer.' : 'The database is not migrated to this version.';
        throw new DomainError('NOT_READY', why, { stopping, database, pendingMigrations: pendingMigrations ?? [] });
      }
      return { ready: true as const, database, pendingMigrations: [] };
    },
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
