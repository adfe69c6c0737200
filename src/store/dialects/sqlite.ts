import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CompiledQuery, Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Database } from '../schema.js';
import type { StoreDialect } from './dialect.js';
import { onOneConnection } from './transaction.js';

/** Statements kept prepared per database; Kysely's driver would otherwise prepare every query anew. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The serving connection checkpoints the WAL itself only past this many pages (64 MiB at 4 KiB): the bound on the
 * WAL when the worker stops, or never finds a quiet moment to let it restart under sustained writes. Above the
 * ~12,000 pages that a rollback of 10,000 changes of ~2 KB bodies appends in one commit.
 */
const WAL_BACKSTOP_PAGES = 16_384;
/** How often the checkpoint worker copies the WAL into the database. */
const CHECKPOINT_INTERVAL_MS = 200;

/** Pragmas of every connection that serves an instance (and of the benchmarks' raw baseline). */
export function configureSqliteConnection(raw: BetterSqlite3.Database): void {
  raw.pragma('journal_mode = WAL');
  // WAL with NORMAL sync keeps every commit atomic and durable against a process crash.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 10000');
  raw.pragma('foreign_keys = ON');
  // Checkpoints run in a worker (startWalCheckpointer); a commit copies and syncs the WAL only past the backstop.
  raw.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
  raw.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  // A large transaction (a rollback of thousands of changes) stays in memory until it commits.
  raw.pragma('cache_size = -65536');
}

/** Wraps a better-sqlite3 database so that `prepare` reuses statements by SQL text (least recently used evicted). */
function withStatementCache(raw: BetterSqlite3.Database, capacity = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql) {
      const hit = cache.get(sql);
      // A statement still iterating (a streamed query) cannot run again; give the caller a fresh one.
      if (hit && !hit.busy) {
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const statement = raw.prepare(sql);
      if (hit) return statement;
      cache.set(sql, statement);
      if (cache.size > capacity) cache.delete(cache.keys().next().value!);
      return statement;
    },
    close() {
      cache.clear();
      raw.close();
    },
  };
}

// Runs in a worker thread with its own connection; plain CommonJS so it needs no build step.
const checkpointerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const checkpoint = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick retries */ }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointer {
  stop(): Promise<void>;
}

/**
 * Starts a worker thread that checkpoints `file`'s WAL every `intervalMs` (PASSIVE: never blocks a writer).
 * It does not keep the process alive; `stop` runs a last checkpoint and waits for the worker to exit.
 */
export function startWalCheckpointer(file: string, intervalMs = CHECKPOINT_INTERVAL_MS): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(checkpointerSource, { eval: true, workerData: { file, driver, intervalMs } });
  worker.unref();
  // A failed worker only costs latency: the serving connection's backstop checkpoint still bounds the WAL.
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        // Referenced again while stopping, so the caller's process waits for the last checkpoint.
        worker.ref();
        worker.postMessage('stop');
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, 5000, 'timeout')));
        const outcome = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') await worker.terminate();
      })();
      return stopping;
    },
  };
}

const BEGIN_WRITE = [CompiledQuery.raw('begin immediate')];
const BEGIN_READ = [CompiledQuery.raw('begin')];

export function openSqlite(file: string): StoreDialect {
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  configureSqliteConnection(raw);
  const checkpointer = inMemory ? undefined : startWalCheckpointer(file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return {
    engine: 'sqlite',
    db,
    // SQLite has one writer; BEGIN IMMEDIATE takes the write lock up front so readers never upgrade and deadlock.
    writeTransaction: (fn) => onOneConnection(db, BEGIN_WRITE, fn),
    readTransaction: (fn) => onOneConnection(db, BEGIN_READ, fn),
    describe: () => `sqlite:${file}`,
    async close() {
      try {
        await db.destroy();
      } finally {
        await checkpointer?.stop();
      }
    },
  };
}
