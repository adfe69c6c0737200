import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export type EngineName = 'sqlite' | 'postgres';

/** What differs between the engines, as named capabilities. Nothing outside dialects/ branches on the engine. */
export interface StoreDialect {
  engine: EngineName;
  db: Kysely<Database>;
  /** Runs `fn` in a transaction that holds the instance's write lock (serialises change-log appends). */
  writeTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Runs `fn` in a read transaction (a consistent snapshot). */
  readTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Human-readable description without credentials. */
  describe(): string;
  close(): Promise<void>;
}
