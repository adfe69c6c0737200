import fc from 'fast-check';
import type { Selectable } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import type { ChangesTable } from '../store/schema.js';

type ChangeRow = Selectable<ChangesTable>;

/** Column edits that alter what a row says; each returns a value different from the original. */
const edits: Record<string, (row: ChangeRow) => Partial<ChangeRow>> = {
  after: (row) => ({ after: JSON.stringify({ ...(row.after ? (JSON.parse(row.after) as object) : {}), tampered: true }) }),
  before: (row) => ({ before: JSON.stringify({ ...(row.before ? (JSON.parse(row.before) as object) : {}), tampered: true }) }),
  actor_name: (row) => ({ actor_name: `${row.actor_name} (forged)` }),
  actor_id: (row) => ({ actor_id: `${row.actor_id}X` }),
  at: (row) => ({ at: Number(row.at) + 1 }),
  op: (row) => ({ op: row.op === 'update' ? 'create' : 'update' }),
  type: (row) => ({ type: row.type === 'teams' ? 'roles' : 'teams' }),
  entity_id: (row) => ({ entity_id: `${row.entity_id.slice(0, -1)}${row.entity_id.endsWith('Z') ? 'Y' : 'Z'}` }),
  entity_name: (row) => ({ entity_name: `${row.entity_name}!` }),
  parent: (row) => ({ parent: row.parent === null ? row.id : null }),
  requires: (row) => ({ requires: JSON.stringify([...(JSON.parse(row.requires) as string[]), row.id]) }),
  change_set: (row) => ({ change_set: row.change_set === null ? 'smuggled' : null }),
  revert_of: (row) => ({ revert_of: row.revert_of === null ? row.id : null }),
  request: (row) => ({ request: row.request === null ? JSON.stringify({ method: 'PUT' }) : null }),
  origin_seq: (row) => ({ origin_seq: Number(row.origin_seq) + 1000 }),
  applied_from: (row) => ({ applied_from: row.applied_from === null ? 'peer' : null }),
  digest: (row) => ({ digest: row.digest.replace(/^./, (c) => (c === '0' ? '1' : '0')) }),
  id: (row) => ({ id: `${row.id}X` }),
  hash: (row) => ({ hash: row.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')) }),
};

type Tampering =
  | { kind: 'edit'; row: number; column: string }
  | { kind: 'delete-middle'; row: number }
  | { kind: 'delete-tail'; count: number }
  | { kind: 'swap'; row: number; other: number };

describe.each(engines)('hash chain on %s', (engine) => {
  let instance: TestInstance;
  let original: ChangeRow[];
  let originalHead: { seq: number; hash: string };

  const db = () => instance.database.dialect.db;

  async function restore(): Promise<void> {
    await db()
      .transaction()
      .execute(async (trx) => {
        await trx.deleteFrom('changes').execute();
        for (const row of original) await trx.insertInto('changes').values(row).execute();
        await trx.updateTable('change_log_head').set(originalHead).where('singleton', '=', 1).execute();
      });
  }

  async function tamper(t: Tampering): Promise<{ seq: number; reason: string[] }> {
    const rows = original;
    const seqOf = (i: number) => Number(rows[i]!.seq);
    switch (t.kind) {
      case 'edit': {
        const row = rows[t.row]!;
        await db().updateTable('changes').set(edits[t.column]!(row)).where('seq', '=', row.seq).execute();
        return { seq: seqOf(t.row), reason: ['digest-mismatch', 'hash-mismatch'] };
      }
      case 'delete-middle':
        await db().deleteFrom('changes').where('seq', '=', rows[t.row]!.seq).execute();
        return { seq: seqOf(t.row + 1), reason: ['sequence-gap'] };
      case 'delete-tail':
        await db().deleteFrom('changes').where('seq', '>', rows.length - t.count).execute();
        return { seq: rows.length - t.count + 1, reason: ['head-mismatch'] };
      case 'swap': {
        const a = rows[t.row]!;
        const b = rows[t.other]!;
        // Swap everything but seq: the rows trade places in the log.
        const { seq: _a, ...contentA } = a;
        const { seq: _b, ...contentB } = b;
        await db()
          .transaction()
          .execute(async (trx) => {
            // Free a's unique id and origin sequence first, so b can take them.
            await trx.updateTable('changes').set({ id: `${a.id}-moving`, origin_seq: -1 }).where('seq', '=', a.seq).execute();
            await trx.updateTable('changes').set(contentA).where('seq', '=', b.seq).execute();
            await trx.updateTable('changes').set(contentB).where('seq', '=', a.seq).execute();
          });
        return { seq: Math.min(seqOf(t.row), seqOf(t.other)), reason: ['digest-mismatch', 'hash-mismatch'] };
      }
    }
  }

  beforeAll(async () => {
    instance = await createTestInstance(engine);
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Hardware' });
    const status = await services.config.create({ ...ctx, changeSet: 'REL-1' }, 'statuses', { name: 'Open', kind: 'ticket' });
    const rule = await services.config.create(ctx, 'ticket-rules', {
      name: 'Printers',
      criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
      outcomes: [
        { field: 'team', teamId: team.entity!.id },
        { field: 'status', statusId: status.entity!.id },
      ],
    });
    const hook = await services.config.create(ctx, 'webhooks', { name: 'Notify', url: 'https://hooks.example.test/a', events: ['ticket.created'], signingSecret: 'chain-secret' });
    await services.config.replace(ctx, 'teams', team.entity!.id, { name: 'Hardware & Printers' });
    const spare = await services.config.create(ctx, 'teams', { name: 'Spare' });
    await services.config.replace(ctx, 'webhooks', hook.entity!.id, { name: 'Notify (v2)', url: 'https://hooks.example.test/b', events: ['ticket.created'] });
    await services.config.remove(ctx, 'teams', spare.entity!.id);
    const roll = await services.config.create(ctx, 'teams', { name: 'Rolled back' });
    await services.rollback.rollbackBefore(ctx, roll.changeId!, { dryRun: false });
    await services.config.replace(ctx, 'ticket-rules', rule.entity!.id, {
      name: 'Printers and scanners',
      criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
      outcomes: [{ field: 'team', teamId: team.entity!.id }],
    });
    original = await db().selectFrom('changes').selectAll().orderBy('seq').execute();
    const head = await db().selectFrom('change_log_head').selectAll().executeTakeFirstOrThrow();
    originalHead = { seq: Number(head.seq), hash: head.hash };
  });
  afterAll(async () => instance?.close());

  it('verifies an untampered history', async () => {
    expect(original.map((r) => Number(r.seq))).toEqual(original.map((_, i) => i + 1));
    expect(original.some((r) => r.revert_of !== null)).toBe(true);
    expect(await instance.services.changeLog.verify()).toMatchObject({ ok: true, checked: original.length, headSeq: original.length, failure: null, failures: [], failureCount: 0 });
  });

  it('detects an edit of any column at that row', async () => {
    for (const column of Object.keys(edits)) {
      const row = Math.floor(original.length / 2);
      const expected = await tamper({ kind: 'edit', row, column });
      const result = await instance.services.changeLog.verify();
      await restore();
      expect(result.ok, column).toBe(false);
      expect(result.failure?.seq, column).toBe(expected.seq);
      expect(result.failure?.changeId, column).toBe(column === 'id' ? `${original[row]!.id}X` : original[row]!.id);
      expect(result.checked, column).toBe(original.length);
    }
    expect((await instance.services.changeLog.verify()).ok).toBe(true);
  });

  it('detects a deleted middle row at the row after it', async () => {
    await tamper({ kind: 'delete-middle', row: 2 });
    const result = await instance.services.changeLog.verify();
    await restore();
    expect(result).toMatchObject({ ok: false, failure: { seq: 4, reason: 'sequence-gap', changeId: original[3]!.id } });
  });

  it('detects deleted last rows against the recorded head', async () => {
    await tamper({ kind: 'delete-tail', count: 2 });
    const result = await instance.services.changeLog.verify();
    await restore();
    expect(result).toMatchObject({ ok: false, headSeq: original.length, failure: { seq: original.length - 1, reason: 'head-mismatch' } });
  });

  it('detects an altered log head', async () => {
    await db().updateTable('change_log_head').set({ hash: 'f'.repeat(64) }).where('singleton', '=', 1).execute();
    const result = await instance.services.changeLog.verify();
    await restore();
    expect(result).toMatchObject({ ok: false, failure: { seq: original.length, reason: 'head-mismatch' } });
  });

  it('detects any edit, deletion or reordering at the tampered row (property)', async () => {
    const n = original.length;
    const tampering: fc.Arbitrary<Tampering> = fc.oneof(
      fc.record({ kind: fc.constant('edit' as const), row: fc.nat({ max: n - 1 }), column: fc.constantFrom(...Object.keys(edits)) }),
      fc.record({ kind: fc.constant('delete-middle' as const), row: fc.nat({ max: n - 2 }) }),
      fc.record({ kind: fc.constant('delete-tail' as const), count: fc.integer({ min: 1, max: n }) }),
      fc
        .tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 }))
        .filter(([a, b]) => a !== b)
        .map(([a, b]) => ({ kind: 'swap' as const, row: a, other: b })),
    );
    await fc.assert(
      fc.asyncProperty(tampering, async (t) => {
        let expected: { seq: number; reason: string[] };
        let result: Awaited<ReturnType<typeof instance.services.changeLog.verify>>;
        try {
          expected = await tamper(t);
          result = await instance.services.changeLog.verify();
        } finally {
          await restore();
        }
        expect(result.ok).toBe(false);
        expect(result.failure?.seq).toBe(expected.seq);
        expect(expected.reason).toContain(result.failure?.reason);
      }),
      { numRuns: 30 },
    );
    expect((await instance.services.changeLog.verify()).ok).toBe(true);
  });
});
