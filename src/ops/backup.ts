import BetterSqlite3 from 'better-sqlite3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { createBuiltinCatalog } from '../catalog/builtin/index.js';
import { DomainError } from '../shared/errors.js';
import type { StoreDialect } from '../store/dialects/dialect.js';
import { migrateToLatest, newerDatabaseError, openDialect, schemaState } from '../store/open-database.js';
import { createTransactor } from '../store/sql/create-stores.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { upgradeHistory } from '../tracking/history-upgrade.js';
import { verifyHistory, type VerifyResult } from '../tracking/history-verify.js';
import { createSecretBox } from '../tracking/secret-box.js';
import { servedElsewhere } from './serving-lock.js';

const run = promisify(execFile);

export type BackupEngine = 'sqlite' | 'postgres';

export interface BackupVerification {
  engine: BackupEngine;
  /** Migrations the copy lacked and were applied to a scratch copy to verify it (an earlier version's backup). */
  pending: string[];
  verify: VerifyResult;
}

export interface BackupResult extends BackupVerification {
  file: string;
  bytes: number;
  /** Seconds spent copying, and verifying the copy. */
  copySeconds: number;
  verifySeconds: number;
}

const isPostgres = (database: string) => /^postgres(ql)?:\/\//.test(database);
const sqliteFile = (database: string) => database.replace(/^sqlite:/, '');
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** What a backup file holds, from its first bytes: a SQLite database or a pg_dump archive. */
export function backupEngineOf(file: string): BackupEngine {
  const head = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') === 'SQLite format 3\0') return 'sqlite';
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'postgres';
  throw new DomainError('BACKUP_NOT_VERIFIED', `${file} is neither a SQLite database nor a pg_dump archive: it is not a Shiplog backup.`, { file });
}

/** Refuses a database written by a newer version; anything else it leaves as it is. */
async function refuseNewer(database: string): Promise<void> {
  const dialect = openDialect(database);
  try {
    const { unknown } = await schemaState(dialect);
    if (unknown.length > 0) throw newerDatabaseError(dialect, unknown);
  } finally {
    await dialect.close();
  }
}

/**
 * Checks an open copy as `GET /v1/changes/verify` checks an instance: the history chain and every tracked entity's
 * state. A copy of an earlier version is first brought forward as `shiplog serve` would (migrations, then the keying of
 * an unkeyed history); `scratch` says the copy may be changed so.
 */
async function verifyOpen(dialect: StoreDialect, keys: Buffer[], scratch: boolean): Promise<{ pending: string[]; verify: VerifyResult }> {
  const { pending, unknown } = await schemaState(dialect);
  if (unknown.length > 0) throw newerDatabaseError(dialect, unknown);
  const db = createTransactor(dialect);
  const historyKeys = historyKeysOf(createSecretBox(keys));
  if (pending.length > 0) {
    if (!scratch) throw new Error('an earlier version’s copy is verified on a scratch copy');
    await migrateToLatest(dialect);
    await upgradeHistory(db, historyKeys);
  }
  const verify = await db.read((stores) => verifyHistory(stores, { catalog: createBuiltinCatalog(), keys: historyKeys }));
  return { pending, verify };
}

function notVerified(file: string, verify: VerifyResult): DomainError {
  const shown = verify.failures.slice(0, 5).map((f) => f.message);
  return new DomainError(
    'BACKUP_NOT_VERIFIED',
    `${file} does not verify: ${verify.failureCount} failure${verify.failureCount === 1 ? '' : 's'} (${shown.join(' ')}${verify.failureCount > shown.length ? ' …' : ''})`,
    { file, failures: verify.failures, failureCount: verify.failureCount },
  );
}

// Runs in a worker thread with its own connection; plain CommonJS so it needs no build step. The first step copies a
// few pages; the second asks for every page left, so the rest is copied in one read transaction (WAL: writers go on)
// and a write between steps only restarts that one step.
const sqliteCopySource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.from, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.backup(workerData.to, { progress: ({ totalPages }) => totalPages + 1 })
  .then(() => { db.close(); parentPort.postMessage({ ok: true }); })
  .catch((error) => { db.close(); parentPort.postMessage({ ok: false, message: String(error && error.message || error) }); });
`;

/** SQLite's online backup of `from` into the new file `to`, in a worker thread: the caller's event loop keeps serving. */
function copySqlite(from: string, to: string): Promise<void> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(sqliteCopySource, { eval: true, workerData: { from, to, driver } });
  return new Promise((resolve, reject) => {
    worker.once('message', (answer: { ok: boolean; message?: string }) => (answer.ok ? resolve() : reject(new Error(`backup of ${from} failed: ${answer.message}`))));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`backup of ${from} stopped (exit ${code})`))));
  });
}

/** A pg_dump or pg_restore call for `url`: the password, if any, goes in the environment, never on the command line. */
function pgCall(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { dbname: parsed.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

async function pgTool(tool: 'pg_dump' | 'pg_restore', args: string[], url: string): Promise<void> {
  const { dbname, env } = pgCall(url);
  try {
    await run(tool, [...args, `--dbname=${dbname}`], { env, maxBuffer: 1 << 26 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${tool} failed: ${stderr || (error instanceof Error ? error.message : String(error))}`);
  }
}

