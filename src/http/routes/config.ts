import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { WriteOutcome } from '../../tracking/config-service.js';
import { scopeOf, writeContext } from '../plugins/auth.js';
import { entityViewSchema, pageQuery, problemResponses, writeOutcomeSchema } from '../schemas.js';
import type { FastifyReply } from 'fastify';

const typeParams = z.object({ type: z.string().max(100) });
const entityParams = typeParams.extend({ id: z.string().max(100) });
const inputBody = z.record(z.string(), z.unknown()).describe("The type's fields; GET /v1/catalog/{type} has its JSON Schema.");
export const ifMatchHeaders = z.object({ 'if-match': z.string().max(200).optional() }).loose();

export function sendOutcome(reply: FastifyReply, outcome: WriteOutcome, status = 200): WriteOutcome {
  if (outcome.changeId) void reply.header('x-change-id', outcome.changeId);
  if (outcome.entity) void reply.header('etag', `"${outcome.entity.version}"`);
  void reply.status(status);
  return outcome;
}

export const configRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/config/:type',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['config'],
          summary: 'List entities of a type',
          params: typeParams,
          querystring: z.object({ ...pageQuery, q: z.string().max(200).optional().describe('Text in the name') }),
          response: { 200: z.object({ items: z.array(entityViewSchema), nextCursor: z.string().nullable() }), ...problemResponses },
        },
      },
      async (request) => {
        const { limit, cursor, q } = request.query;
        return services.config.list(request.params.type, { limit, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}), scope: scopeOf(request) });
      },
    );

    app.post(
      '/v1/config/:type',
      {
        config: { permission: 'config:edit' },
        schema: {
          tags: ['config'],
          summary: 'Create an entity (records a change when the type is tracked)',
          params: typeParams,
          body: inputBody,
          response: { 201: writeOutcomeSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const outcome = await services.config.create(writeContext(request), request.params.type, request.body, { scope: scopeOf(request) });
        void reply.header('location', `/v1/config/${request.params.type}/${outcome.entity!.id}`);
        return sendOutcome(reply, outcome, 201);
      },
    );

    app.get(
      '/v1/config/:type/:id',
      {
        config: { permission: 'config:read' },
        schema: { tags: ['config'], summary: 'Read an entity', params: entityParams, response: { 200: entityViewSchema, ...problemResponses } },
      },
      async (request, reply) => {
        const view = await services.config.get(request.params.type, request.params.id, { scope: scopeOf(request) });
        void reply.header('etag', `"${view.version}"`);
        return view;
      },
    );

    app.put(
      '/v1/config/:type/:id',
      {
        config: { permission: 'config:edit' },
        schema: {
          tags: ['config'],
          summary: 'Replace an entity; omitted secrets are kept',
          params: entityParams,
          headers: ifMatchHeaders,
          body: inputBody,
          response: { 200: writeOutcomeSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        const outcome = await services.config.replace(writeContext(request), request.params.type, request.params.id, request.body, { ...(ifMatch ? { ifMatch } : {}), scope: scopeOf(request) });
        return sendOutcome(reply, outcome);
      },
    );

    app.delete(
      '/v1/config/:type/:id',
      {
        config: { permission: 'config:edit' },
        schema: { tags: ['config'], summary: 'Delete an entity', params: entityParams, headers: ifMatchHeaders, response: { 200: writeOutcomeSchema, ...problemResponses } },
      },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        const outcome = await services.config.remove(writeContext(request), request.params.type, request.params.id, { ...(ifMatch ? { ifMatch } : {}), scope: scopeOf(request) });
        return sendOutcome(reply, outcome);
      },
    );
  };
