import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/errors.js';
import { jsonDepth, MAX_JSON_DEPTH, parseJsonBody } from './json-body.js';

/** Nesting depth of a parsed value, computed by recursion (the reference for the scanner). */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

function errorOf(run: () => unknown): DomainError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  return undefined;
}

const codeOf = (run: () => unknown) => errorOf(run)?.code;

describe('jsonDepth', () => {
  it('counts arrays and objects, not scalars', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('"text"')).toBe(0);
    expect(jsonDepth('{}')).toBe(1);
    expect(jsonDepth('[]')).toBe(1);
    expect(jsonDepth('[[1],[2,[3]]]')).toBe(3);
    expect(jsonDepth('{"a":{"b":[{}]},"c":[]}')).toBe(4);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonDepth('"[[[{{{"')).toBe(0);
    expect(jsonDepth('{"a":"[[[ ]]]"}')).toBe(1);
    expect(jsonDepth(String.raw`{"a":"\"[[[\"","b":"{{"}`)).toBe(1);
    // A string ending in an escaped backslash closes at the next quote; the array after it counts.
    expect(jsonDepth(String.raw`["\\",[1]]`)).toBe(2);
    expect(jsonDepth(String.raw`["\\\"[[[",[1]]`)).toBe(2);
  });

  it('equals the depth of the parsed value for all JSON texts', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(jsonDepth(JSON.stringify(value))).toBe(depthOf(value));
      }),
      { numRuns: 100 },
    );
  });

  it('agrees with a character-by-character scan on any text, JSON or not', () => {
    const reference = (text: string): number => {
      let depth = 0;
      let max = 0;
      let inString = false;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') max = Math.max(max, ++depth);
        else if (c === '}' || c === ']') depth--;
      }
      return max;
    };
    const text = fc.array(fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ':', ','), { maxLength: 60 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, (t) => {
        expect(jsonDepth(t)).toBe(reference(t));
      }),
      { numRuns: 2000 },
    );
  });

  it('measures a 100,000-deep array without recursion', () => {
    expect(jsonDepth(nestedArrays(100_000))).toBe(100_000);
  });
});

describe('parseJsonBody', () => {
  it('treats an empty or blank body as no body', () => {
    expect(parseJsonBody('')).toBeUndefined();
    expect(parseJsonBody('  \n')).toBeUndefined();
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1} with JSON_TOO_DEEP`, () => {
    expect(MAX_JSON_DEPTH).toBe(32);
    expect(depthOf(parseJsonBody(nestedArrays(MAX_JSON_DEPTH)))).toBe(MAX_JSON_DEPTH);
    expect(codeOf(() => parseJsonBody(nestedArrays(MAX_JSON_DEPTH + 1)))).toBe('JSON_TOO_DEEP');
    expect(codeOf(() => parseJsonBody(nestedArrays(100_000)))).toBe('JSON_TOO_DEEP');
  });

  it('refuses a deep body even when it is also malformed (depth is checked first, without parsing)', () => {
    expect(codeOf(() => parseJsonBody(`${'['.repeat(40)}oops`))).toBe('JSON_TOO_DEEP');
  });

  it('does not count brackets in strings towards the limit', () => {
    const text = JSON.stringify({ name: '['.repeat(1000), note: '\\"{'.repeat(500) });
    expect(parseJsonBody(text)).toEqual({ name: '['.repeat(1000), note: '\\"{'.repeat(500) });
  });

  it('refuses malformed JSON with MALFORMED_JSON and a field problem', () => {
    for (const text of ['{', '{"a":}', "{'a':1}", '[1,]', 'nul', '{"a":1}x']) {
      expect(codeOf(() => parseJsonBody(text)), text).toBe('MALFORMED_JSON');
    }
    expect(errorOf(() => parseJsonBody('{'))?.details.errors).toEqual([{ path: '', code: 'malformed-json', message: 'Not valid JSON.' }]);
  });

  it('drops __proto__ keys at every level and pollutes no prototype', () => {
    const parsed = parseJsonBody('{"name":"x","__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true},"k":1},"list":[{"__proto__":{"polluted":true}}]}') as Record<string, unknown>;
    expect(parsed).toEqual({ name: 'x', nested: { k: 1 }, list: [{}] });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect((parsed as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('drops __proto__ keys written with escapes', () => {
    const parsed = parseJsonBody(String.raw`{"name":"x","\u005f_proto__":{"polluted":true},"nested":{"__pr\u006fto__":{"polluted":true}}}`) as Record<string, unknown>;
    expect(parsed).toEqual({ name: 'x', nested: {} });
    expect((parsed as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('parses every JSON text as JSON.parse does, minus __proto__ keys', () => {
    const reference = (text: string): unknown => JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, escape) => {
        const plain = JSON.stringify(value);
        // Underscores and characters outside printable ASCII, escaped, take the path for texts with \u escapes.
        const text = escape ? plain.replace(/[^\x20-\x7e]|_/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : plain;
        expect(parseJsonBody(text)).toEqual(reference(text));
      }),
      { numRuns: 200 },
    );
  });

  it('parses scalars and arrays as they are (the route schema decides what it accepts)', () => {
    expect(parseJsonBody('null')).toBeNull();
    expect(parseJsonBody('[1,"a"]')).toEqual([1, 'a']);
    expect(parseJsonBody(' 42 ')).toBe(42);
  });
});
