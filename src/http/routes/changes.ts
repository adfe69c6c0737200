import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { scopeOf, writeContext } from '../plugins/auth.js';
import { changeDetailSchema, changeListItemSchema, changeOpSchema, pageOf, pageQuery, problems, rollbackResultSchema, verifySchema } from '../schemas.js';
import { changeSetHeaders } from './config.js';

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
          operationId: 'listChanges',
          summary: 'List changes',
          description:
            'The change list, newest first, filtered by any column (type, entity, operation, actor, origin, change set, text in the entity’s name) and a time range; only changes of records the caller’s client restrictions let it see. Page with `cursor`.',
          querystring: listQuery,
          response: { 200: pageOf(changeListItemSchema).meta({ id: 'ChangePage' }) },
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
          operationId: 'verifyChanges',
          summary: 'Verify the change log',
          description:
            'Checks the keyed digests and chain of every row of the log, and every tracked entity against its head change; lists every failure (up to 100) with their count.',
          response: { 200: verifySchema },
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
          operationId: 'getChange',
          summary: 'Read a change',
          description: 'One change: before and after (secrets masked), the field diff, who made it and from where, its rollback script, the changes it requires and the later changes that depend on it.',
          params: z.object({ id: z.string().max(100) }),
          response: { 200: changeDetailSchema, ...problems(404) },
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
          operationId: 'rollbackBeforeChange',
          summary: 'Roll back before a change',
          description:
            'Reverts this change and every later one, newest first, by writing new changes (`revertOf`) in one transaction, so every tracked entity is as it was just before the change. `dryRun=true` previews the same plan without writing. Refused while the production lock is on.',
          params: z.object({ id: z.string().max(100) }),
          querystring: z.object({ dryRun: z.stringbool().default(false).describe('Plan only: answer what would be reverted, write nothing') }),
          headers: changeSetHeaders,
          response: { 200: rollbackResultSchema, ...problems(404, 409, 423) },
        },
      },
      async (request) => services.rollback.rollbackBefore(writeContext(request), request.params.id, { dryRun: request.query.dryRun, scope: scopeOf(request) }),
    );
  };
