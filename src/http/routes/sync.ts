import { Readable } from 'node:stream';
import { validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.js';
import { packedChangeSchema } from '../../sync/export-document.js';
import { recordDescriptionsSchema } from '../../sync/record-descriptions.js';
import { FANOUT, TOP_LEVEL } from '../../sync/summary.js';
import { packBatch, packOutcome, unpackBatch, UnpackError } from '../../sync/transfer.js';
import { DomainError } from '../../shared/errors.js';
import { allPackedChanges, BATCH_BYTES_MAX, BATCH_STREAM_TYPE, registerBatchStream, storedLines } from '../batch-stream.js';
import { writeContext } from '../plugins/auth.js';
import { MAX_BATCH_JSON_DEPTH, registerJsonBody } from '../plugins/json-body.js';
import { problems } from '../schemas.js';

/** Largest batch a peer may send in one request. */
export const SYNC_BODY_LIMIT = BATCH_BYTES_MAX;

// A node past the summary's top level, or past the buckets it can hold, is not a node of any summary this version keeps.
const nodeSchema = z.object({ origin: z.string().max(100), level: z.number().int().min(0).max(TOP_LEVEL), index: z.number().int().min(0).max(FANOUT ** TOP_LEVEL) });
const cellSchema = z.tuple([z.number().int().min(0), z.number().int().min(0)]);
const spanSchema = z.object({ origin: z.string().max(100), from: z.number().int().min(0), to: z.number().int().min(0) });
const keyRangesSchema = z.record(z.string().max(100), z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])));
export const selectionSchema = z.strictObject({
  cutoff: z.number().int().optional(),
  changeIds: z.array(z.string().max(100)).max(100_000).optional(),
  changeSet: z.string().max(100).optional(),
  withDependencies: z.boolean().optional(),
  allowMissing: z.array(z.string().max(100)).max(100_000).optional(),
});
const senderSchema = z.strictObject({
  instanceId: z.string().max(100),
  name: z.string().max(100),
  kind: z.string().max(40),
  version: z.string().max(100),
  inPipeline: z.boolean(),
});
const requesterSchema = z.strictObject({ name: z.string().max(200), email: z.string().max(320).nullable() });
const receiveSchema = z.strictObject({
  sender: senderSchema,
  // Pulls and imports are applied by the receiver itself; a peer can only push.
  operation: z.literal('push'),
  changes: z.array(packedChangeSchema),
  dryRun: z.boolean(),
  idempotencyKey: z.string().min(1).max(200).optional(),
  allowMissing: z.array(z.string().max(100)),
  records: recordDescriptionsSchema.optional().describe('The sender’s descriptions of the records the changes name by id'),
  requester: requesterSchema.optional().describe('Who asked for the push on the sender, shown on a promotion request the batch becomes'),
  description: z.string().max(2_000).optional().describe('Why, shown on a promotion request the batch becomes'),
});

const isShortString = (v: unknown, max: number) => typeof v === 'string' && v.length <= max;

/** Whether `receiveSchema` accepts the body as it is; then its changes are checked by hand (see allPackedChanges). */
function isPlainReceiveBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Object.getPrototypeOf(body) !== Object.prototype) return false;
  const b = body as Record<string, unknown>;
  const sender = b.sender as Record<string, unknown> | null;
  const key = b.idempotencyKey;
  const records = b.records;
  const optional = [key, records, b.requester, b.description].filter((v) => v !== undefined).length;
  return (
    Object.keys(b).length === 5 + optional &&
    (records === undefined || recordDescriptionsSchema.safeParse(records).success) &&
    (b.requester === undefined || requesterSchema.safeParse(b.requester).success) &&
    (b.description === undefined || isShortString(b.description, 2_000)) &&
    (key === undefined || (typeof key === 'string' && key.length >= 1 && key.length <= 200)) &&
    b.operation === 'push' &&
    typeof b.dryRun === 'boolean' &&
    Array.isArray(b.allowMissing) &&
    b.allowMissing.every((id) => isShortString(id, 100)) &&
    typeof sender === 'object' &&
    sender !== null &&
    Object.getPrototypeOf(sender) === Object.prototype &&
    Object.keys(sender).length === 5 &&
    isShortString(sender.instanceId, 100) &&
    isShortString(sender.name, 100) &&
    isShortString(sender.kind, 40) &&
    isShortString(sender.version, 100) &&
    typeof sender.inPipeline === 'boolean' &&
    Array.isArray(b.changes) &&
    allPackedChanges(b.changes)
  );
}

/** A body the schema would pass unchanged goes through as it is; any other gets the schema's own answer. */
const receiveValidator: FastifySchemaCompiler<unknown> = (route) => {
  // Fastify hands a route-level compiler each part's own schema; its types name the route's whole schema.
  const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  return (data) => (route.httpPart === 'body' && isPlainReceiveBody(data) ? { value: data } : validate(data));
};

/** Whether an Accept header names the media type. */
const accepts = (accept: string | undefined, type: string) => (accept ?? '').split(',').some((range) => range.split(';')[0]!.trim() === type);

