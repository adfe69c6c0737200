import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../shared/errors.js';

/** Deepest nesting of arrays and objects a request body may have (documented in docs/api.md). */
export const MAX_JSON_DEPTH = 32;

/** Depth of a JSON text, found by one scan that skips strings, before anything is parsed or recursed. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Jump to the quote that ends the string: the next one not escaped by an odd run of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return max;
        let backslashes = 0;
        while (text.charCodeAt(i - 1 - backslashes) === 92) backslashes++;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Batches of changes wrap entity bodies (themselves up to MAX_JSON_DEPTH deep) in a few levels of their own. */
export const MAX_BATCH_JSON_DEPTH = MAX_JSON_DEPTH + 8;

export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepth(text) > maxDepth) {
    throw new DomainError('JSON_TOO_DEEP', `The JSON body is nested more than ${maxDepth} levels deep.`, {
      errors: [{ path: '', code: 'too-deep', message: `At most ${maxDepth} levels of nesting.` }],
      maxDepth,
    });
  }
  try {
    // A key can spell __proto__ only literally or with a \u escape; without either the reviver (several times slower on
    // large batches) has nothing to drop.
    if (!text.includes('__proto__') && !text.includes('\\u')) return JSON.parse(text);
    // Prototype-polluting keys are dropped, not interpreted.
    return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
  } catch (error) {
    throw new DomainError('MALFORMED_JSON', `The body is not valid JSON: ${(error as Error).message}`, {
      errors: [{ path: '', code: 'malformed-json', message: 'Not valid JSON.' }],
    });
  }
}

export function registerJsonBody(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  // Fastify's built-in text/plain parser would let a non-JSON body reach validation instead of getting 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json$/, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, maxDepth));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
