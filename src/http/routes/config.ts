import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { WriteOutcome } from '../../tracking/config-service.js';
import { scopeOf, writeContext } from '../plugins/auth.js';
import { CHANGE_SET_LABEL } from '../../shared/actor.js';
import { entityViewSchema, pageOf, pageQuery, problems, writeOutcomeSchema } from '../schemas.js';
import type { FastifyReply } from 'fastify';

const typeParams = z.object({ type: z.string().max(100) });
const entityParams = typeParams.extend({ id: z.string().max(100) });
const inputBody = z.record(z.string(), z.unknown()).describe("The type's fields; GET /v1/catalog/{type} has its JSON Schema.");
export const entityPage = pageOf(entityViewSchema).meta({ id: 'EntityPage' });
/** Writes that record changes take a change-set label; writeContext checks it (its pattern is shown, not enforced, here). */
export const changeSetHeaders = z
  .object({
    'x-change-set': z
      .string()
      .optional()
      .meta({ description: 'Label the changes this request records with a change set (a change set whose closure is complete can be pushed alone).', pattern: CHANGE_SET_LABEL.source }),
  })
  .loose();
export const ifMatchHeaders = changeSetHeaders.extend({
  'if-match': z.string().max(200).optional().describe('The ETag of the version this write replaces: the write is refused with 412 if the entity has changed since.'),
});

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
          operationId: 'listConfigEntities',
          summary: 'List entities of a type',
          description: 'Entities of one catalog type, by name, secrets masked; `q` finds text in the name. Page with `cursor`.',
          params: typeParams,
          querystring: z.object({ ...pageQuery, q: z.string().max(200).optional().describe('Text in the name') }),
          response: { 200: entityPage, ...problems(404) },
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
          operationId: 'createConfigEntity',
          summary: 'Create an entity',
          description:
            'Creates an entity of the type, validated against the type’s JSON Schema (GET /v1/catalog/{type}); records a change when the type is tracked. Secrets are stored encrypted and never returned.',
          params: typeParams,
          headers: changeSetHeaders,
          body: inputBody,
          response: { 201: writeOutcomeSchema, ...problems(404, 422, 423) },
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
        schema: {
          tags: ['config'],
          operationId: 'getConfigEntity',
          summary: 'Read an entity',
          description: 'One entity, secrets masked; its ETag is the version to send back in If-Match.',
          params: entityParams,
          response: { 200: entityViewSchema, ...problems(404) },
        },
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
          operationId: 'replaceConfigEntity',
          summary: 'Replace an entity',
          description: 'Replaces the entity’s fields; omitted secrets are kept. Records a change when the type is tracked and something changed. With If-Match, refused if the entity changed since.',
          params: entityParams,
          headers: ifMatchHeaders,
          body: inputBody,
          response: { 200: writeOutcomeSchema, ...problems(404, 422, 423) },
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
        schema: {
          tags: ['config'],
          operationId: 'deleteConfigEntity',
          summary: 'Delete an entity',
          description: 'Deletes the entity (refused while another entity references it); records a change when the type is tracked.',
          params: entityParams,
          headers: ifMatchHeaders,
          response: { 200: writeOutcomeSchema, ...problems(404, 409, 423) },
        },
      },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        const outcome = await services.config.remove(writeContext(request), request.params.type, request.params.id, { ...(ifMatch ? { ifMatch } : {}), scope: scopeOf(request) });
        return sendOutcome(reply, outcome);
      },
    );
  };
