import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { serializerCompiler, type FastifyPluginAsyncZod, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { DomainError } from '../../shared/errors.js';
import { EXPORT_MAX_BYTES } from '../../sync/export-document.js';
import { scopeOf, writeContext } from '../plugins/auth.js';
import { assertDepth, MAX_BATCH_JSON_DEPTH, registerJsonBody, utf8Text } from '../plugins/json-body.js';
import { actorSchema, changeOpSchema, problems } from '../schemas.js';

const tags = ['instances'];
const nameParams = z.object({ name: z.string().max(100) });
const dryRunQuery = z.object({ dryRun: z.stringbool().default(false).describe('Plan only: answer the plan, write nothing') });
const isoTime = z.string().max(40);

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new DomainError('VALIDATION_FAILED', `${field} is not an ISO 8601 time.`, { errors: [{ path: field, code: 'invalid-time', message: 'Expected an ISO 8601 date or time.' }] });
  }
  return ms;
}

const peerViewSchema = z.object({
  name: z.string(),
  url: z.string(),
  clientId: z.string(),
  instanceId: z.string().nullable(),
  isSource: z.boolean(),
  lastSyncAt: z.string().nullable(),
  createdAt: z.string(),
});
const linkedInstanceSchema = peerViewSchema.meta({ id: 'LinkedInstance', description: 'A linked instance (its client secret is stored sealed, never returned).' });

const changeBriefSchema = z.object({
  id: z.string(),
  type: z.string(),
  entityId: z.string(),
  entityName: z.string(),
  op: z.string(),
  at: z.string(),
  changeSet: z.string().nullable(),
  origin: z.string(),
}).meta({ id: 'ChangeBrief' });

const peerStatusSchema = peerViewSchema.extend({
  reachable: z.boolean(),
  kind: z.string().nullable(),
  version: z.string().nullable(),
  versionMatches: z.boolean().nullable(),
  source: z.object({ instanceId: z.string(), name: z.string() }).nullable(),
  relation: z.enum(['source', 'downstream', 'none']).describe('source: the peer is this instance\'s source; downstream: the peer takes this instance as its source'),
  mode: z.enum(['exact', 'since-last-sync']),
  behind: z.number().nullable().describe('Changes the peer has that this instance lacks'),
  ahead: z.number().nullable().describe('Changes this instance has that the peer lacks'),
  inSync: z.boolean(),
  reasons: z.array(z.string()),
  behindChanges: z.array(changeBriefSchema).optional(),
  aheadChanges: z.array(changeBriefSchema).optional(),
  reconciliation: z.object({ rounds: z.number() }).optional(),
}).meta({ id: 'LinkedInstanceStatus', description: 'A linked instance with its reachability, behind/ahead counts, in-sync status and why not.' });

const bodyOrNull = z.record(z.string(), z.unknown()).nullable();
const problemSchema = z.object({
  kind: z.string(),
  message: z.string(),
  changeId: z.string().optional(),
  entity: z.object({ type: z.string(), id: z.string(), name: z.string() }).optional(),
  missing: z.array(z.string()).optional(),
  records: z
    .array(
      z.object({
        path: z.string(),
        kind: z.enum(['customer', 'user', 'agent', 'agent-or-user']),
        id: z.string().nullable(),
        name: z.string().nullable(),
        thirdPartyId: z.string().nullable(),
      }),
    )
    .optional()
    .describe('record-missing: the records this instance cannot resolve to its own, with where the change names them'),
  errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })).optional().describe('Invalid: the fields of the change at fault'),
  receiver: z.object({ head: z.string().nullable(), body: bodyOrNull }).optional().describe('Conflict: the version here (secrets masked)'),
  incoming: z.object({ parent: z.string().nullable(), before: bodyOrNull, after: bodyOrNull }).optional().describe('Conflict: the incoming version'),
}).meta({ id: 'SyncProblem', description: 'One reason a batch cannot apply: conflict, missing-dependency, version-mismatch, not-a-pipeline-edge, pushes-refused, locked, forbidden, record-missing or invalid.' });

