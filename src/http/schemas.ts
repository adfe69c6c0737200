import { z } from 'zod';
import { settingsSchema } from '../shared/settings.js';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })).optional(),
  })
  .loose()
  .describe('RFC 9457 problem details');

export const problemResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  412: problemSchema,
  413: problemSchema,
  422: problemSchema,
  423: problemSchema,
  // Any route, when its caller has used up its rate (docs/api.md).
  429: problemSchema,
};

export const entityViewSchema = z.object({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  head: z.string().nullable().describe('The change that last wrote this entity; null if never tracked.'),
  version: z.string().describe('Content version; send it back in If-Match to refuse lost updates.'),
  createdAt: z.string(),
  updatedAt: z.string(),
  body: z.record(z.string(), z.unknown()).describe('Fields of the type; secrets show as { "set": true }.'),
});

export const writeOutcomeSchema = z.object({
  entity: entityViewSchema.nullable(),
  changeId: z.string().nullable().describe('The change recorded; null when the save changed nothing or is not tracked.'),
});

export const actorSchema = z.object({ kind: z.enum(['agent', 'application', 'sync', 'system']), id: z.string(), name: z.string() });

export const changeOpSchema = z.enum(['create', 'update', 'delete']);

export const changeListItemSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  origin: z.string(),
  originSeq: z.number().int(),
  type: z.string(),
  entityId: z.string(),
  entityName: z.string(),
  op: changeOpSchema,
  parent: z.string().nullable(),
  actor: actorSchema,
  at: z.string(),
  changeSet: z.string().nullable(),
  revertOf: z.string().nullable(),
  appliedFrom: z.string().nullable(),
});

const bodySchema = z.record(z.string(), z.unknown()).nullable();
const fieldDiffSchema = z.object({ path: z.string(), before: z.unknown(), after: z.unknown() });

export const changeDetailSchema = changeListItemSchema.extend({
  before: bodySchema,
  after: bodySchema,
  diff: z.array(fieldDiffSchema),
  secretsChanged: z.array(z.string()).describe('Secret fields set, changed or cleared by this change (values never shown).'),
  requires: z.array(z.string()),
  request: z
    .object({
      method: z.string(),
      path: z.string(),
      requestId: z.string(),
      remoteAddress: z.string().nullable(),
      userAgent: z.string().nullable(),
      clientApplication: z.string().nullable(),
    })
    .nullable(),
  received: z
    .object({
      actor: actorSchema,
      operation: z.enum(['push', 'pull', 'import', 'restore']),
      via: z.string().describe('The instance it came through, or the imported file’s checksum'),
      at: z.string().describe('When it arrived here'),
    })
    .nullable()
    .describe('Who brought the change here from another instance or a file (actor and at above are as made at its origin); null for a change made here'),
  digest: z.string().describe('Keyed content digest: hmac:<key id>:<HMAC-SHA256>'),
  hash: z.string().describe('Keyed chain link of this row'),
  rollbackScript: z.array(z.object({ op: changeOpSchema, type: z.string(), entityId: z.string(), body: bodySchema, fields: z.array(fieldDiffSchema) })),
  dependents: z.object({ items: z.array(changeListItemSchema), more: z.boolean() }),
});

const chainFailureSchema = z.object({
  seq: z.number().int().nullable(),
  changeId: z.string().nullable(),
  entity: z.object({ type: z.string(), id: z.string(), name: z.string() }).optional().describe('The entity whose stored state fails its head change'),
  reason: z.enum([
    'digest-mismatch',
    'hash-mismatch',
    'sequence-gap',
    'head-mismatch',
    'key-unknown',
    'legacy-seal-mismatch',
    'legacy-unsealed',
    'state-mismatch',
    'head-missing',
    'head-not-latest',
  ]),
  message: z.string(),
});

export const verifySchema = z.object({
  ok: z.boolean(),
  checked: z.number().int().describe('Rows of the log read'),
  headSeq: z.number().int(),
  failure: chainFailureSchema.nullable().describe('The first failure'),
  failures: z.array(chainFailureSchema).describe('Every failure, up to 100: rows in log order, then entities'),
  failureCount: z.number().int().describe('How many failures there are in all'),
  entities: z.object({
    checked: z.number().int().describe('Tracked entities compared with their head change'),
    untracked: z.number().int().describe('Entities whose current state was written while tracking was off'),
  }),
});

export const rollbackResultSchema = z.object({
  target: z.string(),
  dryRun: z.boolean(),
  reverted: z.array(
    z.object({
      changeId: z.string(),
      seq: z.number().int(),
      type: z.string(),
      entityId: z.string(),
      entityName: z.string(),
      op: changeOpSchema,
      revertOp: changeOpSchema,
      revertedBy: z.string().nullable(),
    }),
  ),
  entities: z.array(z.object({ type: z.string(), id: z.string(), name: z.string(), state: bodySchema })),
  counts: z.object({ changes: z.number().int(), entities: z.number().int(), written: z.number().int() }),
});

export const settingsResponseSchema = settingsSchema;

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
};
