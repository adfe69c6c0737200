import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../shared/canonical-json.js';
import { DomainError } from '../shared/errors.js';
import { assertAcceptedJson, isAcceptedText, mayHoldRefusedField, refusedInputError, textProblem } from '../shared/refused-input.js';
import { recordDescriptionsSchema } from './record-descriptions.js';
import { MARK_PATTERN, type HistoryKeys } from '../tracking/history-keys.js';
import type { PackedChange, TransferChange } from './transfer.js';

export const EXPORT_FORMAT = 'shiplog.changes';
/** 2: keyed digests and a keyed checksum (ADR 12). 1, the format before, is still read: its checksum is a SHA-256. */
export const EXPORT_FORMAT_VERSION = 2;
const READ_VERSIONS: readonly number[] = [1, 2];
/** Largest document an import accepts (bytes of JSON). */
export const EXPORT_MAX_BYTES = 32 * 1024 * 1024;

const actorSchema = z.strictObject({ kind: z.enum(['agent', 'application', 'sync', 'system']), id: z.string(), name: z.string() });
const requestSchema = z
  .strictObject({
    method: z.string(),
    path: z.string(),
    requestId: z.string(),
    remoteAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    clientApplication: z.string().nullable(),
  })
  .nullable();
const bodySchema = z.record(z.string(), z.unknown()).nullable();

export const transferChangeSchema = z.strictObject({
  id: z.string().min(1).max(100),
  origin: z.string().min(1).max(100),
  originSeq: z.number().int().positive(),
  type: z.string().min(1).max(100),
  entityId: z.string().min(1).max(100),
  entityName: z.string().max(1000),
  op: z.enum(['create', 'update', 'delete']),
  before: bodySchema,
  after: bodySchema,
  parent: z.string().max(100).nullable(),
  requires: z.array(z.string().max(100)).max(10_000),
  actor: actorSchema,
  at: z.number().int().nonnegative(),
  request: requestSchema,
  changeSet: z.string().max(100).nullable(),
  revertOf: z.string().max(100).nullable(),
  digest: z.string().regex(MARK_PATTERN),
});

/** A change as a batch carries it between instances: `before` may be left out (see packBatch). */
export const packedChangeSchema = transferChangeSchema.extend({ before: bodySchema.optional() });

const isString = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const isNullableString = (v: unknown, max: number) => v === null || isString(v, 0, max);
const isBody = (v: unknown) => {
  if (v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  // The schema's record leaves out an own "__proto__" member.
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(v, '__proto__');
};
const hasExactly = (v: unknown, keys: number): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === keys;
const ACTOR_KINDS = new Set(['agent', 'application', 'sync', 'system']);
const OPS = new Set(['create', 'update', 'delete']);

/**
 * Whether `transferChangeSchema` accepts the value as it is (its output would equal it), checked by hand: batches of
 * thousands of changes skip zod's walk. False means only "let the schema decide", so it may be stricter than the schema.
 */
export function isTransferChange(v: unknown): v is TransferChange {
  return isChange(v, false);
}

/** `isTransferChange` for `packedChangeSchema`: `before` may be left out. */
export function isPackedChange(v: unknown): v is PackedChange {
  return isChange(v, true);
}

function isChange(v: unknown, beforeOptional: boolean): boolean {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const change = v as Record<string, unknown>;
  const hasBefore = Object.hasOwn(change, 'before');
  if ((!hasBefore && !beforeOptional) || Object.keys(change).length !== (hasBefore ? 17 : 16)) return false;
  const { actor, request } = change;
  return (
    isString(change.id, 1, 100) &&
    isString(change.origin, 1, 100) &&
    Number.isSafeInteger(change.originSeq) &&
    (change.originSeq as number) > 0 &&
    isString(change.type, 1, 100) &&
    isString(change.entityId, 1, 100) &&
    isString(change.entityName, 0, 1000) &&
    OPS.has(change.op as string) &&
    (!hasBefore || isBody(change.before)) &&
    isBody(change.after) &&
    isNullableString(change.parent, 100) &&
    Array.isArray(change.requires) &&
    change.requires.length <= 10_000 &&
    (change.requires as unknown[]).every((id) => isString(id, 0, 100)) &&
    hasExactly(actor, 3) &&
    ACTOR_KINDS.has(actor.kind as string) &&
    typeof actor.id === 'string' &&
    typeof actor.name === 'string' &&
    Number.isSafeInteger(change.at) &&
    (change.at as number) >= 0 &&
    (request === null ||
      (hasExactly(request, 6) &&
        typeof request.method === 'string' &&
        typeof request.path === 'string' &&
        typeof request.requestId === 'string' &&
        isNullableString(request.remoteAddress, Infinity) &&
        isNullableString(request.userAgent, Infinity) &&
        isNullableString(request.clientApplication, Infinity))) &&
    isNullableString(change.changeSet, 100) &&
    isNullableString(change.revertOf, 100) &&
    typeof change.digest === 'string' &&
    MARK_PATTERN.test(change.digest)
  );
}

const instanceSchema = z.strictObject({ instanceId: z.string(), name: z.string(), kind: z.string(), version: z.string() });

const documentSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.number().int(),
  exportedAt: z.string(),
  from: instanceSchema,
  selection: z.record(z.string(), z.unknown()),
  /** Changes the exported ones depend on that the document does not carry: the importer must have them. */
  dependencies: z.array(z.string()),
  changes: z.array(transferChangeSchema),
  /** The exporter's descriptions of the records (customers, users, agents) the changes name by id. */
  records: recordDescriptionsSchema.optional(),
  checksum: z.string().regex(/^(?:sha256:[0-9a-f]{64}|hmac:[0-9a-f]{12}:[0-9a-f]{64})$/),
});

