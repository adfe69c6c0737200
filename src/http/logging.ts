import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * Paths censored in every log line, whatever logged them: credentials in headers, and secret fields of anything logged
 * with a body (a client secret, a password, a token).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.client_secret',
  '*.clientSecret',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.secret',
];

/** Query parameters whose values are credentials or single-use codes (an identity provider's callback, say). */
const SECRET_QUERY = /^(code|state|token|access_token|id_token|refresh_token|client_secret|password|session_state)$/i;

/** The URL with the value of every secret query parameter censored. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of new Set(params.keys())) if (SECRET_QUERY.test(key)) params.set(key, '[redacted]');
  return `${url.slice(0, q)}?${params.toString()}`;
}

/** Request headers worth a log line; the credentials among them are censored by REDACTED_PATHS, so their presence shows. */
const LOGGED_HEADERS = ['host', 'user-agent', 'content-type', 'content-length', 'x-forwarded-for', 'authorization', 'cookie', 'x-csrf-token'];

const serializers = {
  req(request: FastifyRequest) {
    const headers: Record<string, unknown> = {};
    for (const name of LOGGED_HEADERS) if (request.headers[name] !== undefined) headers[name] = request.headers[name];
    return { method: request.method, url: loggableUrl(request.url), route: request.routeOptions?.url, remoteAddress: request.ip, headers };
  },
  res(reply: { statusCode: number }) {
    return { statusCode: reply.statusCode };
  },
};

/**
 * The server's logger: one JSON object a line (pino), each request's lines carrying its id (`reqId`, the
 * `X-Request-Id` answered), never a secret. `destination` receives the lines (standard output unless given).
 */
export function loggerOptions(level: LogLevel, destination?: { write(line: string): void }): FastifyServerOptions['logger'] {
  if (level === 'silent') return false;
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers,
    ...(destination ? { stream: destination } : {}),
  };
}
