import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../shared/errors.js';
import { assertAcceptedJson, illFormedProblem, mayHoldRefusedField, refusedInputError } from '../../shared/refused-input.js';

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

/** How many `{` and `[` the text holds, counted up to `max + 1`: no text is nested deeper than it has openers. */
function openersUpTo(text: string, max: number): number {
  let count = 0;
  for (let i = text.indexOf('{'); i >= 0 && count <= max; i = text.indexOf('{', i + 1)) count++;
  for (let i = text.indexOf('['); i >= 0 && count <= max; i = text.indexOf('[', i + 1)) count++;
  return count;
}

/** Refuses a JSON text nested more than `maxDepth` levels deep (JSON_TOO_DEEP), before anything parses or recurses. */
export function assertDepth(text: string, maxDepth: number): void {
  // The scan that skips strings is needed only for a text with more openers than levels allowed.
  if (openersUpTo(text, maxDepth) > maxDepth && jsonDepth(text) > maxDepth) {
    throw new DomainError('JSON_TOO_DEEP', `The JSON body is nested more than ${maxDepth} levels deep.`, {
      errors: [{ path: '', code: 'too-deep', message: `At most ${maxDepth} levels of nesting.` }],
      maxDepth,
    });
  }
}

/** A body's bytes as text, refused (VALIDATION_FAILED) unless they are well-formed UTF-8: nothing is replaced silently. */
export function utf8Text(bytes: Buffer, path = ''): string {
  if (!isUtf8(bytes)) throw refusedInputError('body', illFormedProblem(path));
  return bytes.toString('utf8');
}

/**
 * Parses a JSON text, refusing what no route takes: nesting past `maxDepth`, malformed JSON, and keys or strings that
 * `refusedField` refuses (prototype keys, lone surrogates), each with the field at fault.
 */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.trim() === '') return undefined;
  assertDepth(text, maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DomainError('MALFORMED_JSON', `The body is not valid JSON: ${(error as Error).message}`, {
      errors: [{ path: '', code: 'malformed-json', message: 'Not valid JSON.' }],
    });
  }
  // JSON.parse makes a "__proto__" key an own member, never the prototype; the walk then refuses it.
  if (mayHoldRefusedField(text)) assertAcceptedJson(value);
  return value;
}

export function registerJsonBody(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  // Fastify's built-in text/plain parser would let a non-JSON body reach validation instead of getting 415.
  app.removeAllContentTypeParsers();
  // Fastify answers a parser that throws with the error it threw.
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json$/, { parseAs: 'buffer' }, (_request, body, done) => done(null, parseJsonBody(utf8Text(body as Buffer), maxDepth)));
}