export type ExportDocument = z.infer<typeof documentSchema>;

/** The checksum of format 1: a SHA-256 anyone can recompute, kept to read documents made before. */
export function legacyChecksumOf(document: Omit<ExportDocument, 'checksum'>): string {
  return `sha256:${sha256Hex(canonicalJson(document))}`;
}

/** A document of the current format: its checksum is a mark under the pipeline's key, so no edit of it can be re-sealed. */
export function buildDocument(content: Omit<ExportDocument, 'checksum' | 'format' | 'formatVersion'>, keys: HistoryKeys): ExportDocument {
  const unsigned = { format: EXPORT_FORMAT, formatVersion: EXPORT_FORMAT_VERSION, ...content } as Omit<ExportDocument, 'checksum'>;
  return { ...unsigned, checksum: keys.document.sign(canonicalJson(unsigned)) };
}

function invalid(code: string, message: string, path = ''): DomainError {
  return new DomainError('IMPORT_INVALID', message, { errors: [{ path, code, message }] });
}

/**
 * Parses and checks an export document (object or pasted text): format, version, shape and checksum (keyed for format
 * 2; format 1's SHA-256 only shows that the file is whole, and its changes' unkeyed digests are judged change by change).
 */
export function parseDocument(input: unknown, keys: HistoryKeys): ExportDocument & { changes: TransferChange[] } {
  let value = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const text = input.toString();
    if (Buffer.byteLength(text) > EXPORT_MAX_BYTES) throw new DomainError('PAYLOAD_TOO_LARGE', `An export document may hold at most ${EXPORT_MAX_BYTES} bytes.`);
    if (!isAcceptedText(text)) throw refusedInputError('body', textProblem('', text));
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      throw invalid('malformed', 'The document is not valid JSON: it is malformed or truncated.');
    }
    // A document given as JSON was checked by the body parser; pasted text and files are checked here, as strictly.
    if (mayHoldRefusedField(text)) assertAcceptedJson(value);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('not-a-document', 'The document must be a JSON object.');
  const record = value as Record<string, unknown>;
  if (record.format !== EXPORT_FORMAT) throw invalid('wrong-format', `This is not a Shiplog change export (format "${EXPORT_FORMAT}").`, 'format');
  if (!READ_VERSIONS.includes(record.formatVersion as number)) {
    throw invalid('unsupported-version', `Export format version ${String(record.formatVersion)} is not supported; this instance reads versions ${READ_VERSIONS.join(' and ')}.`, 'formatVersion');
  }
  const parsed = documentSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DomainError('IMPORT_INVALID', 'The document does not have the shape of a change export.', {
      errors: parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), code: i.code, message: i.message })),
      first: issue.path.join('.'),
    });
  }
  const { checksum, ...unsigned } = parsed.data;
  const check = unsigned.formatVersion === 1 ? (legacyChecksumOf(unsigned) === checksum ? 'ok' : 'mismatch') : keys.document.check(checksum, canonicalJson(unsigned));
  if (check === 'key-unknown') {
    throw invalid('key-unknown', 'The document was exported by an instance whose key this instance does not have: instances of a pipeline share one key.', 'checksum');
  }
  if (check !== 'ok') throw invalid('checksum-mismatch', 'The document does not match its checksum: it was altered or truncated after export.', 'checksum');
  return parsed.data as ExportDocument & { changes: TransferChange[] };
}
