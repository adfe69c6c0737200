import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalOf, canonicalTextOf, forgetStoredBody, jsonTextOf, parseBody, rememberStoredBody } from './body-text.js';
import { canonicalJson } from './canonical-json.js';

// Bodies as the API and the store hold them: objects of JSON values, here and there a member left undefined.
const body = fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.constant(undefined)));

describe('body texts', () => {
  it('are exactly canonicalJson and JSON.stringify, whichever is asked for first', () => {
    fc.assert(
      fc.property(body, (value) => {
        const copy = structuredClone(value);
        expect(canonicalOf(value)).toBe(canonicalJson(value));
        expect(jsonTextOf(value)).toBe(JSON.stringify(value));
        expect(jsonTextOf(copy)).toBe(JSON.stringify(copy));
        expect(canonicalOf(copy)).toBe(canonicalJson(copy));
      }),
      { numRuns: 500 },
    );
  });

  it('are exactly canonicalJson and JSON.stringify when the canonical text was made alone first', () => {
    fc.assert(
      fc.property(body, (value) => {
        expect(canonicalTextOf(value)).toBe(canonicalJson(value));
        expect(jsonTextOf(value)).toBe(JSON.stringify(value));
        expect(canonicalOf(value)).toBe(canonicalJson(value));
      }),
      { numRuns: 300 },
    );
  });

  it('fall back to the usual serialisers for values that are not plain JSON data', () => {
    const sparse: number[] = [];
    sparse[0] = 1;
    sparse[2] = 3;
    const odd = [
      { at: new Date(0), n: 1 },
      { list: sparse },
      { x: -0, y: [undefined, 2] },
      { toJSON: 'a member, not a method', b: 1 },
      { nested: Object.assign(Object.create(null) as object, { z: 1, a: 2 }) },
    ];
    for (const value of odd) {
      expect(canonicalOf({ ...value })).toBe(canonicalJson(value));
      expect(jsonTextOf({ ...value })).toBe(JSON.stringify(value));
    }
    expect(() => canonicalOf({ n: Number.NaN })).toThrow(TypeError);
  });

  it('refuse a canonical text to bodies holding a lone surrogate anywhere, as canonicalJson does; their JSON text stays JSON.stringify\'s', () => {
    const stringUnit = fc.constantFrom('a', '\\', 'u', 'd800', '\ud800', '\udc00', '\ud83d\ude00');
    const lone = /[\uD800-\uDFFF]/u;
    const holdsLone = (value: unknown): boolean =>
      typeof value === 'string'
        ? lone.test(value)
        : typeof value === 'object' && value !== null && Object.entries(value).some(([key, item]) => lone.test(key) || holdsLone(item));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: stringUnit }), fc.jsonValue({ stringUnit, maxDepth: 3 })), fc.boolean(), (value, jsonFirst) => {
        if (jsonFirst) expect(jsonTextOf(value)).toBe(JSON.stringify(value));
        if (holdsLone(value)) expect(() => canonicalOf(value)).toThrow();
        else expect(canonicalOf(value)).toBe(canonicalJson(value));
        expect(jsonTextOf(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  it('orders keys by UTF-16 code units, integer-like keys included', () => {
    const value = { b: 1, '10': 2, '2': 3, A: 4, é: 5, '\u{1F600}': 6, '\uFFFF': 7 };
    expect(canonicalOf(value)).toBe(canonicalJson(value));
    expect(jsonTextOf(value)).toBe(JSON.stringify(value));
  });

  it('give a stored body read back under its key the canonical text it was stored with, and only that text', () => {
    const key = 'entity-1';
    const stored = { name: 'Team', description: 'x'.repeat(2000), nested: { b: 1, a: [2, 1] } };
    const text = jsonTextOf(stored);
    canonicalOf(stored);
    rememberStoredBody(key, stored);

    const read = parseBody(text, key);
    expect(read).toEqual(stored);
    expect(jsonTextOf(read)).toBe(text);
    expect(canonicalOf(read)).toBe(canonicalJson(stored));

    // Another text under the same key (written elsewhere, or edited) is parsed and canonicalised on its own.
    const other = JSON.stringify({ ...stored, name: 'Other' });
    expect(canonicalOf(parseBody(other, key))).toBe(canonicalJson(JSON.parse(other)));
    forgetStoredBody(key);
    expect(canonicalOf(parseBody(text, key))).toBe(canonicalJson(stored));
  });
});
