import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/errors.js';
import { PROTOTYPE_KEYS } from '../../shared/refused-input.js';
import { assertDepth, jsonDepth, MAX_JSON_DEPTH, parseJsonBody, utf8Text } from './json-body.js';

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

describe('assertDepth', () => {
  it('refuses exactly the texts nested deeper than the limit, however many brackets their strings hold', () => {
    const text = fc.array(fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ':', ','), { maxLength: 60 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 6 }), (t, limit) => {
        expect(codeOf(() => assertDepth(t, limit))).toBe(jsonDepth(t) > limit ? 'JSON_TOO_DEEP' : undefined);
      }),
      { numRuns: 2000 },
    );
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

  it('refuses __proto__, constructor and prototype keys at every level, naming the field, and pollutes no prototype', () => {
    const cases: [string, string][] = [
      ['{"name":"x","__proto__":{"polluted":true}}', '__proto__'],
      ['{"name":"x","nested":{"k":1,"constructor":{"prototype":{"polluted":true}}}}', 'nested.constructor'],
      ['{"list":[{"a":1},{"prototype":1}]}', 'list[1].prototype'],
      ['[{"__proto__":{"polluted":true}}]', '[0].__proto__'],
    ];
    for (const [text, path] of cases) {
      const error = errorOf(() => parseJsonBody(text));
      expect(error?.code, text).toBe('VALIDATION_FAILED');
      expect(error?.details.errors, text).toEqual([{ path, code: 'unknown-field', message: expect.stringContaining('Unknown field') }]);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses prototype keys written with escapes', () => {
    expect(errorOf(() => parseJsonBody(String.raw`{"name":"x","\u005f_proto__":{"polluted":true}}`))?.details.errors?.[0]?.path).toBe('__proto__');
    expect(errorOf(() => parseJsonBody(String.raw`{"nested":{"constr\u0075ctor":1}}`))?.details.errors?.[0]?.path).toBe('nested.constructor');
  });

  it('refuses a lone surrogate in a string or a key, and takes a pair', () => {
    const cases: [string, string][] = [
      [String.raw`{"name":"\ud800"}`, 'name'],
      [String.raw`{"a":["ok","x\udfffy"]}`, 'a[1]'],
      [String.raw`{"a":{"\udc00":1}}`, 'a.\udc00'],
      [String.raw`{"a":"\ud83d\ud83d"}`, 'a'],
    ];
    for (const [text, path] of cases) {
      expect(errorOf(() => parseJsonBody(text))?.details.errors, text).toEqual([{ path, code: 'ill-formed-unicode', message: expect.any(String) }]);
    }
    expect(parseJsonBody(String.raw`{"name":"\ud83d\ude00 and 😀"}`)).toEqual({ name: '😀 and 😀' });
  });

  it('refuses NUL, which PostgreSQL cannot store, in a string or a key', () => {
    expect(errorOf(() => parseJsonBody(String.raw`{"name":"a\u0000"}`))?.details.errors).toEqual([{ path: 'name', code: 'nul-character', message: expect.any(String) }]);
    expect(errorOf(() => parseJsonBody(String.raw`{"a":{"\u0000":1}}`))?.details.errors?.[0]?.code).toBe('nul-character');
  });

  it('parses every JSON text as JSON.parse does, or refuses it naming a prototype key or ill-formed text', () => {
    const refused = (text: string) => /[\ud800-\udfff]/u.test(text) || text.includes('\u0000');
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', '\ud800'));
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ maxLength: 6 }), fc.constantFrom('\udc00', '\ud800x', '😀'));
    const { node } = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 3 })),
    }));
    const hostile = (v: unknown): boolean =>
      typeof v === 'string'
        ? refused(v)
        : Array.isArray(v)
          ? v.some(hostile)
          : typeof v === 'object' && v !== null && Object.entries(v).some(([k, x]) => PROTOTYPE_KEYS.has(k) || refused(k) || hostile(x));
    fc.assert(
      fc.property(node, fc.boolean(), (value, escape) => {
        const plain = JSON.stringify(value);
        // Underscores and characters outside printable ASCII, escaped, take the path for texts with \u escapes.
        const t = escape ? plain.replace(/[^\x20-\x7e]|_/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : plain;
        if (hostile(value)) expect(codeOf(() => parseJsonBody(t))).toBe('VALIDATION_FAILED');
        else expect(parseJsonBody(t)).toEqual(JSON.parse(t));
      }),
      { numRuns: 300 },
    );
  });

  it('takes only bytes that are well-formed UTF-8', () => {
    expect(utf8Text(Buffer.from('{"name":"é 😀"}'))).toBe('{"name":"é 😀"}');
    for (const bytes of [[0xff], [0xed, 0xa0, 0x80], [0xc3], [0xe2, 0x28, 0xa1]]) {
      const error = errorOf(() => utf8Text(Buffer.from([0x22, ...bytes, 0x22])));
      expect(error?.code).toBe('VALIDATION_FAILED');
      expect(error?.details.errors?.[0]?.code).toBe('ill-formed-unicode');
    }
  });

  it('parses scalars and arrays as they are (the route schema decides what it accepts)', () => {
    expect(parseJsonBody('null')).toBeNull();
    expect(parseJsonBody('[1,"a"]')).toEqual([1, 'a']);
    expect(parseJsonBody(' 42 ')).toBe(42);
  });
});