/** A change of a plan, with what will happen to it (or did). */
export const plannedChangeSchema = z.object({
  id: z.string(),
  origin: z.string(),
  originSeq: z.number(),
  type: z.string(),
  entityId: z.string(),
  entityName: z.string(),
  op: changeOpSchema,
  at: z.number(),
  actor: actorSchema,
  changeSet: z.string().nullable(),
  action: z.enum(['apply', 'present', 'refused']),
});
export const plannedEntitySchema = z.object({ type: z.string(), id: z.string(), name: z.string(), changes: z.array(z.string()) });

export const syncPlanSchema = z.object({
  operation: z.enum(['push', 'pull', 'import']),
  dryRun: z.boolean(),
  applied: z.boolean(),
  replayed: z.boolean(),
  from: z.object({ instanceId: z.string(), name: z.string() }),
  to: z.object({ instanceId: z.string(), name: z.string() }),
  mode: z.enum(['exact', 'since-last-sync']),
  cutoff: z.string().nullable(),
  changes: z.array(
    plannedChangeSchema.extend({
      senderSeq: z.number().optional(),
      addedBecause: z.object({ reason: z.enum(['parent', 'requires']), of: z.string() }).optional(),
    }),
  ),
  entities: z.array(plannedEntitySchema),
  added: z.array(z.object({ id: z.string(), reason: z.enum(['parent', 'requires']), of: z.string(), changeSet: z.string().nullable() })),
  leftOut: z.array(z.string()),
  skippedDependencies: z.array(z.string()),
  heldBackByCutoff: z.number(),
  approvalsRequired: z.number().optional().describe('How many approvals the receiving instance asks before anything applies there'),
  request: z
    .object({ id: z.string(), status: z.string(), approvalsRequired: z.number(), planDigest: z.string() })
    .optional()
    .describe('The promotion request the batch became where the receiver asks for approvals (answered 202): nothing was applied yet'),
  problems: z.array(problemSchema),
  counts: z.object({
    received: z.number(),
    toApply: z.number(),
    alreadyPresent: z.number(),
    refused: z.number(),
    entities: z.number(),
    problems: z.number(),
  }),
}).meta({ id: 'SyncPlan', description: 'The plan of a push, pull or import: every change with what will happen to it, the dependencies added and why, and every problem.' });

const restoreRecordReferenceSchema = z.object({
  in: z.object({ type: z.string(), id: z.string(), name: z.string() }).describe('What names the record: a tracked entity (its type) or an agent of this instance (type "agent")'),
  path: z.string(),
  record: z.object({ kind: z.enum(['customer', 'user', 'agent']), id: z.string().nullable(), name: z.string().nullable(), thirdPartyId: z.string().nullable() }),
});

const restorePlanSchema = z.object({
  dryRun: z.boolean(),
  scope: z.enum(['instance', 'pipeline']),
  from: z.object({ name: z.string(), instanceId: z.string() }),
  fingerprint: z.string().describe('Each instance\'s fingerprint, joined by "-": a confirmed restore presents it, and is refused if an instance moved since'),
  instances: z
    .array(
      z.object({
        name: z.string(),
        instanceId: z.string(),
        fingerprint: z.string().describe('The state of this instance and of production its part was planned on'),
        lost: z.object({ count: z.number(), changes: z.array(changeBriefSchema) }).describe('Changes this instance has that production lacks (up to 500 listed)'),
        copied: z.object({ changes: z.number(), entities: z.number() }),
        replaced: z.object({ changes: z.number(), entities: z.number() }),
        records: z
          .object({
            copied: z.object({ customers: z.number(), users: z.number() }).describe('Production’s customers and users, copied with their ids and third-party ids'),
            replaced: z.object({ customers: z.number(), users: z.number() }).describe('This instance’s customers and users, which they replace'),
            agentsResolved: z.number().describe('Production’s agents its configuration names, each found here by id, else by third-party id'),
            unresolved: z.array(restoreRecordReferenceSchema).describe('References that would name no record here: a confirmed restore is refused while there is one'),
            dropped: z.array(restoreRecordReferenceSchema).describe('This instance’s own holders (a user role’s users) production lacks: they stop holding it'),
          })
          .describe('The records each instance keeps for itself: customers and users are production’s, agents stay this instance’s'),
        deskDataCleared: z.boolean(),
        restored: z.boolean(),
      }),
    )
    .describe('This instance first, then those between it and production'),
  restored: z.boolean(),
}).meta({ id: 'RestorePlan', description: 'What a restore from production replaces, per instance, and the fingerprint a confirmed restore presents.' });

