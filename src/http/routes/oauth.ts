import { isUtf8 } from 'node:buffer';
import type { FastifyError, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { oauthErrors, type TokenRequest } from '../../access/token-service.js';
import type { Services } from '../../services.js';
import { DomainError, errorCodes, isDomainError } from '../../shared/errors.js';
import { PROTOTYPE_KEYS } from '../../shared/refused-input.js';
import { requestOrigin } from '../plugins/auth.js';

/** Largest token request body accepted. */
const TOKEN_BODY_LIMIT = 16 * 1024;
const FORM = 'application/x-www-form-urlencoded';

const tokenForm = z.object({
  grant_type: z.literal('client_credentials'),
  scope: z.string().optional().describe('Space-separated permissions, each one the application has; absent means all of them.'),
  client_id: z.string().optional().describe('With client_secret, when not using HTTP Basic (client_secret_post).'),
  client_secret: z.string().optional().describe('Never together with HTTP Basic.'),
});

const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the token expires.'),
  scope: z.string().describe('The permissions granted, space-separated; each request gets them intersected with the application’s and its agent’s current ones.'),
}).meta({ id: 'TokenResponse' });

const oauthError = z
  .object({ error: z.string(), error_description: z.string().optional() })
  .meta({ id: 'OAuthError', description: 'RFC 6749 §5.2: invalid_request, invalid_client, unauthorized_client, unsupported_grant_type, invalid_scope; slow_down with 429.' });

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** HTTP Basic client credentials, each form-urlencoded first as RFC 6749 §2.3.1 requires. */
export function basicCredentials(header: string | undefined): TokenRequest['basic'] {
  if (header === undefined) return null;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match?.[1]) return 'unusable';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'unusable';
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return 'unusable';
  }
}

/**
 * A form body decoded strictly: bytes that are not UTF-8, an escape that is not percent-encoded UTF-8, or a prototype
 * key as a name is an invalid_request, never replaced or dropped silently.
 */
export function parseForm(bytes: Buffer): URLSearchParams {
  const invalid = (description: string) => new DomainError('OAUTH_INVALID_REQUEST', description);
  if (!isUtf8(bytes)) throw invalid('The body is not UTF-8.');
  const form = new URLSearchParams();
  for (const pair of bytes.toString('utf8').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = formDecode(equals < 0 ? pair : pair.slice(0, equals));
      value = equals < 0 ? '' : formDecode(pair.slice(equals + 1));
    } catch {
      throw invalid('A parameter is not percent-encoded UTF-8.');
    }
    if (PROTOTYPE_KEYS.has(name)) throw invalid(`Unknown parameter "${name}".`);
    form.append(name, value);
  }
  return form;
}

function groupParams(form: URLSearchParams): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const [name, value] of form) params.set(name, [...(params.get(name) ?? []), value]);
  return params;
}

const byStatus: Record<number, string> = { 400: 'invalid_request', 429: 'slow_down' };

function noStore(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/** `POST /auth/token`: the OAuth 2 client credentials grant. It speaks OAuth errors, not problem documents. */
export const oauthRoutes =
  (services: Services): FastifyPluginAsyncZod =>
  async (app) => {
    // Only form bodies here (this plugin's scope): anything else is an OAuth invalid_request.
    app.removeAllContentTypeParsers();
    // Fastify answers a parser that throws with the error it threw.
    app.addContentTypeParser(FORM, { parseAs: 'buffer' }, (_request, body, done) => done(null, parseForm(body as Buffer)));

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const domain = isDomainError(error);
      const code = domain ? error.code : error.code?.startsWith('FST_ERR_CTP_') ? 'OAUTH_INVALID_REQUEST' : undefined;
      // Refusals made before the token service looks (a query or header refused, too many requests) speak OAuth too.
      const oauth = code ? (oauthErrors[code] ?? byStatus[errorCodes[code]]) : undefined;
      // Anything else (a failed CSRF check, an internal error) goes to the app's problem handler.
      if (!code || !oauth) throw error;
      noStore(reply);
      const status = errorCodes[code];
      if (status === 401 && request.headers.authorization !== undefined) void reply.header('www-authenticate', 'Basic realm="shiplog"');
      const retryAfter = domain ? error.details.retryAfterSeconds : undefined;
      if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
      const description = domain ? error.message : `Send the parameters as ${FORM}, at most ${TOKEN_BODY_LIMIT} bytes.`;
      void reply.status(status).send({ error: oauth, error_description: description });
    });

    app.post(
      '/auth/token',
      {
        config: { permission: 'public', errorFormat: 'oauth' },
        bodyLimit: TOKEN_BODY_LIMIT,
        // The form is checked by the token service, which answers in OAuth terms; the schema is for the OpenAPI document.
        validatorCompiler: () => (value) => ({ value }),
        schema: {
          tags: ['oauth'],
          operationId: 'issueToken',
          summary: 'Issue an access token',

          description:
            'The OAuth 2 client credentials grant (RFC 6749 §4.4). Authenticate with HTTP Basic (client_secret_basic, id and secret form-urlencoded first) or client_id and client_secret in the body (client_secret_post), not both. ' +
            'Tokens last 15 minutes; there is no refresh token. Repeated failures for one client id from one address get 429 slow_down with Retry-After.',
          consumes: [FORM],
          security: [],
          body: tokenForm,
          response: {
            200: tokenResponse,
            400: oauthError.describe('The request is not a valid token request: invalid_request, unauthorized_client, unsupported_grant_type or invalid_scope.'),
            401: oauthError.describe('invalid_client: unknown client, wrong secret, or a disabled application.'),
            429: oauthError.describe('slow_down: too many failed requests for this client from this address; wait Retry-After seconds.'),
          },
        },
      },
      async (request, reply) => {
        const body: unknown = request.body;
        const token = await services.accessTokens.issue({
          params: body instanceof URLSearchParams ? groupParams(body) : null,
          basic: basicCredentials(request.headers.authorization),
          origin: requestOrigin(request),
        });
        noStore(reply);
        return { access_token: token.accessToken, token_type: token.tokenType, expires_in: token.expiresIn, scope: token.scope.join(' ') };
      },
    );
  };
