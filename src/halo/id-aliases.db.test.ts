import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../shared/ids.js';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';

describe.each(engines)('id aliases on %s', (engine) => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await createTestInstance(engine);
  });
  afterAll(() => t?.close());

  it('for all sequences of lookups: each global id keeps one alias, no alias is given twice, and every alias leads back', async () => {
    const seen = new Map<string, number>();
    const pool = Array.from({ length: 40 }, () => newId());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.subarray(pool, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 5 }), async (lookups) => {
        for (const ids of lookups) {
          const aliases = await t.services.aliases.aliasesOf(ids);
          for (const id of ids) {
            const alias = aliases.get(id)!;
            expect(Number.isInteger(alias) && alias > 0).toBe(true);
            if (seen.has(id)) expect(alias).toBe(seen.get(id));
            seen.set(id, alias);
          }
        }
        expect(new Set(seen.values()).size).toBe(seen.size);
        for (const [id, alias] of seen) expect(await t.services.aliases.globalIdOf(alias)).toBe(id);
      }),
      { numRuns: 15 },
    );
  });

  it('gives aliases inside a batch that rolls back to no one: the next ids get them afresh, never reusing a committed one', async () => {
    const committed = await t.services.aliases.aliasesOf([newId()]);
    const top = Math.max(...committed.values());
    await expect(
      t.services.batch(async (joined) => {
        await joined.aliases.aliasesOf([newId(), newId()]);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const next = await t.services.aliases.aliasesOf([newId()]);
    expect(Math.min(...next.values())).toBeGreaterThan(top);
  });
});