/** A batch with every `before` its sender left out put back; one it cannot put back is a validation problem. */
function unpacked(changes: z.infer<typeof packedChangeSchema>[]) {
  try {
    return unpackBatch(changes);
  } catch (error) {
    if (!(error instanceof UnpackError)) throw error;
    throw new DomainError('VALIDATION_FAILED', 'The request body is not valid.', {
      errors: [{ path: `changes[${error.index}].before`, code: 'missing-before', message: error.message }],
    });
  }
}

const tags = ['sync protocol'];
// Shapes of the peer protocol are defined by the sync module's types; the protocol is versioned with the instances.
const answers = { 200: z.unknown().describe('Shaped by the sync module’s types (src/sync/peer-client.ts); peers share the version.') };

/** `/v1/sync/*`: what instances ask each other. Callers are peers' API applications. */
export const syncRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    registerJsonBody(app, MAX_BATCH_JSON_DEPTH);
    const receiver = services.syncReceiver;
    registerBatchStream(app, { limit: SYNC_BODY_LIMIT, maxDepth: MAX_BATCH_JSON_DEPTH, routes: ['/v1/sync/receive'], check: (change) => receiver.precheck(change) });

    app.get(
      '/v1/sync/hello',
      { config: { permission: 'config:read', customers: 'every' }, schema: {
          tags,
          operationId: 'syncHello',
          summary: 'Peer: who this instance is',
          description: 'Id, name, kind, version, source, pipeline membership, the settings that matter to peers, secret key ids, log head and summary format.',
          response: answers,
        },
      },
      async () => receiver.hello(),
    );

    app.post(
      '/v1/sync/exchange',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncExchange',
          summary: 'Peer: one round of a reconciliation',
          description:
            'One round of a reconciliation, read in one transaction: per-origin totals (with root children on request), contents of summary nodes, two-level descents, and on request the hello.',
          body: z.strictObject({
            hello: z.boolean().optional(),
            origins: z.strictObject({ withRoots: z.boolean().optional() }).optional(),
            nodes: z.array(nodeSchema).max(20_000).optional(),
            descend: z
              .array(z.strictObject({ node: nodeSchema.extend({ level: z.number().int().min(1).max(TOP_LEVEL) }), children: z.array(cellSchema).max(16) }))
              .max(20_000)
              .optional(),
          }),
          response: answers,
        },
      },
      async (request) => receiver.exchange(request.body),
    );

    app.post(
      '/v1/sync/members',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncMembers',
          summary: 'Peer: origin sequences in spans',
          description: 'The origin sequences this instance holds in the given spans of the summary.',
          body: z.strictObject({ spans: z.array(spanSchema).max(20_000) }),
          response: answers,
        },
      },
      async (request) => ({ keys: await receiver.members(request.body.spans) }),
    );

    app.post(
      '/v1/sync/keys-after',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncKeysAfter',
          summary: 'Peer: keys after a log position',
          description: 'The keys of every change after a position of the log (when "don’t check diffs" is on).',
          body: z.strictObject({ afterSeq: z.number().int().min(0) }),
          response: answers,
        },
      },
      async (request) => receiver.keysAfter(request.body.afterSeq),
    );

    app.post(
      '/v1/sync/outgoing',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncOutgoing',
          summary: 'Peer: the changes a receiver should get',
          description:
            'The changes a receiver lacking the given keys should get, by selection, cut-off and dependency closure, packed; streamed as application/x-ndjson when the caller accepts it.',
          body: z.strictObject({ lacking: keyRangesSchema, selection: selectionSchema }),
          response: { ...answers, ...problems(404, 409) },
        },
      },
      async (request, reply) => {
        const selection = Object.fromEntries(Object.entries(request.body.selection).filter(([, v]) => v !== undefined));
        if (accepts(request.headers.accept, BATCH_STREAM_TYPE)) {
          // Streamed, as a push sends its batch: the header holds what was chosen and the sender's seqs.
          const { changes, ...header } = await receiver.outgoingStream(request.body.lacking, selection);
          return reply.type(BATCH_STREAM_TYPE).send(Readable.from(storedLines(header, changes, [])));
        }
        const out = await receiver.outgoing(request.body.lacking, selection);
        // Each packed change is a fresh object: it takes its sender seq along.
        return { ...out, changes: packBatch(out.changes).map((change, i) => Object.assign(change, { seq: out.changes[i]!.seq })) };
      },
    );

    app.post(
      '/v1/sync/receive',
      {
        bodyLimit: SYNC_BODY_LIMIT,
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncReceive',
          summary: 'Peer: receive a batch',
          description: 'Checks and applies a batch of changes as one transaction, or plans it; up to 512 MiB, as JSON or streamed as application/x-ndjson.',
          body: receiveSchema,
          response: { ...answers, ...problems(409) },
        },
        validatorCompiler: receiveValidator,
      },
      async (request) => {
        const changes = unpacked(request.body.changes);
        const { requester, description, ...body } = request.body;
        const agent = request.principal!.agent;
        return packOutcome(
          changes,
          await receiver.receive(writeContext(request), {
            ...body,
            changes,
            idempotencyKey: body.idempotencyKey,
            // Who asked on the sender, where it says; else the agent the sender logs in as here.
            requester: requester ?? { agentId: agent.id, name: agent.name, email: agent.email },
            ...(description ? { description } : {}),
          }),
        );
      },
    );

    app.post(
      '/v1/sync/downstream',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncRegisterDownstream',
          summary: 'Peer: register a downstream instance',
          description: 'An instance announces that it takes this one as its source.',
          body: z.strictObject({ instanceId: z.string().min(1).max(100), name: z.string().min(1).max(100) }),
          response: { 204: z.null().describe('Registered.'), ...problems(409) },
        },
      },
      async (request, reply) => {
        await receiver.registerDownstream(writeContext(request), request.body);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/v1/sync/downstream/:instanceId',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncUnregisterDownstream',
          summary: 'Peer: unregister a downstream instance',
          description: 'An instance no longer takes this one as its source.',
          params: z.object({ instanceId: z.string().max(100) }),
          response: { 204: z.null().describe('Unregistered.') },
        },
      },
      async (request, reply) => {
        await receiver.unregisterDownstream(writeContext(request), request.params.instanceId);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/sync/log',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncLog',
          summary: 'Peer: the change log',
          description: 'The change log in order, paged by position, for a restore (secrets stay sealed).',
          querystring: z.object({ afterSeq: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(5000).default(1000) }),
          response: answers,
        },
      },
      async (request) => ({ changes: await receiver.log(request.query.afterSeq, request.query.limit) }),
    );

    app.get(
      '/v1/sync/entities',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncEntities',
          summary: 'Peer: tracked entities of a type',
          description: 'Tracked entities of one type, paged by id, for a restore (secrets stay sealed).',
          querystring: z.object({ type: z.string().max(100), afterId: z.string().max(100).optional(), limit: z.coerce.number().int().min(1).max(5000).default(1000) }),
          response: { ...answers, ...problems(404) },
        },
      },
      async (request) => ({ entities: await receiver.entities(request.query.type, request.query.afterId ?? null, request.query.limit) }),
    );

    const recordPage = z.object({
      kind: z.enum(['customer', 'user', 'agent']),
      afterId: z.string().max(100).optional(),
      limit: z.coerce.number().int().min(1).max(5000).default(1000),
    });
    app.get(
      '/v1/sync/records',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncRecords',
          summary: 'Peer: customers, users or agents',
          description: 'Customers and users (whole) or agents (id, name, third-party id only), paged by id, for a restore.',
          querystring: recordPage,
          response: answers,
        },
      },
      async (request) => ({ records: await receiver.records(request.query.kind, request.query.afterId ?? null, request.query.limit) }),
    );

    app.get(
      '/v1/sync/record-links',
      {
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncRecordLinks',
          summary: 'Peer: record links',
          description: 'Which record here each id of another instance’s record resolved to, by foreign id, paged, for a restore.',
          querystring: recordPage,
          response: answers,
        },
      },
      async (request) => ({ links: await receiver.recordLinks(request.query.kind, request.query.afterId ?? null, request.query.limit) }),
    );

    app.post(
      '/v1/sync/state',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncState',
          summary: 'Peer: entity-state digests',
          description: 'Entity-state digests per type, or per entity of the given types, for the state diff.',
          body: z.strictObject({ types: z.array(z.string().max(100)).max(500).optional() }),
          response: answers,
        },
      },
      async (request) => (request.body.types ? { entities: await receiver.stateEntities(request.body.types) } : { types: await receiver.stateDigests() }),
    );

    app.post(
      '/v1/sync/entities-by-id',
      {
        config: { permission: 'config:read', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncEntitiesById',
          summary: 'Peer: tracked entities by id',
          description: 'Tracked entities by id, secrets masked, for the state diff.',
          body: z.strictObject({ ids: z.array(z.string().max(100)).max(5000) }),
          response: answers,
        },
      },
      async (request) => ({ entities: await receiver.entitiesById(request.body.ids) }),
    );

    app.post(
      '/v1/sync/restore',
      {
        bodyLimit: SYNC_BODY_LIMIT,
        config: { permission: 'config:push', customers: 'every' },
        schema: {
          tags,
          operationId: 'syncRestore',
          summary: 'Peer: restore from production',
          description: 'The instance whose source this one is asks it to plan (dryRun) or carry out (confirm, fingerprint) its part of a pipeline restore from production.',
          body: z.strictObject({
            confirm: z.boolean(),
            dryRun: z.boolean(),
            fingerprint: z.string().max(2_000).optional(),
            productionId: z.string().min(1).max(100).optional(),
          }),
          response: { ...answers, ...problems(409, 502) },
        },
      },
      async (request) => services.sync.restore(writeContext(request), { scope: 'pipeline', ...request.body }),
    );
  };
