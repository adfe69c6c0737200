import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { AuditQuery } from '../../store/ports.js';
import { decodeCursor, encodeCursor } from '../../tracking/cursor.js';
import { actorSchema, pageOf, pageQuery } from '../schemas.js';

const outcomeSchema = z.enum(['success', 'failure', 'denied']);

const listQuery = z.object({
  ...pageQuery,
  kind: z.string().max(100).optional().describe('e.g. session.sign-in, access.denied, settings.lock-lifted'),
  outcome: outcomeSchema.optional(),
  actorId: z.string().max(100).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Events at or after this ISO 8601 date-time'),
  to: z.iso.datetime({ offset: true }).optional().describe('Events at or before this ISO 8601 date-time'),
});

const auditEventSchema = z.object({
  id: z.string(),
  at: z.string(),
  kind: z.string(),
  outcome: outcomeSchema,
  actor: actorSchema.nullable().describe('Who did it; null when nobody was authenticated (e.g. a failed sign-in).'),
  remoteAddress: z.string().nullable(),
  requestId: z.string().nullable(),
  subject: z.string().nullable().describe('What it was about: an email, a setting, a route, an application.'),
  details: z.record(z.string(), z.unknown()),
  count: z.number().int().optional().describe('On an event that stands for a flood of refusals from one source: how many it counts.'),
  lastAt: z.string().optional().describe('On such an event: when the last one came.'),
}).meta({ id: 'AuditEvent' });

export const auditRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/v1/audit',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['audit'],
          operationId: 'listAuditEvents',
          summary: 'List audit events',
          description: 'Instance events, newest first: sign-ins, tokens, applications, settings, the production lock, permission denials and sync; filtered by kind, outcome, actor and time. Page with `cursor`.',
          querystring: listQuery,
          response: { 200: pageOf(auditEventSchema) },
        },
      },
      async (request) => {
        const { limit, cursor, kind, outcome, actorId, from, to } = request.query;
        const query: AuditQuery = { limit: limit + 1 };
        if (kind) query.kind = kind;
        if (outcome) query.outcome = outcome;
        if (actorId) query.actorId = actorId;
        if (from) query.from = Date.parse(from);
        if (to) query.to = Date.parse(to);
        if (cursor) query.beforeId = decodeCursor(cursor);
        const rows = await services.audit.list(query);
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        return {
          items: page.map(({ lastAt, ...event }) => ({ ...event, at: new Date(event.at).toISOString(), ...(lastAt === undefined ? {} : { lastAt: new Date(lastAt).toISOString() }) })),
          nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
        };
      },
    );
  };
