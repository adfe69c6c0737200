import { z } from 'zod';
import { errorCodes, type ErrorCode } from '../shared/errors.js';
import { settingsPatchSchema, settingsSchema } from '../shared/settings.js';

// Schemas given an `id` are the API document's named components (components.schemas), referenced with $ref.

export const fieldProblemSchema = z
  .object({
    path: z.string().describe('The field at fault: a dotted path into the body (`changes[3].before`), a parameter or a header name; empty for the whole body.'),
    code: z.string().describe('Why, as a stable kebab-case code (`unknown-field`, `too-big`, `invalid-format`, …).'),
    message: z.string(),
    in: z.enum(['body', 'querystring', 'params', 'headers']).optional().describe('Which part of the request holds the field.'),
  })
  .meta({ id: 'FieldProblem', description: 'One field at fault.' });

export const problemSchema = z
  .object({
    type: z.string().describe('urn:shiplog:problem:<code in kebab case>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What went wrong, in words.'),
    code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]).describe('Stable error code: what a client branches on.'),
    instance: z.string().optional().describe('The request path.'),
    requestId: z.string().optional().describe('Also sent as the X-Request-Id header.'),
    errors: z.array(fieldProblemSchema).optional().describe('Every field at fault, when the input was refused.'),
  })
  .loose()
  .meta({
    id: 'Problem',
    description:
      'RFC 9457 problem details, sent as application/problem+json. Further members depend on the code: `retryAfterSeconds` and `limit` (RATE_LIMITED, TOO_MANY_ATTEMPTS), `permission` (FORBIDDEN), `problems` and `plan` (a refused sync), `entityType` and `id`.',
  });

/** Problem responses a route's handler can answer beyond those every route gets (openapi.ts derives 400, 401, 403, 413, 415, 429, and 412 with If-Match). */
export function problems<S extends 404 | 409 | 412 | 413 | 422 | 423 | 429 | 401 | 403 | 502 | 503>(...statuses: S[]): Record<S, typeof problemSchema> {
  return Object.fromEntries(statuses.map((status) => [status, problemSchema])) as Record<S, typeof problemSchema>;
}

export const entityViewSchema = z.object({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  head: z.string().nullable().describe('The change that last wrote this entity; null if never tracked.'),
  version: z.string().describe('Content version; send it back in If-Match to refuse lost updates.'),
  createdAt: z.string(),
  updatedAt: z.string(),
  body: z.record(z.string(), z.unknown()).describe('Fields of the type; secrets show as { "set": true }.'),
}).meta({ id: 'Entity', description: 'A configuration entity or record as stored here (secrets masked).' });

export const writeOutcomeSchema = z.object({
  entity: entityViewSchema.nullable(),
  changeId: z.string().nullable().describe('The change recorded; null when the save changed nothing or is not tracked.'),
}).meta({ id: 'WriteOutcome', description: 'The entity after a write (null after a delete) and the change it recorded.' });

export const actorSchema = z
  .object({ kind: z.enum(['agent', 'application', 'sync', 'system']), id: z.string(), name: z.string() })
  .meta({ id: 'Actor', description: 'Who made a change or an event.' });

export const changeOpSchema = z.enum(['create', 'update', 'delete']).meta({ id: 'ChangeOp' });

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
}).meta({ id: 'Change', description: 'One tracked change, as the change list shows it.' });

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
}).meta({ id: 'ChangeDetail', description: 'One change with its snapshots (secrets masked), diff, rollback script, requirements and dependents.' });

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
}).meta({ id: 'ChainFailure' });

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
}).meta({ id: 'VerifyResult' });

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
}).meta({ id: 'RollbackResult', description: 'What rolling back before a change reverts (or reverted), newest first, and the resulting state per entity.' });

export const settingsResponseSchema = settingsSchema.meta({ id: 'Settings', description: 'Instance-local settings: never tracked, never synced.' });
export const settingsPatchBody = settingsPatchSchema.meta({ id: 'SettingsPatch', description: 'The settings to change; unknown settings are refused.' });

/** A page of a list, newest first unless said otherwise; `nextCursor` fetches the next one. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last.') });

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
};
