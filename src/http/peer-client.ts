import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DomainError } from '../shared/errors.js';
import type { OutgoingTransfer, PeerAddress, PeerConnection, PeerConnector, ReceiveResult } from '../sync/peer-client.js';
import type { StoredChange } from '../store/ports.js';
import { unpackBatch, unpackOutcome, type PackedChange, type PackedOutcome, type PlannedChange } from '../sync/transfer.js';
import { BATCH_BYTES_MAX, BATCH_STREAM_TYPE, readBatchStream, streamedBatchLines, type ArrivalCheck } from './batch-stream.js';
import { MAX_BATCH_JSON_DEPTH } from './plugins/json-body.js';

/** How long a peer may take to answer: calls that move whole batches get longer. */
export interface PeerTimeouts {
  call: number;
  batch: number;
}

const defaultTimeouts: PeerTimeouts = { call: 15_000, batch: 10 * 60_000 };
// Renew a token this long before it expires, so that a long batch never starts on a dying token.
const TOKEN_MARGIN_MS = 60_000;

interface Problem {
  code?: string;
  detail?: string;
  title?: string;
}

/** An answer: its status and its body's text, read whole, or what a streamed answer was read into (`streamed`). */
interface Answer {
  status: number;
  text: string;
  streamed?: unknown;
}

/** Reads a streamed answer (BATCH_STREAM_TYPE) as it arrives. */
type StreamReader = (response: IncomingMessage) => Promise<unknown>;

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** A request body: one text, or pieces of text made as the request goes (sent chunked, as the peer reads them). */
type Body = string | (() => Iterable<string> | AsyncIterable<string>);

/**
 * One HTTP exchange with node:http: the body goes out as one buffer, or piece by piece as the socket takes it, and the
 * answer is read whole. A batch is megabytes of JSON; fetch copied it through web streams twice on the way out.
 * Rejects with the reason on a network failure, or when the whole exchange outlasts `timeout`.
 */
function exchange(url: URL, method: string, headers: Record<string, string>, body: Body | undefined, timeout: number, reader?: StreamReader): Promise<Answer> {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : undefined;
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method,
        agent: secure ? agents.https : agents.http,
        headers: { ...headers, ...(payload ? { 'content-length': String(payload.length) } : {}) },
      },
      (response) => {
        if (reader && response.statusCode === 200 && response.headers['content-type']?.split(';')[0] === BATCH_STREAM_TYPE) {
          // Read as it arrives; an answer cut off fails the read (the stream errs, or brings fewer lines than announced).
          reader(response).then(
            (streamed) => {
              clearTimeout(timer);
              resolve({ status: 200, text: '', streamed });
            },
            (error: unknown) => {
              clearTimeout(timer);
              response.destroy();
              reject(failure ?? error);
            },
          );
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        // An answer cut off (the peer went away, or the time ran out) ends without 'end'.
        response.once('close', () => {
          clearTimeout(timer);
          if (!response.complete) reject(failure ?? new Error('the answer was cut off'));
        });
      },
    );
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      failure = new Error(`no answer within ${timeout} ms`);
      request.destroy(failure);
    }, timeout);
    // 'on', not 'once': a request whose body is still being written may fail more than once as it is torn down.
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(failure ?? error);
    });
    if (typeof body === 'function') void writePieces(request, body());
    else request.end(payload);
  });
}

/** Reads a streamed batch as it arrives (see readBatchStream); a batch that cannot be read fails the exchange. */
const streamedBatchReader = (check?: ArrivalCheck): StreamReader => async (response) => {
  try {
    return await readBatchStream(response, BATCH_BYTES_MAX, MAX_BATCH_JSON_DEPTH, check);
  } catch (error) {
    const detail = error instanceof DomainError ? ((error.details.errors as { message: string }[] | undefined)?.[0]?.message ?? error.message) : (error as Error).message;
    throw new Error(`the batch it sent could not be read (${detail})`);
  }
};

/** A body sent as it is made, of the given content type. */
class Streamed {
  constructor(
    readonly contentType: string,
    readonly pieces: () => Iterable<string> | AsyncIterable<string>,
  ) {}
}

/** Resolves when the request can take more, or is closed; leaves no listener behind either way. */
function drained(request: ClientRequest): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      request.off('drain', finish);
      request.off('close', finish);
      done();
    };
    request.on('drain', finish);
    request.on('close', finish);
  });
}

