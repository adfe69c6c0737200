import { randomBytes } from 'node:crypto';
import { Migrator } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, engines, type TestDatabase } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { logOf, receive, tablesOf, transferOf } from '../../test/support/sync.js';
import { createBuiltinCatalog } from '../catalog/builtin/index.js';
import { createServices, type Services } from '../services.js';
import { administratorAuthority, systemActor } from '../shared/actor.js';
import { canonicalJson } from '../shared/canonical-json.js';
import { systemClock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { ChangeRecord, InstanceIdentity, Transactor } from '../store/ports.js';
import { migrations } from '../store/migrations/index.js';
import { migrateToLatest } from '../store/open-database.js';
import { toChangeRecord } from '../store/sql/change-store.js';
import { createTransactor } from '../store/sql/create-stores.js';
import { EXPORT_FORMAT, legacyChecksumOf, type ExportDocument } from '../sync/export-document.js';
import { toTransfer } from '../sync/transfer.js';
import { GENESIS_HASH, legacyChainHash, legacyDigestOf } from './change-chain.js';
import { nameOf } from './change-writer.js';
import { upgradeHistory } from './history-upgrade.js';
import { historyKeysOf } from './history-keys.js';
import { ensureInstanceIdentity } from './instance-identity.js';
import { createSecretBox } from './secret-box.js';

const catalog = createBuiltinCatalog();

/** Migrates to the last migration before keyed history: the schema an earlier version left. */
async function migrateBeforeKeyedHistory(database: TestDatabase): Promise<void> {
  const previous = Object.keys(migrations)
    .filter((name) => name < '0012-keyed-history')
    .sort()
    .at(-1)!;
  const migrator = new Migrator({
    db: database.dialect.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'shiplog_migrations',
    migrationLockTableName: 'shiplog_migrations_lock',
  });
  const { error } = await migrator.migrateTo(previous);
  if (error) throw error;
}

/**
 * A database as an earlier version wrote it: a log with unkeyed SHA-256 digests and links (ADR 2), the entities it left
 * and their references, written row by row as that version's writer did.
 */
async function legacyDatabase(engine: TestDatabase['engine']): Promise<{ database: TestDatabase; db: Transactor; identity: InstanceIdentity; log: ChangeRecord[] }> {
  const database = await createTestDatabase(engine, { migrate: false });
  await migrateBeforeKeyedHistory(database);
  const db = createTransactor(database.dialect);
  const identity = await ensureInstanceIdentity(db, systemClock, { name: 'dev', kind: 'development' });
  const actor = { kind: 'agent' as const, id: newId(), name: 'Administrator' };
  const log: ChangeRecord[] = [];
  const current = new Map<string, { type: string; body: Record<string, unknown>; head: string }>();
  let hash = GENESIS_HASH;
  const write = (type: string, entityId: string, body: Record<string, unknown> | null, requires: string[] = []) => {
    const def = catalog.get(type);
    const before = current.get(entityId);
    const after = body === null ? null : (def.schema.parse(body) as Record<string, unknown>);
    const seq = log.length + 1;
    const at = systemClock.now();
    const change = {
      seq,
      id: newId(at),
      origin: identity.id,
      originSeq: seq,
      type,
      entityId,
      entityName: nameOf(def, entityId, after ?? before?.body ?? null),
      op: !before ? ('create' as const) : after === null ? ('delete' as const) : ('update' as const),
      before: before?.body ?? null,
      after,
      parent: before?.head ?? null,
      requires,
      actor,
      at,
      request: null,
      changeSet: null,
      revertOf: null,
      appliedFrom: null,
      received: null,
      digest: '',
      hash: '',
    };
    change.digest = legacyDigestOf(change, canonicalJson);
    change.hash = hash = legacyChainHash(hash, seq, change.digest, null);
    log.push(change);
    if (after === null) current.delete(entityId);
    else current.set(entityId, { type, body: after, head: change.id });
    return change;
  };
  const team = newId();
  const created = write('teams', team, { name: 'Network' });
  write('teams', team, { name: 'Network and Telephony', description: 'Second line' });
  const type = newId();
  write('ticket-types', type, { name: 'Outage', defaultTeamId: team }, [log[1]!.id]);
  const spare = newId();
  write('teams', spare, { name: 'Spare' });
  write('teams', spare, null);
  expect(created.op).toBe('create');

  const raw = database.dialect.db;
  for (const change of log) {
    await raw
      .insertInto('changes')
      .values({
        seq: change.seq,
        id: change.id,
        origin: change.origin,
        origin_seq: change.originSeq,
        type: change.type,
        entity_id: change.entityId,
        entity_name: change.entityName,
        op: change.op,
        before: change.before === null ? null : JSON.stringify(change.before),
        after: change.after === null ? null : JSON.stringify(change.after),
        parent: change.parent,
        requires: JSON.stringify(change.requires),
        actor_kind: change.actor.kind,
        actor_id: change.actor.id,
        actor_name: change.actor.name,
        at: change.at,
        request: null,
        change_set: null,
        revert_of: null,
        applied_from: null,
        digest: change.digest,
        hash: change.hash,
      })
      .execute();
  }
  for (const [id, entity] of current) {
    const at = systemClock.now();
    await raw
      .insertInto('entities')
      .values({ id, type: entity.type, name: nameOf(catalog.get(entity.type), id, entity.body), body: JSON.stringify(entity.body), head: entity.head, created_at: at, updated_at: at })
      .execute();
  }
  await raw.insertInto('entity_refs').values({ from_id: type, to_id: team, from_type: 'ticket-types', path: 'defaultTeamId' }).execute();
  await raw
    .insertInto('change_log_head')
    .values({ singleton: 1, seq: log.length, hash, origin_offset: 0 } as never)
    .execute();
  return { database, db, identity, log };
}

const servicesOn = (db: Transactor, identity: InstanceIdentity, key: Buffer): Services =>
  createServices(db, { instance: identity, version: '0.0.0-test', catalog, box: createSecretBox([key]), clock: systemClock });

describe.each(engines)('keying a history written before keyed digests, on %s', (engine) => {
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  async function legacy() {
    const made = await legacyDatabase(engine);
    closing.push(() => made.database.drop());
    return made;
  }

  async function staging(key: Buffer): Promise<TestInstance> {
    const instance = await createTestInstance(engine, { name: 'staging', kind: 'staging', secretKey: key });
    closing.push(() => instance.close());
    return instance;
  }

  it('re-keys a log that passes its old check, after which it verifies, travels, and is never re-keyed again', async () => {
    const { database, db, identity, log } = await legacy();
    await migrateToLatest(database.dialect);
    const key = randomBytes(32);
    const services = servicesOn(db, identity, key);
    expect(await services.changeLog.verify()).toMatchObject({ ok: false, failures: [{ reason: 'legacy-unsealed', seq: log.length }] });

    expect(await upgradeHistory(db, historyKeysOf(createSecretBox([key])))).toEqual({ outcome: 'rekeyed', rows: log.length, failing: 0 });
    expect(await services.changeLog.verify()).toMatchObject({ ok: true, checked: log.length, failureCount: 0, entities: { checked: 2, untracked: 0 } });
    const rekeyed = await logOf(db);
    expect(rekeyed.map((c) => c.digest)).toEqual(rekeyed.map(() => expect.stringMatching(/^hmac:[0-9a-f]{12}:[0-9a-f]{64}$/)));
    // Only the marks changed: every change says what it said.
    expect(rekeyed.map(({ digest: _d, hash: _h, ...rest }) => rest)).toEqual(log.map(({ digest: _d, hash: _h, ...rest }) => rest));
    expect(await upgradeHistory(db, historyKeysOf(createSecretBox([key])))).toEqual({ outcome: 'none', rows: 0, failing: 0 });

    // Writes go on under the key, and the whole history goes to an instance of the same pipeline.
    await services.config.create({ actor: systemActor, request: null, changeSet: null, authority: administratorAuthority }, 'teams', { name: 'Made after the upgrade' });
    const target = await staging(key);
    const pushed = await receive(target, { services }, await transferOf({ db }));
    expect(pushed).toMatchObject({ applied: true, problems: [], counts: { toApply: log.length + 1 } });
    expect(await target.services.changeLog.verify()).toMatchObject({ ok: true });
  });

  it('seals a log that fails its old check as found: the failing row stays reported, and the seal pins the boundary', async () => {
    const { database, db, identity, log } = await legacy();
    const edited = log[1]!;
    await database.dialect.db.updateTable('changes').set({ entity_name: 'Edited before the upgrade' }).where('seq', '=', edited.seq).execute();
    await migrateToLatest(database.dialect);
    const key = randomBytes(32);
    const services = servicesOn(db, identity, key);

    expect(await upgradeHistory(db, historyKeysOf(createSecretBox([key])))).toEqual({ outcome: 'sealed', rows: log.length, failing: 1 });
    const edit = { reason: 'digest-mismatch', seq: edited.seq, changeId: edited.id };
    expect(await services.changeLog.verify()).toMatchObject({ ok: false, failureCount: 1, failures: [edit] });
    // Writes after it chain on under the key; the unkeyed rows do not travel.
    await services.config.create({ actor: systemActor, request: null, changeSet: null, authority: administratorAuthority }, 'teams', { name: 'Made after sealing' });
    expect(await services.changeLog.verify()).toMatchObject({ failureCount: 1, failures: [edit], checked: log.length + 1 });
    const target = await staging(key);
    const before = await tablesOf(target.database);
    const refused = await receive(target, { services }, (await transferOf({ db })).slice(0, 1));
    expect(refused.problems).toEqual([expect.objectContaining({ kind: 'unkeyed-digest', changeId: log[0]!.id })]);
    expect(await tablesOf(target.database)).toEqual(before);

    // Moving the boundary over a keyed row, or dropping the seal, is an edit verify names.
    const raw = database.dialect.db;
    await raw.updateTable('change_log_head').set({ legacy_until: log.length + 1 }).execute();
    expect((await services.changeLog.verify()).failures).toContainEqual(expect.objectContaining({ reason: 'legacy-seal-mismatch', seq: log.length + 1 }));
    await raw.updateTable('change_log_head').set({ legacy_until: log.length, legacy_seal: null }).execute();
    expect((await services.changeLog.verify()).failures).toContainEqual(expect.objectContaining({ reason: 'legacy-unsealed' }));
  });

  it('never re-keys rows an edit relabelled as legacy: the boundary of a keyed log is not the migration’s', async () => {
    const dev = await createTestInstance(engine);
    closing.push(() => dev.close());
    for (const name of ['One', 'Two', 'Three']) await dev.services.config.create(dev.ctx, 'teams', { name });
    const raw = dev.database.dialect.db;
    const rows = await raw.selectFrom('changes').selectAll().orderBy('seq').execute();
    // The editor rewrites the first row and gives it an unkeyed digest and link, as ADR 2 made them, then marks it legacy.
    const first = { ...rows[0]!, actor_name: 'Chief Auditor' };
    const digest = legacyDigestOf(toChangeRecord(first), canonicalJson);
    await raw.updateTable('changes').set({ actor_name: first.actor_name, digest, hash: legacyChainHash(GENESIS_HASH, 1, digest, null) }).where('seq', '=', 1).execute();
    await raw.updateTable('change_log_head').set({ legacy_until: 1, legacy_seal: null }).execute();

    expect(await upgradeHistory(dev.db, historyKeysOf(dev.box))).toMatchObject({ outcome: 'refused' });
    const result = await dev.services.changeLog.verify();
    expect(result.ok).toBe(false);
    expect(result.failures.map((f) => f.reason)).toEqual(expect.arrayContaining(['legacy-unsealed', 'hash-mismatch']));
  });

  it('reads an export file of the earlier format: changes held here are present, others are refused as unkeyed, writing nothing', async () => {
    const { database, db, identity, log } = await legacy();
    const unsigned: Omit<ExportDocument, 'checksum'> = {
      format: EXPORT_FORMAT,
      formatVersion: 1,
      exportedAt: new Date().toISOString(),
      from: { instanceId: identity.id, name: 'dev', kind: 'development', version: '0.0.0-test' },
      selection: {},
      dependencies: [],
      changes: log.map(toTransfer),
    };
    const document = { ...unsigned, checksum: legacyChecksumOf(unsigned) };
    await migrateToLatest(database.dialect);
    const key = randomBytes(32);
    const services = servicesOn(db, identity, key);
    await upgradeHistory(db, historyKeysOf(createSecretBox([key])));
    const ctx = { actor: systemActor, request: null, changeSet: null, authority: administratorAuthority };
    expect(await services.sync.importChanges(ctx, document, { dryRun: false, allowMissing: [] })).toMatchObject({ applied: true, counts: { toApply: 0, alreadyPresent: log.length } });

    const target = await staging(key);
    const before = await tablesOf(target.database);
    for (const dryRun of [true, false]) {
      const outcome = await target.services.sync.importChanges(target.ctx, document, { dryRun, allowMissing: [] }).catch((error: { details: { plan: unknown } }) => error.details.plan);
      expect(outcome).toMatchObject({ applied: false, counts: { toApply: 0, refused: log.length } });
      expect((outcome as { problems: { kind: string }[] }).problems.map((p) => p.kind)).toEqual(log.map(() => 'unkeyed-digest'));
    }
    expect(await tablesOf(target.database)).toEqual(before);
  });
});
