import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectPath, formatLocation, isRecord, mapStringsAtPath, setAt, stringsAtPath } from './field-path.js';

const workflow = {
  name: 'Incident',
  steps: [
    { id: 'triage', actions: [{ id: 'assign', teamIds: ['T1', 'T2'] }, { teamIds: [] }] },
    { actions: [{ id: 'escalate', teamIds: ['T3'] }] },
    { id: 'no-actions' },
  ],
};

describe('collectPath', () => {
  it('finds a plain key', () => {
    expect(collectPath(workflow, 'name')).toEqual([{ location: ['name'], stableName: 'name', value: 'Incident' }]);
  });

  it('finds nothing where the key is absent or null', () => {
    expect(collectPath({ a: 1 }, 'b')).toEqual([]);
    expect(collectPath({ b: null }, 'b')).toEqual([]);
    expect(collectPath({ a: { b: 1 } }, 'a.c')).toEqual([]);
  });

  it('with includeMissing, reports absent leaves whose parent exists, but not those without a parent', () => {
    expect(collectPath({ a: {} }, 'a.b', true)).toEqual([{ location: ['a', 'b'], stableName: 'a.b', value: undefined }]);
    expect(collectPath({ b: null }, 'b', true)).toEqual([{ location: ['b'], stableName: 'b', value: null }]);
    expect(collectPath({}, 'a.b', true)).toEqual([]);
  });

  it('walks nested arrays, naming items by their id where they have one and by index otherwise', () => {
    const hits = collectPath(workflow, 'steps[].actions[].teamIds[]');
    expect(hits).toEqual([
      { location: ['steps', 0, 'actions', 0, 'teamIds', 0], stableName: 'steps[triage].actions[assign].teamIds[0]', value: 'T1' },
      { location: ['steps', 0, 'actions', 0, 'teamIds', 1], stableName: 'steps[triage].actions[assign].teamIds[1]', value: 'T2' },
      { location: ['steps', 1, 'actions', 0, 'teamIds', 0], stableName: 'steps[1].actions[escalate].teamIds[0]', value: 'T3' },
    ]);
  });

  it('names array items by id for a leaf under each item', () => {
    const mailbox = { credentials: [{ id: 'dev', password: 'p1' }, { password: 'p2' }, { id: 'prod' }] };
    expect(collectPath(mailbox, 'credentials[].password').map((h) => h.stableName)).toEqual(['credentials[dev].password', 'credentials[1].password']);
    expect(collectPath(mailbox, 'credentials[].password', true).map((h) => [h.stableName, h.value])).toEqual([
      ['credentials[dev].password', 'p1'],
      ['credentials[1].password', 'p2'],
      ['credentials[prod].password', undefined],
    ]);
  });

  it('ignores values of the wrong shape', () => {
    expect(collectPath({ steps: { 0: { id: 'x' } } }, 'steps[].id')).toEqual([]);
    expect(collectPath({ steps: ['a', 'b'] }, 'steps[].id')).toEqual([]);
    expect(collectPath({ a: 'text' }, 'a.b', true)).toEqual([]);
    expect(collectPath(null, 'a')).toEqual([]);
    expect(collectPath(['a'], 'a')).toEqual([]);
  });

  it('does not treat a non-string item id as a name', () => {
    expect(collectPath({ items: [{ id: 7, v: 1 }] }, 'items[].v')[0]?.stableName).toBe('items[0].v');
  });
});

describe('formatLocation', () => {
  it('writes keys with dots and indexes in brackets', () => {
    expect(formatLocation([])).toBe('');
    expect(formatLocation(['name'])).toBe('name');
    expect(formatLocation(['authentication', 'password'])).toBe('authentication.password');
    expect(formatLocation(['outcomes', 0, 'teamId'])).toBe('outcomes[0].teamId');
    expect(formatLocation(['steps', 0, 'actions', 2, 'teamIds', 1])).toBe('steps[0].actions[2].teamIds[1]');
    expect(formatLocation(['matrix', 1, 0])).toBe('matrix[1][0]');
    expect(formatLocation([3, 'a'])).toBe('[3].a');
  });
});

