import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoadBalancer {
  url: string;
  /** Requests passed to each backend, by its URL. */
  sent: Map<string, number>;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function forwarded(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}

/**
 * A round-robin HTTP load balancer over `backends`, as HAProxy or nginx would be deployed in front of several
 * `shiplog serve` processes. A backend that refuses the connection (stopped, starting) is skipped for the next; any
 * other failure answers 502, since the request may have reached it.
 */
export async function startLoadBalancer(backends: string[]): Promise<LoadBalancer> {
  const sent = new Map(backends.map((b) => [b, 0]));
  let next = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const first = next;
      next = (next + 1) % backends.length;
      const attempt = (tried: number) => {
        const backend = backends[(first + tried) % backends.length]!;
        const upstream = httpRequest(`${backend}${req.url ?? '/'}`, { method: req.method, agent: false, headers: { ...forwarded(req.headers), 'content-length': String(body.length) } }, (answer) => {
          sent.set(backend, (sent.get(backend) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, forwarded(answer.headers));
          answer.pipe(res);
        });
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED' && tried + 1 < backends.length) return attempt(tried + 1);
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`backend ${backend}: ${error.message}\n`);
          else res.destroy();
        });
        upstream.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
