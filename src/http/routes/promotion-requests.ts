import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestStatuses } from '../../promotion/promotion-request.js';
import type { Person } from '../../promotion/promotion-request.js';
import { deployWindowSchema, freezePeriodSchema, promotionPolicySchema } from '../../promotion/promotion-policy.js';
import type { Services } from '../../services.js';
import { DomainError } from '../../shared/errors.js';
import { decodeCursor, encodeCursor } from '../../tracking/cursor.js';
import { writeContext } from '../plugins/auth.js';
import { pageQuery, pageOf, problems } from '../schemas.js';
import { plannedChangeSchema, plannedEntitySchema } from './instances-sync.js';

const tags = ['promotion requests'];
const idParams = z.object({ id: z.string().max(100) });
const personSchema = z.object({ agentId: z.string().nullable(), name: z.string(), email: z.string().nullable() }).meta({ id: 'PromotionPerson' });
const statusSchema = z.enum(requestStatuses);

const policySchema = promotionPolicySchema
  .extend({ windows: z.array(deployWindowSchema), freezes: z.array(freezePeriodSchema) })
  .meta({ id: 'PromotionPolicy', description: 'What this instance asks before a push, pull or import applies here (instance-local, never synced).' });

const summarySchema = z
  .object({
    id: z.string(),
    status: statusSchema,
    operation: z.enum(['push', 'pull', 'import']),
    from: z.object({ instanceId: z.string(), name: z.string() }),
    description: z.string(),
    requester: personSchema,
    revision: z.number().int().describe('Goes up with every re-plan; verdicts count for the current plan only'),
    approvalsRequired: z.number().int(),
    approvals: z.number().int().describe('Distinct approvals of the current plan'),
    changes: z.number().int().describe('Changes the plan applies'),
    entities: z.number().int(),
    scheduledAt: z.string().nullable(),
    reason: z.string().nullable().describe('Why the request went stale, was suspended, failed or was cancelled'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'PromotionRequestSummary' });

const requestSchema = summarySchema
  .omit({ changes: true, entities: true })
  .extend({
    planDigest: z.string().describe('SHA-256 over every change (id and keyed digest), the changes accepted as missing and every head read: approvals bind to it'),
    plan: z.object({
      changes: z.array(plannedChangeSchema),
      entities: z.array(plannedEntitySchema),
      problems: z.array(z.object({ kind: z.string(), message: z.string() })).describe('None on a request: only a plan without problems is held'),
      skippedDependencies: z.array(z.string()),
      counts: z.object({ received: z.number(), toApply: z.number(), alreadyPresent: z.number(), refused: z.number(), entities: z.number(), problems: z.number() }),
    }),
    heads: z.array(z.object({ entityId: z.string(), head: z.string().nullable() })).describe('Every entity the plan writes or references, with its head here when planned (null: absent)'),
    reviews: z.array(
      z.object({
        by: personSchema,
        verdict: z.enum(['approve', 'reject']),
        comment: z.string(),
        at: z.string(),
        planDigest: z.string(),
        revoked: z.boolean().describe('The plan changed after this verdict'),
        revokedAt: z.string().nullable(),
        counts: z.boolean().describe('Counts toward the approvals required'),
      }),
    ),
    bypass: z.object({ by: personSchema, reason: z.string(), at: z.string() }).nullable(),
    timeline: z.array(z.object({ at: z.string(), kind: z.string(), by: personSchema.nullable(), message: z.string() })),
    appliedAt: z.string().nullable(),
  })
  .meta({ id: 'PromotionRequest', description: 'A push, pull or import held for approval: its plan, verdicts and timeline.' });

const commentBody = z.strictObject({ comment: z.string().max(2_000).default('') }).meta({ id: 'PromotionReview' });

/** The agent behind the caller: verdicts are an agent's, whether given signed in or through an application. */
function personOf(request: FastifyRequest): Person {
  const principal = request.principal;
  if (!principal) throw new DomainError('UNAUTHENTICATED', 'Sign in or send a bearer token.');
  return { agentId: principal.agent.id, name: principal.agent.name, email: principal.agent.email };
}

/** `/v1/promotion-policy` and `/v1/promotion-requests`. */
export const promotionRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    const promotions = services.promotions;

    app.get(
      '/v1/promotion-policy',
      {
        config: { permission: 'config:read' },
        schema: {
          tags,
          operationId: 'getPromotionPolicy',
          summary: 'The promotion policy',
          description: 'Approvals required, self-approval, who applies, deploy windows in a named time zone, freezes and the emergency bypass of this instance.',
          response: { 200: policySchema },
        },
      },
      async () => promotions.policy(),
    );

    app.patch(
      '/v1/promotion-policy',
      {
        config: { permission: 'access:manage' },
        schema: {
          tags,
          operationId: 'updatePromotionPolicy',
          summary: 'Change the promotion policy',
          description: 'Administrators of this instance only; every field changed is audited (settings.promotion-policy-changed).',
          body: z.record(z.string(), z.unknown()).describe('Any fields of PromotionPolicy'),
          response: { 200: policySchema, ...problems(403) },
        },
      },
      async (request) => promotions.updatePolicy(writeContext(request), request.body),
    );

    app.get(
      '/v1/promotion-requests',
      {
        config: { permission: 'config:read' },
        schema: {
          tags,
          operationId: 'listPromotionRequests',
          summary: 'List promotion requests',
          description: 'Newest first, optionally of some statuses (comma-separated). Page with `cursor`.',
          querystring: z.object({
            ...pageQuery,
            status: z.string().max(200).optional().describe(`Comma-separated: ${requestStatuses.join(', ')}`),
          }),
          response: { 200: pageOf(summarySchema) },
        },
      },
      async (request) => {
        const { limit, cursor, status } = request.query;
        const statuses = status ? status.split(',').filter(Boolean) : [];
        const unknown = statuses.filter((s) => !(requestStatuses as readonly string[]).includes(s));
        if (unknown.length > 0) {
          throw new DomainError('VALIDATION_FAILED', 'The status filter names an unknown status.', {
            errors: [{ path: 'status', code: 'invalid-value', message: `Unknown: ${unknown.join(', ')}; expected ${requestStatuses.join(', ')}.` }],
          });
        }
        const rows = await promotions.list({
          statuses: statuses as (typeof requestStatuses)[number][],
          limit: limit + 1,
          ...(cursor ? { beforeId: decodeCursor(cursor) } : {}),
        });
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        return { items: page, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
      },
    );

    app.get(
      '/v1/promotion-requests/:id',
      {
        config: { permission: 'config:read' },
        schema: {
          tags,
          operationId: 'getPromotionRequest',
          summary: 'A promotion request',
          description: 'Its plan (every change and entity), the heads it was planned against, its verdicts (revoked ones shown as such) and its timeline.',
          params: idParams,
          response: { 200: requestSchema, ...problems(404) },
        },
      },
      async (request) => promotions.get(request.params.id),
    );

    app.get(
      '/v1/promotion-requests/:id/diffs',
      {
        config: { permission: 'config:read' },
        schema: {
          tags,
          operationId: 'getPromotionRequestDiffs',
          summary: 'A promotion request, entity by entity',
          description: 'Each entity the held batch writes: its body before the first change and after the last, and the fields that differ. Secrets are masked (`{ "set": true }`) and named in `secretsChanged`, never shown.',
          params: idParams,
          response: {
            200: z
              .object({
                items: z.array(
                  z.object({
                    type: z.string(),
                    entityId: z.string(),
                    name: z.string(),
                    before: z.record(z.string(), z.unknown()).nullable(),
                    after: z.record(z.string(), z.unknown()).nullable(),
                    diff: z.array(z.object({ path: z.string(), before: z.unknown(), after: z.unknown() })),
                    secretsChanged: z.array(z.string()),
                  }),
                ),
              })
              .meta({ id: 'PromotionRequestDiffs' }),
            ...problems(404),
          },
        },
      },
      async (request) => ({ items: await promotions.diffs(request.params.id) }),
    );

    for (const verdict of ['approve', 'reject'] as const) {
      app.post(
        `/v1/promotion-requests/:id/${verdict}`,
        {
          config: { permission: 'promotions:approve' },
          schema: {
            tags,
            operationId: verdict === 'approve' ? 'approvePromotionRequest' : 'rejectPromotionRequest',
            summary: verdict === 'approve' ? 'Approve a promotion request' : 'Reject a promotion request',
            description:
              verdict === 'approve'
                ? 'Approves the current plan, with a comment. One agent counts once; the requester’s own approval is refused unless the policy allows it.'
                : 'Rejects the request, with a comment; a re-plan starts the approvals again.',
            params: idParams,
            body: commentBody.optional(),
            response: { 200: requestSchema, ...problems(403, 404, 409) },
          },
        },
        async (request) => {
          const comment = request.body?.comment ?? '';
          const by = personOf(request);
          const ctx = writeContext(request);
          return verdict === 'approve' ? promotions.approve(ctx, by, request.params.id, comment) : promotions.reject(ctx, by, request.params.id, comment);
        },
      );
    }

    app.post(
      '/v1/promotion-requests/:id/apply',
      {
        config: { permission: 'promotions:approve' },
        schema: {
          tags,
          operationId: 'applyPromotionRequest',
          summary: 'Apply an approved promotion request',
          description:
            'Applies exactly the approved plan in one transaction, inside a deploy window, only if every entity it reads is unchanged here; otherwise nothing is written and the request becomes stale (409 REQUEST_STALE). `bypassReason` applies outside the windows and freezes, where the policy allows an emergency bypass and the caller holds promotions:bypass.',
          params: idParams,
          body: z.strictObject({ bypassReason: z.string().min(1).max(2_000).optional() }).meta({ id: 'PromotionApply' }).optional(),
          response: { 200: requestSchema, ...problems(403, 404, 409) },
        },
      },
      async (request) => promotions.apply(writeContext(request), personOf(request), request.params.id, request.body?.bypassReason ? { bypassReason: request.body.bypassReason } : {}),
    );

    app.post(
      '/v1/promotion-requests/:id/schedule',
      {
        config: { permission: 'promotions:approve' },
        schema: {
          tags,
          operationId: 'schedulePromotionRequest',
          summary: 'Schedule an approved promotion request',
          description: 'The instance applies it at `at` (inside a window), or suspends it if its target moved; `at: null` unschedules.',
          params: idParams,
          body: z.strictObject({ at: z.iso.datetime({ offset: true }).nullable() }).meta({ id: 'PromotionSchedule' }),
          response: { 200: requestSchema, ...problems(403, 404, 409) },
        },
      },
      async (request) =>
        promotions.schedule(writeContext(request), personOf(request), request.params.id, request.body.at === null ? null : Date.parse(request.body.at)),
    );

    app.post(
      '/v1/promotion-requests/:id/cancel',
      {
        config: { permission: 'config:push' },
        schema: {
          tags,
          operationId: 'cancelPromotionRequest',
          summary: 'Cancel a promotion request',
          description: 'By its requester or an approver.',
          params: idParams,
          body: z.strictObject({ reason: z.string().max(2_000).default('') }).meta({ id: 'PromotionCancel' }).optional(),
          response: { 200: requestSchema, ...problems(403, 404, 409) },
        },
      },
      async (request) => promotions.cancel(writeContext(request), personOf(request), request.params.id, request.body?.reason ?? ''),
    );

    app.post(
      '/v1/promotion-requests/:id/replan',
      {
        config: { permission: 'config:push' },
        schema: {
          tags,
          operationId: 'replanPromotionRequest',
          summary: 'Re-plan a promotion request',
          description:
            'Checks the batch again against this instance as it is now, without the changes named in `removeChangeIds`: a new plan and digest, and every earlier verdict revoked. A plan with problems answers 409 and changes nothing.',
          params: idParams,
          body: z
            .strictObject({
              removeChangeIds: z.array(z.string().max(100)).max(100_000).optional(),
              description: z.string().max(2_000).optional(),
            })
            .meta({ id: 'PromotionReplan' })
            .optional(),
          response: { 200: requestSchema, ...problems(403, 404, 409) },
        },
      },
      async (request) => {
        const body = request.body ?? {};
        return promotions.replan(writeContext(request), personOf(request), request.params.id, {
          ...(body.removeChangeIds ? { removeChangeIds: body.removeChangeIds } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
        });
      },
    );
  };