describe('setAt', () => {
  it('replaces a nested value in a copy, leaving the original untouched', () => {
    const original = structuredClone(workflow);
    const next = setAt(workflow, ['steps', 0, 'actions', 1, 'teamIds'], ['T9']) as typeof workflow;
    expect(workflow).toEqual(original);
    expect(next.steps[0]!.actions![1]!.teamIds).toEqual(['T9']);
    expect(next.steps[1]).toBe(workflow.steps[1]);
    expect(next.name).toBe('Incident');
  });

  it('removes a key when the value is undefined', () => {
    const body = { a: [{ secret: 's', keep: 1 }], b: 2 };
    expect(setAt(body, ['a', 0, 'secret'], undefined)).toEqual({ a: [{ keep: 1 }], b: 2 });
    expect(setAt(body, ['b'], undefined)).toEqual({ a: [{ secret: 's', keep: 1 }] });
    expect(body.a[0]).toEqual({ secret: 's', keep: 1 });
  });

  it('creates missing objects and arrays on the way', () => {
    expect(setAt({}, ['a', 'b'], 1)).toEqual({ a: { b: 1 } });
    expect(setAt({}, ['list', 1, 'x'], 'y')).toEqual({ list: [undefined, { x: 'y' }] });
    expect(setAt(['p'], [1], 'q')).toEqual(['p', 'q']);
  });

  it('returns the value itself for the empty location', () => {
    expect(setAt({ a: 1 }, [], 'whole')).toBe('whole');
  });

  it('writes exactly where collectPath found a value, for random nested arrays', () => {
    const action = fc.record({ id: fc.option(fc.constantFrom('a1', 'a2', 'a3'), { nil: undefined }), teamIds: fc.array(fc.string(), { maxLength: 3 }) }, { requiredKeys: ['teamIds'] });
    const step = fc.record({ id: fc.option(fc.constantFrom('s1', 's2'), { nil: undefined }), actions: fc.array(action, { maxLength: 3 }) }, { requiredKeys: ['actions'] });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 4 }), (steps) => {
        const root = { steps };
        const hits = collectPath(root, 'steps[].actions[].teamIds[]');
        expect(hits).toHaveLength(steps.reduce((n, s) => n + s.actions.reduce((m, a) => m + a.teamIds.length, 0), 0));
        for (const hit of hits) {
          expect(formatLocation(hit.location)).toMatch(/^steps\[\d+\]\.actions\[\d+\]\.teamIds\[\d+\]$/);
          const [, si, , ai, , ti] = hit.location as [string, number, string, number, string, number];
          expect(hit.value).toBe(steps[si]!.actions[ai]!.teamIds[ti]);
          const marked = setAt(root, hit.location, 'MARK');
          const after = collectPath(marked, 'steps[].actions[].teamIds[]');
          expect(after.map((h) => h.value)).toEqual(hits.map((h) => (h === hit ? 'MARK' : h.value)));
          expect(isRecord(marked)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('stringsAtPath', () => {
  const paths = ['name', 'steps[].id', 'steps[].actions[].teamIds[]', 'steps[].actions[].id', 'a.b[].c', 'a.b[]', 'x[].y[]', ''];

  it('is collectPath kept to strings, with formatLocation of each location', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.constantFrom(...paths), (root, path) => {
        const expected = collectPath(root, path)
          .filter((hit) => typeof hit.value === 'string')
          .map((hit) => ({ value: hit.value, location: formatLocation(hit.location) }));
        expect(stringsAtPath(root, path)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
    expect(stringsAtPath(workflow, 'steps[].actions[].teamIds[]')).toEqual([
      { value: 'T1', location: 'steps[0].actions[0].teamIds[0]' },
      { value: 'T2', location: 'steps[0].actions[0].teamIds[1]' },
      { value: 'T3', location: 'steps[1].actions[0].teamIds[0]' },
    ]);
    const sparse: unknown[] = [];
    sparse[1] = 'T9';
    expect(stringsAtPath({ ids: sparse }, 'ids[]')).toEqual([{ value: 'T9', location: 'ids[1]' }]);
  });
});

describe('mapStringsAtPath', () => {
  const paths = ['name', 'steps[].id', 'steps[].actions[].teamIds[]', 'a.b[].c', 'a.b[]', 'x[].y[]'];

  it('replaces exactly the strings at the path, as setAt would one by one, leaving the input as it was', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.constantFrom(...paths), (root, path) => {
        const copy = structuredClone(root);
        const mapped = mapStringsAtPath(root, path, (value) => `<${value}>`);
        const expected = collectPath(root, path)
          .filter((hit) => typeof hit.value === 'string')
          .reduce<unknown>((acc, hit) => setAt(acc, hit.location, `<${String(hit.value)}>`), root);
        expect(mapped).toEqual(expected);
        expect(root).toEqual(copy);
        // Nothing to replace, or replaced by itself: the very same object.
        expect(mapStringsAtPath(root, path, (value) => value)).toBe(root);
      }),
      { numRuns: 500 },
    );
    expect(stringsAtPath(mapStringsAtPath(workflow, 'steps[].actions[].teamIds[]', (v) => v.toLowerCase()), 'steps[].actions[].teamIds[]').map((hit) => hit.value)).toEqual(['t1', 't2', 't3']);
  });
});
