import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.js';
import type { StoreDialect } from './dialect.js';
import { onOneConnection } from './transaction.js';

export function openSqlite(file: string): StoreDialect {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  // WAL with NORMAL sync keeps every commit atomic and durable against a process crash.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 10000');
  raw.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  return {
    engine: 'sqlite',
    db,
    // SQLite has one writer; BEGIN IMMEDIATE takes the write lock up front so readers never upgrade and deadlock.
    writeTransaction: (fn) => onOneConnection(db, ['begin immediate'], fn),
    readTransaction: (fn) => onOneConnection(db, ['begin'], fn),
    describe: () => `sqlite:${file}`,
    close: () => db.destroy(),
  };
}
