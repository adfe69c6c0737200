import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { DomainError } from '../shared/errors.js';
import { isPackedChange } from '../sync/export-document.js';
import type { StoredChange } from '../store/ports.js';
import type { ChangeStream, StreamedReceiveRequest } from '../sync/peer-client.js';
import { createPackRule, createUnpacker, headOf, UnpackError, type TransferChange } from '../sync/transfer.js';
import { parseJsonBody, utf8Text } from './plugins/json-body.js';

/**
 * A batch of changes streamed as NDJSON: a header line (the request without its changes, plus `count`, how many
 * follow), then one packed change per line, then a trailer line `{ "records": [...] }` describing the records the
 * changes name (made once the changes are read, so it comes last). The peer client sends pushes this way.
 */
export const BATCH_STREAM_TYPE = 'application/x-ndjson';

/** Largest batch an instance sends or takes in one request or answer. */
export const BATCH_BYTES_MAX = 512 * 1024 * 1024;

const NEWLINE = 0x0a;

const headerLine = (header: object, count: number) => `${JSON.stringify({ ...header, count })}\n`;

/**
 * A stored change on a line of its own: the bodies spliced in as the JSON texts they are stored
 * as (JSON.stringify's, so never holding a line break), `before` left out when `packed`, the rest as headOf has it.
 */
function storedLine(change: StoredChange, packed: boolean): string {
  const rest = JSON.stringify(headOf(change));
  const before = packed ? '' : `"before":${bodyText(change.beforeText)},`;
  return `{${before}"after":${bodyText(change.afterText)},${rest.slice(1)}\n`;
}

/** A stored body text as it goes on a line: as it is, unless it spans lines (then made again, on one). */
const bodyText = (text: string | null): string => (text === null ? 'null' : text.includes('\n') ? JSON.stringify(JSON.parse(text)) : text);

/**
 * A push's batch as BATCH_STREAM_TYPE, read as it is sent: its header (everything but the changes, with their count),
 * then each change packed on a line of its own; each page is read when the one before is on its way, and lands in
 * `sent`. A stream that brings other than the changes it announced ends in an error, so the receiver gets a batch
 * cut off, which it never applies.
 */
export function streamedBatchLines(request: StreamedReceiveRequest, sent: StoredChange[]): AsyncGenerator<string> {
  const { changes, ...header } = request;
  return storedLines(header, changes, sent);
}

/**
 * A streamed batch of stored changes under any header (a push's request, or what a sender chose for a pull), a piece
 * a page, packed by packBatch's rule on the stored texts.
 */
export async function* storedLines(header: object, changes: ChangeStream, sent: StoredChange[]): AsyncGenerator<string> {
  yield headerLine(header, changes.count);
  const given = createPackRule<string | null>((before, parentAfter) => before === parentAfter);
  for await (const page of changes.pages()) {
    sent.push(...page);
    if (sent.length > changes.count) break;
    let piece = '';
    for (const change of page) piece += storedLine(change, given(change, change.beforeText, change.afterText));
    yield piece;
  }
  if (sent.length !== changes.count) throw new Error(`the batch announced ${changes.count} changes and ${sent.length} could be read`);
  if (changes.records) yield `${JSON.stringify({ records: await changes.records() })}\n`;
}

/** A path inside the value at `base`. */
const within = (base: string, path: string): string => (!base || !path ? base + path : path.startsWith('[') ? base + path : `${base}.${path}`);

/** Whether a line after the announced changes is the trailer (see BATCH_STREAM_TYPE). */
const isTrailer = (value: unknown): value is { records: unknown } =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && Object.hasOwn(value, 'records');

function tooLarge(limit: number): DomainError {
  return new DomainError('PAYLOAD_TOO_LARGE', `A batch may hold at most ${limit} bytes.`, { limit });
}

function invalid(path: string, code: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', 'The request body is not valid.', { errors: [{ path, code, message }] });
}

/** What a reader does with each change as it arrives, unpacked: the receiver's checks, which remember their answers. */
export type ArrivalCheck = (change: TransferChange) => unknown;