/** `url` with another database name. */
function otherDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));

/** Runs `fn` on the server's maintenance database (postgres), with the credentials of `url`. */
async function onServer<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: otherDatabase(url, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Restores a pg_dump archive into a scratch database beside `url`'s and verifies it there; the scratch database is dropped. */
async function verifyPostgresArchive(file: string, url: string, keys: Buffer[]): Promise<{ pending: string[]; verify: VerifyResult }> {
  const scratch = `shiplog_verify_${randomBytes(6).toString('hex')}`;
  await onServer(url, (client) => client.query(`create database ${scratch}`));
  try {
    const scratchUrl = otherDatabase(url, scratch);
    await pgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', file], scratchUrl);
    const dialect = openDialect(scratchUrl);
    try {
      return await verifyOpen(dialect, keys, true);
    } finally {
      await dialect.close();
    }
  } finally {
    await onServer(url, (client) => client.query(`drop database if exists ${scratch} with (force)`));
  }
}

/** Verifies a SQLite backup: in place when it is of this version's schema, else on a scratch copy brought forward. */
async function verifySqliteFile(file: string, keys: Buffer[]): Promise<{ pending: string[]; verify: VerifyResult }> {
  const probe = openDialect(file);
  let pending: string[];
  try {
    ({ pending } = await schemaState(probe));
    if (pending.length === 0) return await verifyOpen(probe, keys, false);
  } finally {
    await probe.close();
  }
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-verify-'));
  try {
    const copy = join(dir, basename(file));
    copyFileSync(file, copy);
    const dialect = openDialect(copy);
    try {
      return await verifyOpen(dialect, keys, true);
    } finally {
      await dialect.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Verifies a backup file with the pipeline's keys. A PostgreSQL archive is restored into a scratch database next to
 * `postgresUrl` (which needs the right to create databases there).
 */
export async function verifyBackup(file: string, keys: Buffer[], postgresUrl?: string): Promise<BackupVerification> {
  const engine = backupEngineOf(file);
  if (engine === 'sqlite') return { engine, ...(await verifySqliteFile(file, keys)) };
  if (!postgresUrl) throw new Error('a PostgreSQL backup is verified on a PostgreSQL server: give a postgres:// database');
  return { engine, ...(await verifyPostgresArchive(file, postgresUrl, keys)) };
}

function removeSqliteFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
}

/**
 * Copies `database` to `to` while the instance keeps serving, verifies the copy, and only then gives it its name: a
 * file at `to` is always a whole, verified backup. SQLite: the online backup API, in a worker thread; PostgreSQL:
 * pg_dump's custom archive (one snapshot), verified in a scratch database. Refuses an existing `to`.
 */
export async function backupDatabase(options: { database: string; to: string; keys: Buffer[] }): Promise<BackupResult> {
  const { database, to, keys } = options;
  if (existsSync(to)) throw new DomainError('VALIDATION_FAILED', `${to} exists: a backup never replaces a file; name another.`, { errors: [{ path: 'to', code: 'exists', message: `${to} exists` }] });
  if (!isPostgres(database) && !existsSync(sqliteFile(database))) throw new DomainError('VALIDATION_FAILED', `${database} does not exist.`, { errors: [{ path: 'database', code: 'not-found', message: `${database} does not exist` }] });
  await refuseNewer(database);
  // Beside the target, so the rename that names it is atomic; a name no finished backup has.
  const partial = join(dirname(to), `.${basename(to)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    const copyStart = process.hrtime.bigint();
    if (isPostgres(database)) await pgTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${partial}`], database);
    else await copySqlite(sqliteFile(database), partial);
    const copySeconds = seconds(copyStart);
    const verifyStart = process.hrtime.bigint();
    const verification = await verifyBackup(partial, keys, isPostgres(database) ? database : undefined);
    const verifySeconds = seconds(verifyStart);
    if (!verification.verify.ok) throw notVerified(to, verification.verify);
    const bytes = statSync(partial).size;
    renameSync(partial, to);
    return { ...verification, file: to, bytes, copySeconds, verifySeconds };
  } finally {
    removeSqliteFiles(partial);
  }
}

/** Whether some connection holds the SQLite file open (a serving instance does, always). */
function sqliteInUse(file: string): boolean {
  const probe = new BetterSqlite3(file, { fileMustExist: true });
  try {
    probe.pragma('busy_timeout = 0');
    probe.pragma('locking_mode = EXCLUSIVE');
    probe.exec('begin exclusive');
    probe.exec('commit');
    return false;
  } catch {
    return true;
  } finally {
    probe.close();
  }
}

function sqliteHasTables(file: string): boolean {
  const probe = new BetterSqlite3(file, { fileMustExist: true, readonly: true });
  try {
    return (probe.prepare("select count(*) as n from sqlite_master where type = 'table'").get() as { n: number }).n > 0;
  } finally {
    probe.close();
  }
}

export interface RestoreResult extends BackupVerification {
  database: string;
  /** Whether a database with tables was replaced (only with `replace`). */
  replaced: boolean;
}

/**
 * Brings `database` back from a backup file: the file is verified first and refused if it does not verify; a target
 * in use (an instance serving it, another connection) is refused; a target with tables is refused unless `replace`.
 * An earlier version's backup is restored as it is: `shiplog serve` migrates it at start.
 */
export async function restoreBackup(options: { from: string; database: string; keys: Buffer[]; replace: boolean }): Promise<RestoreResult> {
  const { from, database, keys, replace } = options;
  const engine = backupEngineOf(from);
  if ((engine === 'postgres') !== isPostgres(database)) {
    throw new DomainError('VALIDATION_FAILED', `${from} is a ${engine === 'postgres' ? 'PostgreSQL' : 'SQLite'} backup: restore it to a ${engine === 'postgres' ? 'postgres:// database' : 'SQLite file'}.`, {
      errors: [{ path: 'database', code: 'wrong-engine', message: `a ${engine} backup` }],
    });
  }
  const inUse = () => new DomainError('RESTORE_TARGET_IN_USE', `${database} is in use (an instance serves it, or another connection holds it): stop it before restoring.`, { database });
  const notEmpty = () => new DomainError('RESTORE_TARGET_NOT_EMPTY', `${database} holds a database: give --replace to replace it with the backup.`, { database });

  if (engine === 'sqlite') {
    const target = sqliteFile(database);
    const exists = existsSync(target) && statSync(target).size > 0;
    if (exists && sqliteInUse(target)) throw inUse();
    const replaced = exists && sqliteHasTables(target);
    if (replaced && !replace) throw notEmpty();
    const verification = await verifyBackup(from, keys);
    if (!verification.verify.ok) throw notVerified(from, verification.verify);
    const staged = join(dirname(target), `.${basename(target)}.restoring-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(from, staged);
      if (exists && sqliteInUse(target)) throw inUse();
      // The old file's journal and shared memory belong to it, not to the restored one.
      for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
      renameSync(staged, target);
    } finally {
      rmSync(staged, { force: true });
    }
    return { ...verification, database: target, replaced };
  }

  const name = databaseName(database);
  const state = await onServer(database, async (client) => {
    const found = (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount ?? 0;
    const others = found ? Number((await client.query('select count(*) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])).rows[0].n) : 0;
    return { exists: found > 0, others };
  });
  if (state.others > 0) throw inUse();
  let replaced = false;
  if (state.exists) {
    const target = new pg.Client({ connectionString: database });
    await target.connect();
    try {
      // An idle instance may hold no pooled connection; it holds its serving lock.
      if (await servedElsewhere(target)) throw inUse();
      replaced = Number((await target.query("select count(*) as n from pg_tables where schemaname = 'public'")).rows[0].n) > 0;
    } finally {
      await target.end();
    }
    if (replaced && !replace) throw notEmpty();
  }
  const verification = await verifyBackup(from, keys, database);
  if (!verification.verify.ok) throw notVerified(from, verification.verify);
  if (!state.exists) await onServer(database, (client) => client.query(`create database ${pg.escapeIdentifier(name)}`));
  // Verifying took a while: an instance started since is not replaced under it.
  const again = new pg.Client({ connectionString: database });
  await again.connect();
  try {
    if (await servedElsewhere(again)) throw inUse();
  } finally {
    await again.end();
  }
  await replaceFromArchive(from, database);
  return { ...verification, database: `postgres:${name}`, replaced };
}

/**
 * Empties `url`'s public schema and restores the archive into it in one transaction: pg_restore writes the archive as
 * SQL, psql runs it after the drop with --single-transaction, so a failure leaves the target as it was.
 */
async function replaceFromArchive(file: string, url: string): Promise<void> {
  const { dbname, env } = pgCall(url);
  const restore = spawn('pg_restore', ['--no-owner', '--no-privileges', '--file=-', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const psql = spawn('psql', ['--no-psqlrc', '--quiet', '--single-transaction', '--set=ON_ERROR_STOP=1', `--dbname=${dbname}`], { env, stdio: ['pipe', 'ignore', 'pipe'] });
  const ended = (child: ChildProcess, tool: string) =>
    new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} failed: ${stderr.trim() || `exit ${code}`}`))));
    });
  const done = Promise.all([ended(restore, 'pg_restore'), ended(psql, 'psql')]);
  // psql stopping on an error closes its input: what pg_restore still writes goes nowhere, and psql's exit says why.
  psql.stdin!.on('error', () => undefined);
  psql.stdin!.write('drop schema if exists public cascade;\ncreate schema public;\n');
  restore.stdout!.pipe(psql.stdin!);
  await done;
}
