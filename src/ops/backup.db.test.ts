import BetterSqlite3 from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinCatalog } from '../catalog/builtin/index.js';
import { DomainError } from '../shared/errors.js';
import { openDialect } from '../store/open-database.js';
import { createTransactor } from '../store/sql/create-stores.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { verifyHistory } from '../tracking/history-verify.js';
import { createSecretBox } from '../tracking/secret-box.js';
import { createTestDatabase, engines, type TestDatabase } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { backupDatabase, restoreBackup } from './backup.js';
import { startBackupSchedule } from './backup-schedule.js';
import { holdServingLock, type ServingLock } from './serving-lock.js';

const KEY = randomBytes(32);
const keys = [KEY];
const adminUrl = process.env.SHIPLOG_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dir = mkdtempSync(join(tmpdir(), 'shiplog-backup-'));
const postgresMade: string[] = [];

function postgresUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A database to restore into that does not exist yet: a SQLite path, or a PostgreSQL database name. */
function freshTarget(engine: string): string {
  if (engine === 'sqlite') return join(dir, `restored-${randomBytes(4).toString('hex')}.sqlite`);
  const name = `shiplog_restored_${randomBytes(5).toString('hex')}`;
  postgresMade.push(name);
  return postgresUrl(name);
}

async function verifyAt(database: string) {
  const dialect = openDialect(database);
  try {
    const db = createTransactor(dialect);
    const result = await db.read((stores) => verifyHistory(stores, { catalog: createBuiltinCatalog(), keys: historyKeysOf(createSecretBox(keys)) }));
    const head = await db.read((stores) => stores.changes.head());
    return { result, head };
  } finally {
    await dialect.close();
  }
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (postgresMade.length === 0) return;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of postgresMade) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe.each(engines)('backups on %s', (engine) => {
  let instance: TestInstance;
  const written: string[] = [];
  const write = async (n: number) => {
    for (let i = 0; i < n; i += 1) written.push((await instance.services.config.create(instance.ctx, 'teams', { name: `Team ${written.length}` })).entity!.id);
  };

  let serving: ServingLock;

  beforeAll(async () => {
    instance = await createTestInstance(engine, { secretKey: KEY });
    // What startInstance holds while it serves.
    serving = await holdServingLock(instance.database.url);
    await write(30);
  });
  afterAll(async () => {
    await serving.release();
    await instance.close();
  });

  it('a backup taken while tracked writes go on verifies, and restores to the history it copied', async () => {
    const to = join(dir, `${engine}-during-writes.backup`);
    let writing = true;
    // A write at a time, yielding between them as requests arriving over HTTP do (SQLite answers without waiting).
    const writer = (async () => {
      while (writing) {
        await write(1);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const backup = await backupDatabase({ database: instance.database.url, to, keys }).finally(() => (writing = false));
    await writer;
    expect(backup.verify.ok).toBe(true);
    expect(backup.verify.checked).toBeGreaterThanOrEqual(30);
    expect(backup.file).toBe(to);
    expect(statSync(to).size).toBe(backup.bytes);
    // Only the named file: no partial copy is left beside it.
    expect(readdirSync(dir).filter((f) => f.includes(`${engine}-during-writes`))).toEqual([`${engine}-during-writes.backup`]);

    const target = freshTarget(engine);
    const restored = await restoreBackup({ from: to, database: target, keys, replace: false });
    expect(restored.verify.ok).toBe(true);
    expect(restored.replaced).toBe(false);
    const { result, head } = await verifyAt(target);
    expect(result.ok).toBe(true);
    expect(head.seq).toBe(backup.verify.headSeq);
    // The restored head is the source's change at that place in the log: a copy of one moment, not a mix.
    const source = await instance.db.read((stores) => stores.changes.scan(head.seq - 1, 1));
    expect(source[0]?.hash).toBe(head.hash);
  });

  it('refuses an existing file, and a copy that does not verify is never named', async () => {
    const existing = join(dir, `${engine}-during-writes.backup`);
    expect((await refusal(backupDatabase({ database: instance.database.url, to: existing, keys }))).code).toBe('VALIDATION_FAILED');

    const other = await createTestInstance(engine, { secretKey: KEY });
    try {
      await other.services.config.create(other.ctx, 'teams', { name: 'Edited outside Shiplog' });
      await sql`update changes set after = replace(after, 'outside', 'around') where type = 'teams'`.execute(other.database.dialect.db);
      const to = join(dir, `${engine}-tampered.backup`);
      const error = await refusal(backupDatabase({ database: other.database.url, to, keys }));
      expect(error.code).toBe('BACKUP_NOT_VERIFIED');
      expect(error.message).toMatch(/does not verify: \d+ failures? \(Row \d+ was edited/);
      expect(readdirSync(dir).filter((f) => f.includes(`${engine}-tampered`))).toEqual([]);

      // The same database copied by other means: restore-backup verifies it first, and writes nothing.
      const bad = join(dir, `${engine}-tampered-by-hand.backup`);
      if (engine === 'sqlite') {
        const raw = new BetterSqlite3(other.database.url);
        await raw.backup(bad);
        raw.close();
      } else {
        execFileSync('pg_dump', ['--format=custom', '--no-owner', `--file=${bad}`, other.database.url]);
      }
      const target = freshTarget(engine);
      expect((await refusal(restoreBackup({ from: bad, database: target, keys, replace: true }))).code).toBe('BACKUP_NOT_VERIFIED');
      if (engine === 'sqlite') expect(existsSync(target)).toBe(false);
      else {
        const admin = new pg.Client({ connectionString: adminUrl });
        await admin.connect();
        expect((await admin.query('select 1 from pg_database where datname = $1', [new URL(target).pathname.slice(1)])).rowCount).toBe(0);
        await admin.end();
      }
    } finally {
      await other.close();
    }
  });

  it('restore refuses a target in use, and replaces one that holds a database only when told', async () => {
    const from = join(dir, `${engine}-during-writes.backup`);
    // The instance serving its own database holds it: its connections on SQLite, its serving lock on PostgreSQL (its
    // pooled connections may all have closed, idle).
    if (engine === 'postgres') {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name <> 'shiplog serving lock'", [
        new URL(instance.database.url).pathname.slice(1),
      ]);
      await admin.end();
    }
    expect((await refusal(restoreBackup({ from, database: instance.database.url, keys, replace: true }))).code).toBe('RESTORE_TARGET_IN_USE');

    const occupied: TestDatabase = await createTestDatabase(engine);
    await occupied.dialect.close();
    try {
      const refused = await refusal(restoreBackup({ from, database: occupied.url, keys, replace: false }));
      expect(refused.code).toBe('RESTORE_TARGET_NOT_EMPTY');
      expect(refused.message).toMatch(/--replace/);
      const restored = await restoreBackup({ from, database: occupied.url, keys, replace: true });
      expect(restored.replaced).toBe(true);
      const { result } = await verifyAt(occupied.url);
      expect(result.ok).toBe(true);
      expect(result.checked).toBe(restored.verify.checked);
    } finally {
      if (engine === 'sqlite') rmSync(occupied.url, { force: true });
      else postgresMade.push(new URL(occupied.url).pathname.slice(1));
    }
  });

  it.runIf(engine === 'sqlite')('the schedule writes named, verified backups, keeps the newest and logs each', async () => {
    const into = join(dir, 'scheduled');
    const lines: { level: string; details: Record<string, unknown> }[] = [];
    const schedule = startBackupSchedule({
      database: instance.database.url,
      name: 'dev',
      dir: into,
      everyMs: 3_600_000,
      keep: 2,
      keys,
      log: {
        info: (details) => lines.push({ level: 'info', details: details as Record<string, unknown> }),
        error: (details) => lines.push({ level: 'error', details: details as Record<string, unknown> }),
      },
    });
    try {
      const files: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        await write(1);
        files.push((await schedule.runNow())!.file);
      }
      expect(readdirSync(into).sort()).toEqual(files.slice(1).map((f) => f.slice(into.length + 1)));
      for (const name of readdirSync(into)) expect(name).toMatch(/^dev-\d{8}T\d{9}Z\.sqlite$/);
      expect(lines.map((l) => [l.level, l.details.outcome])).toEqual([
        ['info', 'success'],
        ['info', 'success'],
        ['info', 'success'],
      ]);
      expect(lines[2]!.details.removed).toEqual([files[0]]);
    } finally {
      await schedule.stop();
    }
  });
});