/**
 * Plans are written as the sync service makes them, in exactly syncPlanSchema's shape (every plan the end-to-end tests
 * get is held to it): a plan of 10,000 changes skips zod's copying walk. Problems are serialised as everywhere else.
 */
function planSerializer<T>(route: Parameters<FastifySerializerCompiler<T>>[0]): ReturnType<FastifySerializerCompiler<T>> {
  // Fastify hands a route-level compiler each status's own schema; its types name the route's whole schema.
  return route.httpStatus === '200' || route.httpStatus === '202' ? (data) => JSON.stringify(data) : serializerCompiler(route as unknown as Parameters<typeof serializerCompiler>[0]);
}

const syncBody = z.strictObject({
  cutoff: isoTime.optional().describe('Only changes made on or before this time'),
  changeIds: z.array(z.string().max(100)).max(100_000).optional().describe('Cherry-pick these changes (their dependency closure is added)'),
  changeSet: z.string().max(100).optional().describe('Only this change set (its dependency closure is added)'),
  withDependencies: z.boolean().optional().describe('Add the parents and requirements the receiver lacks (default true)'),
  allowMissing: z.array(z.string().max(100)).max(100_000).optional().describe('Changes to leave out although the selection depends on them'),
  description: z.string().max(2_000).optional().describe('Why: shown on the promotion request, where the receiver asks for approvals'),
}).meta({ id: 'SyncSelection', description: 'What to send: by default every change up to now; a cut-off, changes or a change set narrow it (their dependency closure is added).' });

/** Push, pull and import may be retried safely with the same key: the first answer is replayed. */
const idempotencyHeaders = z
  .object({
    'idempotency-key': z
      .string()
      .optional()
      .meta({ description: 'Retry safely: a repeated request with the same key answers the first one’s result (replayed: true) instead of running again.', pattern: '^[\\w.:-]{1,200}$' }),
  })
  .loose();

/** Who asks: the agent behind the caller, shown on a promotion request the batch becomes. */
function requesterOf(request: FastifyRequest) {
  const agent = request.principal!.agent;
  return { agentId: agent.id, name: agent.name, email: agent.email };
}

/** A batch held for approval is accepted, not done: 202 with the request. */
function answered<T extends { request?: unknown }>(reply: FastifyReply, plan: T): T {
  if (plan.request) void reply.code(202);
  return plan;
}

function syncOptions(request: FastifyRequest, body: z.infer<typeof syncBody> | undefined, dryRun: boolean, idempotencyKey: string | undefined) {
  const b = body ?? {};
  return {
    dryRun,
    idempotencyKey,
    requester: requesterOf(request),
    description: b.description,
    cutoff: parseTime(b.cutoff, 'cutoff'),
    changeIds: b.changeIds,
    changeSet: b.changeSet,
    withDependencies: b.withDependencies,
    allowMissing: b.allowMissing,
  };
}

