import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { canonicalJson, canonicalJsonBeside, keyShapeOf } from './canonical-json.js';

const reference = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string;

describe('canonicalJson', () => {
  it('agrees with the RFC 8785 reference implementation for all JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 500 },
    );
  });

  it('sorts the keys of objects whose shapes repeat, in any order and past the shapes it keeps, as sort() does', () => {
    // Few key names, so shapes recur (the remembered case), and many key sets, so remembered shapes are replaced.
    const key = fc.constantFrom('a', 'b', 'B', '10', '2', 'é', '\u{1F600}', 'ab', '', 'id');
    const record = fc.uniqueArray(key, { maxLength: 8 }).map((keys) => Object.fromEntries(keys.map((k, i) => [k, i])));
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), (records) => {
        for (const value of records) {
          const shape = keyShapeOf(value);
          expect(shape.keys).toEqual(Object.keys(value).sort());
          expect(shape.quoted).toEqual(shape.keys.map((k) => JSON.stringify(k)));
          expect(canonicalJson(value)).toBe(reference(value));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'] })).toBe(canonicalJson({ a: [true, null, 'x'], b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('leaves out undefined and function members, as JSON.stringify does, and writes undefined array items as null', () => {
    expect(canonicalJson({ b: undefined, a: () => 1, c: [undefined, 1] })).toBe('{"c":[null,1]}');
    expect(canonicalJson({ '\u2028"k': 1, é: 2, z: 3, Z: 4, '10': 5, '9': 6 })).toBe(reference({ '\u2028"k': 1, é: 2, z: 3, Z: 4, '10': 5, '9': 6 }));
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
  });

  it('refuses text that is not well-formed Unicode, in values and in keys, and keeps paired surrogates', () => {
    for (const value of ['\ud800', 'a\udc00b', { name: 'x\ud83d' }, ['\udfff'], { ['\ud800']: 1 }]) {
      expect(() => canonicalJson(value)).toThrow(DomainError);
    }
    expect(canonicalJson({ name: 'clef \ud834\udd1e' })).toBe(reference({ name: 'clef \ud834\udd1e' }));
  });

  it('refuses exactly the values holding a string or key that is not well-formed, wherever it is', () => {
    // Lone halves beside the characters that spell an escape in text (a backslash, u, hex digits), never to be taken for one.
    const stringUnit = fc.constantFrom('a', 'é', '\\', 'u', 'd800', 'DC00', '"', '\u0001', '\ud800', '\udc00', '\ud83d\ude00');
    const lone = /[\uD800-\uDFFF]/u;
    const holdsLone = (value: unknown): boolean =>
      typeof value === 'string'
        ? lone.test(value)
        : typeof value === 'object' && value !== null && Object.entries(value).some(([key, item]) => lone.test(key) || holdsLone(item));
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit, maxDepth: 4 }), (value) => {
        if (holdsLone(value)) expect(() => canonicalJson(value)).toThrow(DomainError);
        else expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('canonicalJsonBeside', () => {
  // Escapes, lone and paired surrogates, control characters and text that spells an escape without being one.
  const stringUnit = fc.constantFrom('a', 'é', '\\', 'u', 'd800', '"', '\u0001', '\u007f', '\u2028', '\ud800', '\udc00', '\ud83d\ude00');

  it('gives the text canonicalJson gives, or refuses what it refuses, for any JSON value beside its JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit, maxDepth: 4 }), (value) => {
        const json = JSON.stringify(value);
        let expected: string;
        try {
          expected = canonicalJson(value);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          expect(() => canonicalJsonBeside(value, json)).toThrow(DomainError);
          return;
        }
        expect(canonicalJsonBeside(value, json)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('looks into what JSON.stringify does not: objects with toJSON or a prototype of their own', () => {
    const values: unknown[] = [
      { nested: { toJSON: () => 'plain', note: 'line\nbreak' } },
      { list: [Object.assign(Object.create(null) as object, { toJSON: () => 'x', label: 'a "quoted" name' })] },
      { when: Object.assign(new Date(0), { note: 'tab\there' }) },
      Object.assign(Object.create({ toJSON: () => 1 }) as object, { lone: '\ud800' }),
    ];
    for (const value of values) {
      const json = JSON.stringify(value);
      expect(json.includes('\\')).toBe(false);
      let expected: string | Error;
      try {
        expected = canonicalJson(value);
      } catch (error) {
        expected = error as Error;
      }
      if (expected instanceof Error) expect(() => canonicalJsonBeside(value, json)).toThrow(DomainError);
      else expect(canonicalJsonBeside(value, json)).toBe(expected);
    }
  });
});
