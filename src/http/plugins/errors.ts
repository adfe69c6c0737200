import type { WebConsole } from '../web-console.js';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isDomainError, type FieldProblem } from '../../shared/errors.js';
import { problemFromDomainError, problemOf, type Problem } from '../problem.js';

function pathOf(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .reduce<string>((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function problemFromFastify(error: FastifyError): Problem {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'body';
    const errors: FieldProblem[] = error.validation.flatMap((v) => {
      // fastify-type-provider-zod puts the zod issue code in `keyword` and the rest of the issue in `params`.
      const params = v.params as { keys?: unknown };
      const keys = v.keyword === 'unrecognized_keys' && Array.isArray(params.keys) ? params.keys.map(String) : [];
      const base = pathOf(v.instancePath);
      if (keys.length > 0) return keys.map((key) => ({ path: base ? `${base}.${key}` : key, code: 'unknown-field', message: `Unknown field "${key}".`, in: where }));
      return [{ path: base, code: v.keyword.replace(/_/g, '-'), message: v.message ?? 'Invalid value.', in: where }];
    });
    return problemOf('VALIDATION_FAILED', `The request ${where} is not valid.`, { errors });
  }
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return problemOf('VALIDATION_FAILED', 'The request path is not valid.', { errors: [{ path: '', code: 'malformed-url', message: 'The path is not percent-encoded UTF-8.', in: 'params' }] });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problemOf('VALIDATION_FAILED', 'The request path is not valid.', { errors: [{ path: '', code: 'too-long', message: 'A path parameter is longer than any this API takes.', in: 'params' }] });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problemOf('VALIDATION_FAILED', 'The request body is not as long as its Content-Length says.', {
        errors: [{ path: 'Content-Length', code: 'invalid-length', message: 'Not the length of the body sent.', in: 'headers' }],
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemOf('PAYLOAD_TOO_LARGE', 'The request body is larger than this endpoint accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemOf('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problemOf('MALFORMED_JSON', 'The body is not valid JSON.', { errors: [{ path: '', code: 'malformed-json', message: 'Not valid JSON.' }] });
    default:
      return problemOf('INTERNAL', 'Something went wrong on the server; the request changed nothing.');
  }
}

function sendProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem = isDomainError(error) ? problemFromDomainError(error) : problemFromFastify(error);
  if (problem.status >= 500) {
    const serialization = isResponseSerializationError(error);
    request.log.error({ err: { message: error.message, code: error.code, stack: error.stack }, serialization }, 'request failed');
  }
  if (problem.code === 'UNAUTHENTICATED') void reply.header('www-authenticate', 'Bearer realm="shiplog"');
  if (typeof problem.retryAfterSeconds === 'number') void reply.header('retry-after', String(problem.retryAfterSeconds));
  void reply
    .status(problem.status)
    .type('application/problem+json')
    .send({ ...problem, instance: request.url.split('?')[0], requestId: request.id });
}

/** Fastify's `frameworkErrors`: what goes wrong before a route is found (a URL that cannot be decoded) is a problem too. */
export const frameworkErrors = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => sendProblem(error, request, reply);

/** The one place errors become HTTP problem responses. */
export function registerErrorHandling(app: FastifyInstance, webConsole: WebConsole | null = null): void {
  app.setErrorHandler(sendProblem);

  app.setNotFoundHandler(async (request, reply) => {
    if (webConsole && (await webConsole.serve(request, reply))) return reply;
    return reply
      .status(404)
      .type('application/problem+json')
      .send({ ...problemOf('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`), instance: request.url.split('?')[0], requestId: request.id });
  });
}
