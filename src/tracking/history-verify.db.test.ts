import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { receive, transferOf, writeManyChanges } from '../../test/support/sync.js';
import { createServices } from '../services.js';
import { canonicalJson } from '../shared/canonical-json.js';
import type { ChangeLogHeadTable, ChangesTable, EntitiesTable } from '../store/schema.js';
import { toChangeRecord } from '../store/sql/change-store.js';
import { legacyChainHash, legacyDigestOf } from './change-chain.js';
import { keyIdOfMark } from './history-keys.js';
import { createSecretBox, keyIdOf } from './secret-box.js';

type ChangeRow = Selectable<ChangesTable>;

describe.each(engines)('verify on %s', (engine) => {
  const firstKey = randomBytes(32);
  let instance: TestInstance;
  let saved: { changes: ChangeRow[]; head: Selectable<ChangeLogHeadTable>[]; entities: Selectable<EntitiesTable>[] };
  const ids: Record<string, string> = {};
  const db = () => instance.database.dialect.db;
  const verify = () => instance.services.changeLog.verify();
  const rows = () => db().selectFrom('changes').selectAll().orderBy('seq').execute();

  beforeAll(async () => {
    instance = await createTestInstance(engine, { secretKey: firstKey });
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Network' });
    ids.team = team.entity!.id;
    const type = await services.config.create(ctx, 'ticket-types', { name: 'Outage', defaultTeamId: ids.team });
    ids.type = type.entity!.id;
    await services.config.create(ctx, 'webhooks', { name: 'Notify', url: 'https://hooks.example.test/a', events: ['ticket.created'], signingSecret: 'verify-secret' });
    for (let i = 1; i <= 8; i += 1) await services.config.replace(ctx, 'teams', ids.team, { name: `Network ${i}` });
    const spare = await services.config.create(ctx, 'teams', { name: 'Spare' });
    await services.config.remove(ctx, 'teams', spare.entity!.id);
    saved = {
      changes: await rows(),
      head: await db().selectFrom('change_log_head').selectAll().execute(),
      entities: await db().selectFrom('entities').selectAll().orderBy('id').execute(),
    };
  });
  afterAll(async () => instance?.close());
  // Each test tampers with the database; the next finds it as the setup left it.
  afterEach(async () => {
    await db()
      .transaction()
      .execute(async (trx) => {
        await trx.deleteFrom('changes').execute();
        for (const row of saved.changes) await trx.insertInto('changes').values(row).execute();
        await trx.deleteFrom('change_log_head').execute();
        for (const row of saved.head) await trx.insertInto('change_log_head').values(row).execute();
        await trx.deleteFrom('entities').execute();
        for (const row of saved.entities) await trx.insertInto('entities').values(row).execute();
      });
  });

  /** Writes `edit` into row `seq` and gives the row and every later one unkeyed digests and links, as ADR 2 made them. */
  async function forgeWithUnkeyedHashes(seq: number, edit: Partial<ChangeRow>): Promise<void> {
    await db().updateTable('changes').set(edit).where('seq', '=', seq).execute();
    const all = await rows();
    let hash = all.find((r) => Number(r.seq) === seq - 1)?.hash ?? '0'.repeat(64);
    for (const row of all.filter((r) => Number(r.seq) >= seq)) {
      const record = toChangeRecord(row);
      const digest = legacyDigestOf(record, canonicalJson);
      hash = legacyChainHash(hash, record.seq, digest, record.appliedFrom);
      await db().updateTable('changes').set({ digest, hash }).where('seq', '=', row.seq).execute();
    }
    await db().updateTable('change_log_head').set({ hash }).where('singleton', '=', 1).execute();
  }

  it('verifies the untouched history, rows and entities', async () => {
    expect(await verify()).toEqual({
      ok: true,
      checked: saved.changes.length,
      headSeq: saved.changes.length,
      failure: null,
      failures: [],
      failureCount: 0,
      entities: { checked: 3, untracked: 1 },
    });
  });

  it('detects an edited body, actor or time although the editor recomputed every unkeyed digest and link after it', async () => {
    const target = saved.changes[4]!;
    const edits: Partial<ChangeRow>[] = [
      { after: JSON.stringify({ ...(JSON.parse(target.after!) as object), name: 'Forged' }) },
      { actor_name: 'Chief Auditor' },
      { at: Date.UTC(2020, 0, 1) },
    ];
    for (const edit of edits) {
      await forgeWithUnkeyedHashes(Number(target.seq), edit);
      const result = await verify();
      expect(result.ok, JSON.stringify(edit)).toBe(false);
      expect(result.failure, JSON.stringify(edit)).toMatchObject({ seq: Number(target.seq), changeId: target.id, reason: 'digest-mismatch' });
      // Every row the editor re-sealed fails too: an unkeyed digest vouches for nothing.
      expect(result.failures.map((f) => f.seq)).toEqual(saved.changes.filter((r) => Number(r.seq) >= Number(target.seq)).map((r) => Number(r.seq)));
      await db()
        .transaction()
        .execute(async (trx) => {
          for (const row of saved.changes.filter((r) => Number(r.seq) >= Number(target.seq))) await trx.updateTable('changes').set(row).where('seq', '=', row.seq).execute();
          await trx.updateTable('change_log_head').set(saved.head[0]!).where('singleton', '=', 1).execute();
        });
    }
  });

  it('reports every failing row, so one bad row hides nothing after it', async () => {
    // A row whose stored text differs from what was digested (as a lone surrogate once made it), and two real edits after it.
    const [bad, second, third] = [saved.changes[1]!, saved.changes[6]!, saved.changes[9]!];
    await db().updateTable('changes').set({ entity_name: `${bad.entity_name}\ufffd` }).where('seq', '=', bad.seq).execute();
    await db().updateTable('changes').set({ actor_name: 'Someone else' }).where('seq', '=', second.seq).execute();
    await db().updateTable('changes').set({ change_set: 'smuggled' }).where('seq', '=', third.seq).execute();
    const result = await verify();
    expect(result.failures.filter((f) => f.reason === 'digest-mismatch').map((f) => f.changeId)).toEqual([bad.id, second.id, third.id]);
    expect(result.failure).toMatchObject({ changeId: bad.id });
    expect(result.failureCount).toBe(result.failures.length);
  });

  it('lists at most 100 failures and counts them all', async () => {
    const more = await createTestInstance(engine);
    try {
      await writeManyChanges(more, 150);
      await more.database.dialect.db.updateTable('changes').set({ actor_name: 'Rewritten' }).execute();
      const result = await more.services.changeLog.verify();
      expect(result.failures).toHaveLength(100);
      expect(result.failureCount).toBeGreaterThanOrEqual(150);
      expect(result.failures.slice(0, 3).map((f) => f.seq)).toEqual([1, 2, 3]);
    } finally {
      await more.close();
    }
  });

  it('checks each tracked entity against its head change, naming the entity', async () => {
    const entity = (id: string) => saved.entities.find((e) => e.id === id)!;
    const team = entity(ids.team!);
    const named = { type: 'teams', id: team.id, name: team.name };

    await db().updateTable('entities').set({ body: JSON.stringify({ ...(JSON.parse(team.body) as object), isCoManaged: true }) }).where('id', '=', team.id).execute();
    expect((await verify()).failures).toEqual([expect.objectContaining({ reason: 'state-mismatch', entity: named, changeId: team.head })]);

    await db().updateTable('entities').set({ body: team.body, head: '01HEADTHATNEVEREXISTED0000' }).where('id', '=', team.id).execute();
    expect((await verify()).failures).toEqual([expect.objectContaining({ reason: 'head-missing', entity: named, seq: null })]);

    // Back to an earlier state of the entity, with that state's change as its head: the log says it changed since.
    const earlier = saved.changes.find((r) => r.entity_id === team.id && r.op === 'update')!;
    await db().updateTable('entities').set({ body: earlier.after!, head: earlier.id }).where('id', '=', team.id).execute();
    expect((await verify()).failures).toEqual([expect.objectContaining({ reason: 'head-not-latest', entity: named, changeId: earlier.id })]);
  });

  it('compares up to instance-local fields: the agents holding a role are each instance’s own', async () => {
    const role = await instance.services.config.create(instance.ctx, 'roles', { name: 'Auditors' });
    try {
      const stored = (await db().selectFrom('entities').select('body').where('id', '=', role.entity!.id).executeTakeFirstOrThrow()).body;
      await db().updateTable('entities').set({ body: JSON.stringify({ ...(JSON.parse(stored) as object), agentIds: [instance.ctx.actor.id] }) }).where('id', '=', role.entity!.id).execute();
      expect(await verify()).toMatchObject({ ok: true });
    } finally {
      await instance.services.config.remove(instance.ctx, 'roles', role.entity!.id);
    }
  });

  it('counts an entity written while tracking was off as untracked, its head cleared, and stays whole', async () => {
    const { services, ctx } = instance;
    await services.settings.update(ctx, { configTracking: false }, { isAdministrator: true });
    try {
      const written = await services.config.replace(ctx, 'teams', ids.team!, { name: 'Renamed untracked' });
      expect(written).toMatchObject({ changeId: null, entity: { head: null } });
      expect(await verify()).toMatchObject({ ok: true, entities: { checked: 2, untracked: 2 } });
    } finally {
      await services.settings.update(ctx, { configTracking: true }, { isAdministrator: true });
    }
  });

  it('keeps changes made under an old key verifying after a rotation, while that key is configured', async () => {
    const newKey = randomBytes(32);
    const rotated = createServices(instance.db, { instance: instance.services.instance, version: '0.0.0-test', catalog: instance.services.catalog, box: createSecretBox([newKey, firstKey]), clock: instance.services.clock });
    expect(await rotated.changeLog.verify()).toMatchObject({ ok: true });
    const made = await rotated.config.create(instance.ctx, 'teams', { name: 'Made after the rotation' });
    const change = await rotated.changeLog.detail(made.changeId!);
    expect(keyIdOfMark(change.digest)).toBe(keyIdOf(newKey));
    expect(keyIdOfMark(change.hash)).toBe(keyIdOf(newKey));
    expect(await rotated.changeLog.verify()).toMatchObject({ ok: true, checked: saved.changes.length + 1 });

    // A peer that holds both keys takes changes digested under either; one without the old key, none made under it.
    const peer = await createTestInstance(engine, { name: 'staging', kind: 'staging', secretKey: newKey });
    try {
      const batch = await transferOf(instance);
      expect((await receive(peer, instance, batch.slice(0, 1), { dryRun: true })).problems).toEqual([expect.objectContaining({ kind: 'secret-key-unknown' })]);
      const both = createServices(peer.db, { instance: peer.services.instance, version: '0.0.0-test', catalog: peer.services.catalog, box: createSecretBox([newKey, firstKey]), clock: peer.services.clock });
      const sender = { instanceId: instance.services.instance.id, name: 'dev', kind: 'development', version: '0.0.0-test', inPipeline: false };
      const outcome = await both.syncReceiver.receive(peer.ctx, { sender, operation: 'push', changes: batch, dryRun: false, allowMissing: [] });
      expect(outcome).toMatchObject({ applied: true, problems: [] });
    } finally {
      await peer.close();
    }
    const newOnly = createServices(instance.db, { instance: instance.services.instance, version: '0.0.0-test', catalog: instance.services.catalog, box: createSecretBox([newKey]), clock: instance.services.clock });
    const withoutOld = await newOnly.changeLog.verify();
    expect(withoutOld.ok).toBe(false);
    expect(new Set(withoutOld.failures.map((f) => f.reason))).toEqual(new Set(['key-unknown']));
    expect(withoutOld.failureCount).toBe(saved.changes.length);
  });
});
