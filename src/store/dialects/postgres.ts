import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.js';
import type { StoreDialect } from './dialect.js';
import { onOneConnection } from './transaction.js';

// int8 columns (seq, timestamps) fit in a double for every value Shiplog writes.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** Advisory lock key serialising change-log appends across every Shiplog process on this database. */
const CHANGE_LOG_LOCK = 0x5348_4c47;

export function openPostgres(url: string, poolSize = 10): StoreDialect {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const safe = new URL(url);
  safe.password = '';
  return {
    engine: 'postgres',
    db,
    writeTransaction: (fn) =>
      onOneConnection(db, ['begin isolation level read committed', `select pg_advisory_xact_lock(${CHANGE_LOG_LOCK})`], fn),
    readTransaction: (fn) => onOneConnection(db, ['begin isolation level repeatable read read only'], fn),
    describe: () => `postgres:${safe.host}${safe.pathname}`,
    close: () => db.destroy(),
  };
}