function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return undefined;
  if (!/^[\w.:-]{1,200}$/.test(key)) {
    throw new DomainError('VALIDATION_FAILED', 'The Idempotency-Key header is not valid.', {
      errors: [{ path: 'Idempotency-Key', code: 'invalid-format', message: '1–200 characters: letters, digits and . _ : -' }],
    });
  }
  return key;
}

/** Linked instances, pipelines, push, pull, status, state diff, restore; change export and import. */
export const instanceSyncRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    registerJsonBody(app, MAX_BATCH_JSON_DEPTH);
    const sync = services.sync;

    app.get(
      '/v1/instances',
      {
        config: { permission: 'config:read' },
        schema: {
          tags,
          operationId: 'listLinkedInstances',
          summary: 'List linked instances',
          description: 'Every linked instance with its kind, version, source, reachability, behind/ahead counts and in-sync status (without the lists of changes).',
          response: { 200: z.object({ items: z.array(peerStatusSchema) }) },
        },
      },
      async () => {
        const peers = await sync.list();
        return { items: await Promise.all(peers.map((p) => sync.status(p.name, { list: false }))) };
      },
    );

    app.post(
      '/v1/instances',
      {
        config: { permission: 'config:push' },
        schema: {
          tags,
          operationId: 'linkInstance',
          summary: 'Link an instance',
          description:
            'Links a peer by name, URL and the client id and secret of an API application on it (stored encrypted, never returned); `source: true` makes it this instance’s source (pipeline mode). The peer is asked who it is first.',
          body: z.strictObject({
            name: z.string().max(100),
            url: z.string().max(500),
            clientId: z.string().max(200),
            clientSecret: z.string().max(500),
            source: z.boolean().optional(),
          }).meta({ id: 'LinkInstance' }),
          response: { 201: linkedInstanceSchema, ...problems(409, 502) },
        },
      },
      async (request, reply) => {
        const linked = await sync.link(writeContext(request), request.body);
        return reply.code(201).header('location', `/v1/instances/${encodeURIComponent(linked.name)}`).send(linked);
      },
    );

    app.get(
      '/v1/instances/:name',
      {
        config: { permission: 'config:read' },
        schema: {
          tags,
          operationId: 'getLinkedInstance',
          summary: 'Read a linked instance',
          description: 'One linked instance: its URL, client id, instance id, whether it is this instance’s source and when it last synced.',
          params: nameParams,
          response: { 200: linkedInstanceSchema, ...problems(404) },
        },
      },
      async (request) => sync.get(request.params.name),
    );

    app.patch(
      '/v1/instances/:name',
      {
        config: { permission: 'config:push' },
        schema: {
          tags,
          operationId: 'updateLinkedInstance',
          summary: 'Change a linked instance',
          description: 'Changes the URL or credentials, or makes the peer this instance’s source (`source: true`) or not; a URL that serves another instance is refused.',
          params: nameParams,
          body: z
            .strictObject({ url: z.string().max(500).optional(), clientId: z.string().max(200).optional(), clientSecret: z.string().max(500).optional(), source: z.boolean().optional() })
            .meta({ id: 'LinkedInstancePatch' }),
          response: { 200: linkedInstanceSchema, ...problems(404, 502) },
        },
      },
      async (request) => sync.update(writeContext(request), request.params.name, request.body),
    );

    app.delete(
      '/v1/instances/:name',
      {
        config: { permission: 'config:push' },
        schema: {
          tags,
          operationId: 'unlinkInstance',
          summary: 'Unlink an instance',
          description: 'Removes the link and its stored credentials; nothing is changed on the peer.',
          params: nameParams,
          response: { 204: z.null().describe('Unlinked.'), ...problems(404) },
        },
      },
      async (request, reply) => {
        await sync.remove(writeContext(request), request.params.name);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/instances/:name/status',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'getLinkedInstanceStatus',
          summary: 'Sync status of a linked instance',
          description:
            'Reachability, kind and version, relation in the pipeline, changes behind and ahead (exact, at a cost that grows with the difference), in sync and why not; `list=true` adds the changes behind and ahead (up to 500 each).',
          params: nameParams,
          querystring: z.object({ list: z.stringbool().default(false).describe('Add the changes behind and ahead') }),
          response: { 200: peerStatusSchema, ...problems(404) },
        },
      },
      async (request) => sync.status(request.params.name, { list: request.query.list }),
    );

    app.get(
      '/v1/instances/:name/diff',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'getLinkedInstanceDiff',
          summary: 'State diff with a linked instance',
          description: 'Which tracked entities differ between this instance and the peer, field by field (secrets masked): per-type counts, entities only here or only there, and those that differ.',
          params: nameParams,
          response: { 200: z.unknown().describe('{ peer, inSync, types, onlyHere, onlyThere, different } (docs/api.md)'), ...problems(404, 502) },
        },
      },
      async (request) => sync.diffState(request.params.name),
    );

    for (const operation of ['push', 'pull'] as const) {
      app.post(
        `/v1/instances/:name/${operation}`,
        {
          config: { permission: 'config:push', customers: 'every' },
          schema: {
            tags,
            operationId: operation === 'push' ? 'pushToInstance' : 'pullFromInstance',
            summary: operation === 'push' ? 'Push changes to a linked instance' : 'Pull changes from a linked instance',
            description:
              (operation === 'push'
                ? 'Sends the changes the peer lacks (up to the cut-off, or a selection with its dependency closure), applied there as one transaction. '
                : 'Fetches the changes this instance lacks from the peer (up to the cut-off, or a selection with its dependency closure) and applies them here as one transaction. ') +
              '`dryRun=true` answers the plan and writes nothing (200 even with problems); a real run with problems writes nothing and answers 409 with `problems` and `plan`. ' +
              'Where the receiving instance’s promotion policy asks for approvals, nothing is applied: the batch becomes a promotion request there, answered 202 with the plan and `request`.',
            params: nameParams,
            querystring: dryRunQuery,
            headers: idempotencyHeaders,
            body: syncBody.optional(),
            response: { 200: syncPlanSchema, 202: syncPlanSchema, ...problems(404, 409, 502) },
          },
          serializerCompiler: planSerializer,
        },
        async (request, reply) => {
          const options = syncOptions(request, request.body, request.query.dryRun, idempotencyKeyOf(request.headers['idempotency-key']));
          const ctx = writeContext(request);
          return answered(reply, await (operation === 'push' ? sync.push(ctx, request.params.name, options) : sync.pull(ctx, request.params.name, options)));
        },
      );
    }

    app.post(
      '/v1/instances/:name/restore',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'restoreFromInstance',
          summary: 'Restore from production',
          description:
            'Replaces this instance’s tracked configuration and history with those of the production instance {name} (and, with `scope: pipeline`, those of every instance between). `dryRun=true` plans, listing the changes each instance would lose; a confirmed restore presents the plan’s fingerprint and is refused if an instance moved since.',
          params: nameParams,
          querystring: dryRunQuery,
          body: z
            .strictObject({
              scope: z.enum(['instance', 'pipeline']).default('instance'),
              confirm: z.boolean().default(false),
              fingerprint: z.string().max(2_000).optional().describe('The fingerprint of the plan confirmed'),
            })
            .meta({ id: 'RestoreRequest' })
            .optional(),
          response: { 200: restorePlanSchema, ...problems(404, 409, 502) },
        },
      },
      async (request) =>
        sync.restore(writeContext(request), {
          scope: request.body?.scope ?? 'instance',
          confirm: request.body?.confirm ?? false,
          fingerprint: request.body?.fingerprint,
          dryRun: request.query.dryRun,
          from: request.params.name,
        }),
    );

    app.post(
      '/v1/changes/export',
      {
        config: { permission: 'config:read' },
        schema: {
          tags: ['changes'],
          operationId: 'exportChanges',
          summary: 'Export changes',
          description:
            'Selected changes (by id, change set or time range; with `peer`, the dependency closure that peer lacks) as a versioned JSON document with keyed digests and a checksum; secrets stay encrypted. Sent as a file download.',
          body: z.strictObject({
            changeIds: z.array(z.string().max(100)).max(50_000).optional(),
            changeSet: z.string().max(100).optional(),
            from: isoTime.optional(),
            to: isoTime.optional(),
            peer: z.string().max(100).optional().describe('Add the dependency closure this linked peer lacks'),
          }).meta({ id: 'ExportRequest' }),
          response: { 200: z.unknown().describe('The export document (format shiplog.changes, version 2).'), ...problems(404, 409, 502) },
        },
      },
      async (request, reply) => {
        const b = request.body;
        if (!b.changeIds && !b.changeSet && !b.from && !b.to) {
          throw new DomainError('VALIDATION_FAILED', 'Name what to export: changeIds, changeSet or a time range.', {
            errors: [{ path: '', code: 'empty-selection', message: 'Give changeIds, changeSet, from or to.' }],
          });
        }
        const document = await sync.exportChanges({
          ...(b.changeIds ? { changeIds: b.changeIds } : {}),
          ...(b.changeSet ? { changeSet: b.changeSet } : {}),
          ...(b.from ? { from: parseTime(b.from, 'from')! } : {}),
          ...(b.to ? { to: parseTime(b.to, 'to')! } : {}),
          ...(b.peer ? { peer: b.peer } : {}),
          scope: scopeOf(request),
        });
        void reply.header('content-disposition', `attachment; filename="shiplog-${services.instance.name}-changes.json"`);
        return document;
      },
    );

    await app.register(async (plain) => {
      const upload = plain.withTypeProvider<ZodTypeProvider>();
      // Pasted text and uploaded files arrive as they are; the document is parsed and checked by the import itself.
      upload.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: EXPORT_MAX_BYTES }, (_request, body, done) => {
        const text = utf8Text(body as Buffer);
        assertDepth(text, MAX_BATCH_JSON_DEPTH);
        done(null, text);
      });
      upload.post(
        '/v1/changes/import',
        {
          bodyLimit: EXPORT_MAX_BYTES,
          config: { permission: 'config:push', customers: 'every' },
          schema: {
            tags: ['changes'],
            operationId: 'importChanges',
            summary: 'Import changes',
            description:
              'Imports an export document sent as JSON, as pasted text or as an uploaded file (up to 32 MiB): every change is checked as received changes are, and the plan is the same as a push’s, all or nothing. `dryRun=true` plans only. Where this instance’s promotion policy asks for approvals, the import becomes a promotion request (202).',
            querystring: dryRunQuery.extend({
              allowMissing: z.string().max(100_000).optional().describe('Comma-separated change ids to accept as absent'),
              description: z.string().max(2_000).optional().describe('Why: shown on the promotion request, where this instance asks for approvals'),
            }),
            headers: idempotencyHeaders,
            consumes: ['application/json', 'text/plain', 'application/octet-stream'],
            body: z.unknown().describe('An export document (POST /v1/changes/export), as JSON or as its text.'),
            response: { 200: syncPlanSchema, 202: syncPlanSchema, ...problems(409) },
          },
          serializerCompiler: planSerializer,
        },
        async (request, reply) =>
          answered(
            reply,
            await sync.importChanges(writeContext(request), request.body, {
              dryRun: request.query.dryRun,
              allowMissing: request.query.allowMissing ? request.query.allowMissing.split(',').filter(Boolean) : [],
              ...(idempotencyKeyOf(request.headers['idempotency-key']) ? { idempotencyKey: idempotencyKeyOf(request.headers['idempotency-key'])! } : {}),
              requester: requesterOf(request),
              ...(request.query.description ? { description: request.query.description } : {}),
            }),
          ),
      );
    });
  };
