import { DomainError } from '../shared/errors.js';
import type { PeerAddress, PeerConnection, PeerConnector } from '../sync/peer-client.js';

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

async function problemOf(response: Response): Promise<Problem> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return {};
  }
}

/** The sync protocol over HTTP: OAuth client credentials against the peer's token endpoint, then `/v1/sync/*`. */
export function createHttpPeerConnector(options: { timeouts?: Partial<PeerTimeouts> } = {}): PeerConnector {
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const tokens = new Map<string, { token: string; expiresAt: number }>();

  return {
    connect(peer: PeerAddress): PeerConnection {
      const base = peer.url.replace(/\/+$/, '');
      const cacheKey = `${base}\u0000${peer.clientId}\u0000${peer.clientSecret}`;

      async function fetchOrThrow(url: string, init: RequestInit, timeout: number): Promise<Response> {
        try {
          return await fetch(url, { ...init, signal: AbortSignal.timeout(timeout) });
        } catch (error) {
          const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeout} ms` : ((error as { cause?: Error }).cause?.message ?? (error as Error).message);
          throw new DomainError('PEER_UNREACHABLE', `The instance at ${base} cannot be reached: ${reason}.`, { url: base });
        }
      }

      async function token(renew: boolean): Promise<string> {
        const cached = tokens.get(cacheKey);
        if (!renew && cached && cached.expiresAt - TOKEN_MARGIN_MS > Date.now()) return cached.token;
        const response = await fetchOrThrow(
          `${base}/auth/token`,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`${encodeURIComponent(peer.clientId)}:${encodeURIComponent(peer.clientSecret)}`).toString('base64')}`,
            },
            body: 'grant_type=client_credentials',
          },
          timeouts.call,
        );
        if (!response.ok) {
          const body = (await response.json().catch(() => ({}))) as { error?: string; error_description?: string };
          throw new DomainError('PEER_REFUSED', `The instance at ${base} refused this instance's credentials (${body.error ?? response.status}).`, {
            url: base,
            status: response.status,
            error: body.error ?? null,
          });
        }
        const body = (await response.json()) as { access_token: string; expires_in: number };
        tokens.set(cacheKey, { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 });
        return body.access_token;
      }

      async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, timeout = timeouts.call): Promise<T> {
        for (let attempt = 0; ; attempt += 1) {
          const bearer = await token(attempt > 0);
          const response = await fetchOrThrow(
            `${base}${path}`,
            {
              method,
              headers: { authorization: `Bearer ${bearer}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            },
            timeout,
          );
          if (response.status === 401 && attempt === 0) continue;
          if (response.status === 204) return undefined as T;
          if (response.ok) return (await response.json()) as T;
          const problem = await problemOf(response);
          if (response.status === 403) {
            throw new DomainError('FORBIDDEN', `The instance at ${base} refused: ${problem.detail ?? 'its API application lacks the permission'}.`, { url: base, peerCode: problem.code ?? null });
          }
          throw new DomainError('PEER_REFUSED', `The instance at ${base} answered ${response.status}: ${problem.detail ?? problem.title ?? 'an error'}.`, {
            url: base,
            status: response.status,
            peerCode: problem.code ?? null,
            peerProblem: problem,
          });
        }
      }

      const query = (params: Record<string, string | number | null>) =>
        new URLSearchParams(Object.entries(params).flatMap(([k, v]): [string, string][] => (v === null ? [] : [[k, String(v)]]))).toString();

      return {
        hello: () => call('GET', '/v1/sync/hello'),
        exchange: (request) => call('POST', '/v1/sync/exchange', request),
        members: async (spans) => (await call<{ keys: never }>('POST', '/v1/sync/members', { spans })).keys,
        keysAfter: (afterSeq) => call('POST', '/v1/sync/keys-after', { afterSeq }),
        outgoing: (lacking, selection) => call('POST', '/v1/sync/outgoing', { lacking, selection }, timeouts.batch),
        receive: (request) => call('POST', '/v1/sync/receive', request, timeouts.batch),
        registerDownstream: async (me) => {
          await call('POST', '/v1/sync/downstream', me);
        },
        unregisterDownstream: async (instanceId) => {
          await call('DELETE', `/v1/sync/downstream/${encodeURIComponent(instanceId)}`);
        },
        log: async (afterSeq, limit) => (await call<{ changes: never }>('GET', `/v1/sync/log?${query({ afterSeq, limit })}`, undefined, timeouts.batch)).changes,
        entities: async (type, afterId, limit) =>
          (await call<{ entities: never }>('GET', `/v1/sync/entities?${query({ type, afterId, limit })}`, undefined, timeouts.batch)).entities,
        stateDigests: async () => (await call<{ types: never }>('POST', '/v1/sync/state', {})).types,
        stateEntities: async (types) => (await call<{ entities: never }>('POST', '/v1/sync/state', { types })).entities,
        entitiesById: async (ids) => (await call<{ entities: never }>('POST', '/v1/sync/entities-by-id', { ids })).entities,
        restore: (request) => call('POST', '/v1/sync/restore', request, timeouts.batch),
      };
    },
  };
}