/**
 * Reads a streamed batch as it arrives. Each change is parsed, unpacked and checked (`check`, which remembers its
 * answers: its digest, its shape) while the sender is still sending the rest, so the check of the whole batch finds
 * that work done. The result is the request a JSON body would have given, for the route's own validation: checking
 * stops at the first change that is not well formed, and validation then names it.
 */
export async function readBatchStream(stream: AsyncIterable<Buffer>, limit: number, maxDepth: number, check?: ArrivalCheck): Promise<Record<string, unknown>> {
  let header: Record<string, unknown> | undefined;
  let trailer: { records: unknown } | undefined;
  const changes: unknown[] = [];
  const unpack = createUnpacker();
  let checking = true;
  let bytes = 0;
  let partial: Buffer[] = [];

  const take = (line: Buffer): void => {
    let value: unknown;
    try {
      value = parseJsonBody(utf8Text(line), maxDepth);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const path = header === undefined ? '' : `changes[${changes.length}]`;
      // The line's own problems, placed in the batch: `changes[3].after.name`.
      throw new DomainError(error.code, error.message, { errors: (error.details.errors ?? []).map((e) => ({ ...e, path: within(path, e.path) })) });
    }
    if (header === undefined) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('', 'invalid-type', 'The first line must be the batch header, a JSON object.');
      header = value as Record<string, unknown>;
      return;
    }
    if (trailer === undefined && changes.length === header.count && isTrailer(value)) {
      trailer = value;
      return;
    }
    if (checking && isPackedChange(value)) {
      try {
        const change = unpack(value, changes.length);
        check?.(change);
      } catch (error) {
        if (!(error instanceof UnpackError)) throw error;
        checking = false;
      }
    } else checking = false;
    changes.push(value);
  };

  for await (const chunk of stream) {
    bytes += chunk.length;
    if (bytes > limit) throw tooLarge(limit);
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      if (partial.length > 0) {
        partial.push(chunk.subarray(0, end));
        take(Buffer.concat(partial));
        partial = [];
      } else if (end > start) take(chunk.subarray(start, end));
      start = end + 1;
    }
    if (start < chunk.length) partial.push(chunk.subarray(start));
  }
  if (partial.length > 0) take(Buffer.concat(partial));

  if (header === undefined) throw invalid('', 'required', 'The batch is empty: it has no header line.');
  const { count, ...request } = header;
  if (!Number.isSafeInteger(count) || (count as number) < 0) throw invalid('count', 'invalid-type', 'The header must say how many changes follow (count).');
  if (count !== changes.length) {
    throw invalid('changes', 'count-mismatch', `The header announced ${String(count)} changes and ${changes.length} came: the batch was cut off or added to.`);
  }
  if (checking) wellFormedBatches.add(changes);
  return { ...request, ...trailer, changes };
}

// Batches whose every change isPackedChange took as it arrived: the route's validation need not look at them again.
const wellFormedBatches = new WeakSet<unknown[]>();

/** Whether every change of the list is one isPackedChange takes, answered from the reading of a stream when it can be. */
export const allPackedChanges = (changes: unknown[]): boolean => wellFormedBatches.has(changes) || changes.every(isPackedChange);

/** Lets `routes` (and only them) take a streamed batch, of up to `limit` bytes, each change checked as it arrives. */
export function registerBatchStream(app: FastifyInstance, options: { limit: number; maxDepth: number; routes: string[]; check?: ArrivalCheck }): void {
  app.addContentTypeParser(BATCH_STREAM_TYPE, async (request: FastifyRequest, payload: IncomingMessage) => {
    if (!options.routes.includes(request.routeOptions.url ?? '')) {
      throw new DomainError('UNSUPPORTED_MEDIA_TYPE', `Only ${options.routes.join(', ')} take a body of type ${BATCH_STREAM_TYPE}.`);
    }
    return readBatchStream(payload, options.limit, options.maxDepth, options.check);
  });
}
