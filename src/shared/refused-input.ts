import { DomainError, type FieldProblem } from './errors.js';

/** Keys no Shiplog document has: they name or reach an object's prototype, so they are refused wherever input arrives. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// With the u flag a surrogate pair is one code point, so this matches only a surrogate standing alone.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Whether a string is text Shiplog takes: well-formed Unicode (no UTF-16 surrogate without its other half) without
 * NUL, which PostgreSQL cannot store (so an instance on SQLite could never pass it down the pipeline).
 */
export function isAcceptedText(text: string): boolean {
  return !LONE_SURROGATE.test(text) && !text.includes('\u0000');
}

/**
 * Whether a JSON text, itself well-formed, may parse to something `refusedField` refuses: a prototype key has to be
 * spelt out or escaped, and a lone surrogate or NUL can only come as a \u escape. Texts without any of these skip the walk.
 */
export function mayHoldRefusedField(text: string): boolean {
  // "proto" is in both "__proto__" and "prototype": three scans of the text, not four.
  return text.includes('\\u') || text.includes('proto') || text.includes('constructor');
}

function pathOf(names: readonly (string | number)[], parents: readonly number[], index: number): string {
  const parts: (string | number)[] = [];
  for (let i = index; i > 0; i = parents[i]!) parts.push(names[i]!);
  return parts.reverse().reduce<string>((path, part) => (typeof part === 'number' ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

const joined = (path: string, key: string) => (path ? `${path}.${key}` : key);

export const illFormedProblem = (path: string): FieldProblem => ({
  path,
  code: 'ill-formed-unicode',
  message: 'Not well-formed Unicode: the text holds a lone surrogate (such as \\ud800) or bytes that are not UTF-8.',
});

/** Why text that `isAcceptedText` refuses is refused. */
export const textProblem = (path: string, text: string): FieldProblem =>
  text.includes('\u0000') ? { path, code: 'nul-character', message: 'Text may not hold the NUL character (U+0000).' } : illFormedProblem(path);

export const prototypeKeyProblem = (path: string, key: string): FieldProblem => ({ path, code: 'unknown-field', message: `Unknown field "${key}".` });

/**
 * The first field of a parsed JSON value that Shiplog refuses wherever it arrives: a prototype key (an unknown field of
 * every type) or text `isAcceptedText` refuses (a lone surrogate, stored, would no longer be the text that was digested).
 * Walks without recursion, so the depth of the value does not matter.
 */
export function refusedField(root: unknown): FieldProblem | undefined {
  const values: unknown[] = [root];
  const parents: number[] = [-1];
  const names: (string | number)[] = [''];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') {
      if (!isAcceptedText(value)) return textProblem(pathOf(names, parents, i), value);
    } else if (Array.isArray(value)) {
      for (let j = 0; j < value.length; j++) {
        values.push(value[j]);
        parents.push(i);
        names.push(j);
      }
    } else if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        if (PROTOTYPE_KEYS.has(key)) return prototypeKeyProblem(joined(pathOf(names, parents, i), key), key);
        if (!isAcceptedText(key)) return textProblem(joined(pathOf(names, parents, i), key), key);
        values.push((value as Record<string, unknown>)[key]);
        parents.push(i);
        names.push(key);
      }
    }
  }
  return undefined;
}

/** The refusal of a request part (`body`, `querystring`, `params`, `headers`) naming the field at fault. */
export function refusedInputError(part: string, problem: FieldProblem): DomainError {
  return new DomainError('VALIDATION_FAILED', `The request ${part} is not valid.`, { errors: [problem] });
}

/** Throws VALIDATION_FAILED naming the first field `refusedField` finds in a value parsed from JSON. */
export function assertAcceptedJson(value: unknown, part = 'body'): void {
  const problem = refusedField(value);
  if (problem) throw refusedInputError(part, problem);
}
