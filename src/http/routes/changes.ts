import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { scopeOf, writeContext } from '../plugins/auth.js';
import { changeDetailSchema, changeListItemSchema, changeOpSchema, pageQuery, problemResponses, rollbackResultSchema, verifySchema } from '../schemas.js';

const listQuery = z.object({
  ...pageQuery,
  type: z.string().max(100).optional(),
  entityId: z.string().max(100).optional(),
  op: changeOpSchema.optional(),
  actor: z.string().max(200).optional().describe('Actor id or name'),
  receivedBy: z.string().max(300).optional().describe('Changes brought here from another instance or a file by this actor (id or name)'),
  origin: z.string().max(100).optional().describe('Origin instance id'),
  changeSet: z.string().max(100).optional(),
  q: z.string().max(200).optional().describe("Text in the entity's name"),
  from: z.string().max(40).optional().describe('Changes made at or after this ISO 8601 time'),
  to: z.string().max(40).optional().describe('Changes made at or before this ISO 8601 time'),
});

export const changeRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/changes',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['changes'],
          summary: 'The change list, newest first',
          querystring: listQuery,
          response: { 200: z.object({ items: z.array(changeListItemSchema), nextCursor: z.string().nullable() }), ...problemResponses },
        },
      },
      async (request) => {
        const { q, ...rest } = request.query;
        const query = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as typeof rest;
        return services.changeLog.list({ ...query, ...(q ? { nameContains: q } : {}), scope: scopeOf(request) });
      },
    );

    app.get(
      '/v1/changes/verify',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['changes'],
          summary: 'Check the keyed digests and chain, and every tracked entity against its head change; lists every failure (up to 100) with their count',
          response: { 200: verifySchema, ...problemResponses },
        },
      },
      async () => services.changeLog.verify(),
    );

    app.get(
      '/v1/changes/:id',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['changes'],
          summary: 'One change: before and after (secrets masked), its rollback script and the later changes that depend on it',
          params: z.object({ id: z.string().max(100) }),
          response: { 200: changeDetailSchema, ...problemResponses },
        },
      },
      async (request) => services.changeLog.detail(request.params.id, scopeOf(request)),
    );

    app.post(
      '/v1/changes/:id/rollback-before',
      {
        config: { permission: 'changes:rollback' },
        schema: {
          tags: ['changes'],
          summary: 'Revert this change and every later one, in one transaction (dryRun=true previews)',
          params: z.object({ id: z.string().max(100) }),
          querystring: z.object({ dryRun: z.stringbool().default(false) }),
          response: { 200: rollbackResultSchema, ...problemResponses },
        },
      },
      async (request) => services.rollback.rollbackBefore(writeContext(request), request.params.id, { dryRun: request.query.dryRun, scope: scopeOf(request) }),
    );
  };
