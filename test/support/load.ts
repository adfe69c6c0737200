import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answered {
  status: number;
  body: string;
  /** How many times the connection was refused before this answer (the request never reached a server). */
  refused: number;
  /** How many times the connection was reset before any answer (see sendRetryingUnreached). */
  reset: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request on a connection of its own (no keep-alive): it either reaches the server whole or is refused. */
export function sendOnce(url: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    let answered = false;
    // A connection lost once the answer had begun reached the server: never to be taken for one that did not.
    const fail = (error: NodeJS.ErrnoException) => reject(answered ? Object.assign(new Error(`answer cut off: ${error.message}`), { code: 'ANSWER_CUT_OFF' }) : error);
    const req = httpRequest(
      `${url}${path}`,
      { method, agent: false, headers: { ...headers, connection: 'close', ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) } },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}

/**
 * Sends the request, and again, for up to `patienceMs`, while it cannot have reached a server: the connection was
 * refused (no server listens: one is stopping or starting), or reset before a byte of an answer came. A listener that
 * closes resets the connections still waiting in its accept queue, which no server has read; a server that read a
 * request and dropped it would show as the same reset, so the tests retrying these check that nothing was done twice.
 */
export async function sendRetryingUnreached(url: string, method: string, path: string, headers: Record<string, string>, body?: unknown, patienceMs = 60_000): Promise<Answered> {
  const deadline = Date.now() + patienceMs;
  for (let refused = 0, reset = 0; ; ) {
    try {
      return { ...(await sendOnce(url, method, path, headers, body)), refused, reset };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ECONNRESET') || Date.now() > deadline) throw error;
      if (code === 'ECONNREFUSED') refused += 1;
      else reset += 1;
      await sleep(50);
    }
  }
}

/** A webhook receiver: every delivery id it was sent, in order (`shiplog-delivery`), answering each after `delayMs`. */
export interface WebhookReceiver {
  url: string;
  deliveries: string[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(delayMs = 0): Promise<WebhookReceiver> {
  const deliveries: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        deliveries.push(String(req.headers['shiplog-delivery']));
        res.writeHead(204).end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Ids that occur more than once. */
export function repeated(ids: string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(ids.filter((id) => seen.has(id) || !seen.add(id)))];
}
