import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FieldProblem } from '../../shared/errors.js';
import { illFormedProblem, isAcceptedText, PROTOTYPE_KEYS, prototypeKeyProblem, refusedInputError, textProblem } from '../../shared/refused-input.js';

/** A query string part decoded as form data is, or null when its escapes are not percent-encoded UTF-8. */
function decoded(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** The first query parameter whose name or value is not percent-encoded text Shiplog takes, or whose name is a prototype key. */
export function refusedQueryParameter(url: string): FieldProblem | undefined {
  const mark = url.indexOf('?');
  if (mark < 0) return undefined;
  for (const pair of url.slice(mark + 1).split('&')) {
    const equals = pair.indexOf('=');
    const rawName = equals < 0 ? pair : pair.slice(0, equals);
    const name = decoded(rawName);
    if (name === null) return illFormedProblem(isAcceptedText(rawName) ? rawName : '');
    if (!isAcceptedText(name)) return textProblem('', name);
    if (PROTOTYPE_KEYS.has(name)) return prototypeKeyProblem(name, name);
    const value = equals < 0 ? '' : decoded(pair.slice(equals + 1));
    if (value === null) return illFormedProblem(name);
    if (!isAcceptedText(value)) return textProblem(name, value);
  }
  return undefined;
}

function refusedText(values: Record<string, unknown>): FieldProblem | undefined {
  for (const [name, value] of Object.entries(values)) {
    for (const text of Array.isArray(value) ? value : [value]) if (typeof text === 'string' && !isAcceptedText(text)) return textProblem(name, text);
  }
  return undefined;
}

/**
 * Text outside the body is held to what bodies are: a query parameter, path parameter or header that is not text
 * Shiplog takes (or a query parameter named like a prototype key) is refused with the parameter named, before any
 * route's validation or handler sees it. Bodies are checked by their parsers.
 */
export function registerRequestTextChecks(app: FastifyInstance): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const query = refusedQueryParameter(request.url);
    if (query) throw refusedInputError('querystring', query);
    const params = refusedText(request.params as Record<string, unknown>);
    if (params) throw refusedInputError('params', params);
    const headers = refusedText(request.headers);
    if (headers) throw refusedInputError('headers', headers);
  });
}