/** Writes the pieces as the socket takes them, each made only once the one before is on its way; then ends the body. */
async function writePieces(request: ClientRequest, pieces: Iterable<string> | AsyncIterable<string>): Promise<void> {
  try {
    for await (const piece of pieces) {
      if (request.destroyed) return;
      if (!request.write(piece)) await drained(request);
    }
    request.end();
  } catch (error) {
    // A piece that cannot be made ends the exchange: the peer gets a cut-off body, which it never applies.
    request.destroy(error as Error);
  }
}

function problemOf(answer: Answer): Problem {
  try {
    return JSON.parse(answer.text) as Problem;
  } catch {
    return {};
  }
}

/** The sync protocol over HTTP: OAuth client credentials against the peer's token endpoint, then `/v1/sync/*`. */
/** `check`: what this instance checks of each change a peer streams to it, as it arrives (see readBatchStream). */
export function createHttpPeerConnector(options: { timeouts?: Partial<PeerTimeouts>; check?: ArrivalCheck } = {}): PeerConnector {
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const readStreamedBatch = streamedBatchReader(options.check);
  const tokens = new Map<string, { token: string; expiresAt: number }>();

  return {
    connect(peer: PeerAddress): PeerConnection {
      const base = peer.url.replace(/\/+$/, '');
      const cacheKey = `${base}\u0000${peer.clientId}\u0000${peer.clientSecret}`;

      async function exchangeOrThrow(path: string, method: string, headers: Record<string, string>, body: Body | undefined, timeout: number, reader?: StreamReader): Promise<Answer> {
        try {
          return await exchange(new URL(`${base}${path}`), method, headers, body, timeout, reader);
        } catch (error) {
          throw new DomainError('PEER_UNREACHABLE', `The instance at ${base} cannot be reached: ${(error as Error).message}.`, { url: base });
        }
      }

      async function token(renew: boolean): Promise<string> {
        const cached = tokens.get(cacheKey);
        if (!renew && cached && cached.expiresAt - TOKEN_MARGIN_MS > Date.now()) return cached.token;
        const answer = await exchangeOrThrow(
          '/auth/token',
          'POST',
          {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(peer.clientId)}:${encodeURIComponent(peer.clientSecret)}`).toString('base64')}`,
          },
          'grant_type=client_credentials',
          timeouts.call,
        );
        if (answer.status < 200 || answer.status > 299) {
          const refusal = problemOf(answer) as { error?: string };
          throw new DomainError('PEER_REFUSED', `The instance at ${base} refused this instance's credentials (${refusal.error ?? answer.status}).`, {
            url: base,
            status: answer.status,
            error: refusal.error ?? null,
          });
        }
        const body = JSON.parse(answer.text) as { access_token: string; expires_in: number };
        tokens.set(cacheKey, { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 });
        return body.access_token;
      }

      /** One call; with a `reader`, the peer may answer streamed (BATCH_STREAM_TYPE), and the answer is what it reads. */
      async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeout = timeouts.call, reader?: StreamReader): Promise<T> {
        for (let attempt = 0; ; attempt += 1) {
          const bearer = await token(attempt > 0);
          const streamed = body instanceof Streamed;
          const contentType: Record<string, string> = body === undefined ? {} : { 'content-type': streamed ? body.contentType : 'application/json' };
          const answer = await exchangeOrThrow(
            path,
            method,
            { authorization: `Bearer ${bearer}`, accept: reader ? `${BATCH_STREAM_TYPE}, application/json` : 'application/json', ...contentType },
            body === undefined ? undefined : streamed ? body.pieces : JSON.stringify(body),
            timeout,
            reader,
          );
          if (answer.status === 401 && attempt === 0) continue;
          if (answer.streamed !== undefined) return answer.streamed as T;
          if (answer.status === 204) return undefined as T;
          if (answer.status >= 200 && answer.status <= 299) return JSON.parse(answer.text) as T;
          const problem = problemOf(answer);
          if (answer.status === 403) {
            throw new DomainError('FORBIDDEN', `The instance at ${base} refused: ${problem.detail ?? 'its API application lacks the permission'}.`, { url: base, peerCode: problem.code ?? null });
          }
          throw new DomainError('PEER_REFUSED', `The instance at ${base} answered ${answer.status}: ${problem.detail ?? problem.title ?? 'an error'}.`, {
            url: base,
            status: answer.status,
            peerCode: problem.code ?? null,
            peerProblem: problem,
          });
        }
      }

      /** The receiver's answer to the batch, its planned changes made again from what was sent (see packOutcome). */
      function answered(batch: readonly Omit<PlannedChange, 'action'>[], answer: PackedOutcome<ReceiveResult>): ReceiveResult {
        try {
          return unpackOutcome(batch, answer);
        } catch (error) {
          throw new DomainError('PEER_REFUSED', `The instance at ${base} answered a batch it was sent wrongly: ${(error as Error).message}.`, { url: base });
        }
      }

      function unpacked<T extends PackedChange>(changes: T[]) {
        try {
          return unpackBatch(changes);
        } catch (error) {
          throw new DomainError('PEER_REFUSED', `The instance at ${base} sent a batch that cannot be read: ${(error as Error).message}`, { url: base });
        }
      }

      const query = (params: Record<string, string | number | null>) =>
        new URLSearchParams(Object.entries(params).flatMap(([k, v]): [string, string][] => (v === null ? [] : [[k, String(v)]]))).toString();

      return {
        hello: () => call('GET', '/v1/sync/hello'),
        exchange: (request) => call('POST', '/v1/sync/exchange', request),
        members: async (spans) => (await call<{ keys: never }>('POST', '/v1/sync/members', { spans })).keys,
        keysAfter: (afterSeq) => call('POST', '/v1/sync/keys-after', { afterSeq }),
        // Batches travel packed (see packBatch): without the befores their parents give, and answered with one letter a change.
        outgoing: async (lacking, selection) => {
          type Packed = Omit<OutgoingTransfer, 'changes'> & { changes: (PackedChange & { seq: number })[]; seqs?: number[] };
          const out = await call<Packed>('POST', '/v1/sync/outgoing', { lacking, selection }, timeouts.batch, readStreamedBatch);
          if (!out.seqs) return { ...out, changes: unpacked(out.changes) };
          // Streamed: each change was parsed, unpacked and checked against its digest as it arrived; the header has the seqs.
          const { seqs, ...rest } = out;
          if (seqs.length !== out.changes.length) throw new DomainError('PEER_REFUSED', `The instance at ${base} sent ${out.changes.length} changes and ${seqs.length} places.`, { url: base });
          return { ...rest, changes: unpacked(out.changes).map((change, i) => Object.assign(change, { seq: seqs[i]! })) };
        },
        receiveStreamed: async (request) => {
          let sent: StoredChange[] = [];
          const body = new Streamed(BATCH_STREAM_TYPE, () => streamedBatchLines(request, (sent = [])));
          const answer = await call<PackedOutcome<ReceiveResult>>('POST', '/v1/sync/receive', body, timeouts.batch);
          return { ...answered(sent, answer), sent };
        },
        registerDownstream: async (me) => {
          await call('POST', '/v1/sync/downstream', me);
        },
        unregisterDownstream: async (instanceId) => {
          await call('DELETE', `/v1/sync/downstream/${encodeURIComponent(instanceId)}`);
        },
        log: async (afterSeq, limit) => (await call<{ changes: never }>('GET', `/v1/sync/log?${query({ afterSeq, limit })}`, undefined, timeouts.batch)).changes,
        entities: async (type, afterId, limit) =>
          (await call<{ entities: never }>('GET', `/v1/sync/entities?${query({ type, afterId, limit })}`, undefined, timeouts.batch)).entities,
        records: async (kind, afterId, limit) =>
          (await call<{ records: never }>('GET', `/v1/sync/records?${query({ kind, afterId, limit })}`, undefined, timeouts.batch)).records,
        recordLinks: async (kind, afterId, limit) =>
          (await call<{ links: never }>('GET', `/v1/sync/record-links?${query({ kind, afterId, limit })}`, undefined, timeouts.batch)).links,
        stateDigests: async () => (await call<{ types: never }>('POST', '/v1/sync/state', {})).types,
        stateEntities: async (types) => (await call<{ entities: never }>('POST', '/v1/sync/state', { types })).entities,
        entitiesById: async (ids) => (await call<{ entities: never }>('POST', '/v1/sync/entities-by-id', { ids })).entities,
        restore: (request) => call('POST', '/v1/sync/restore', request, timeouts.batch),
      };
    },
  };
}
