import pg from 'pg';
import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { Database } from '../schema.js';
import type { StoreDialect } from './dialect.js';
import { onOneConnection } from './transaction.js';

// int8 columns (seq, timestamps) fit in a double for every value Shiplog writes.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** Advisory lock key serialising change-log appends across every Shiplog process on this database. */
const CHANGE_LOG_LOCK = 0x5348_4c47;

/** Named (server-side prepared) statements per connection; statements past this run unnamed. */
const NAMED_STATEMENTS_PER_CONNECTION = 500;

const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `shiplog_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    // Bounded: unusual statements (long `in` lists) should not pin memory for the life of the process.
    if (statementNames.size >= 10_000) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Gives Kysely pool clients whose parameterised queries are named by their SQL text, so PostgreSQL parses and
 * plans each statement once per connection. Queries without parameters keep the simple protocol (several
 * statements in one round trip).
 */
function withNamedStatements(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const named = new Set<string>();
    return {
      query(textOrCursor: unknown, parameters?: ReadonlyArray<unknown>) {
        if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable) as never;
        const values = parameters ? [...parameters] : [];
        if (values.length === 0) return client.query(textOrCursor, values) as never;
        const name = statementName(textOrCursor);
        if (!named.has(name)) {
          if (named.size >= NAMED_STATEMENTS_PER_CONNECTION) return client.query(textOrCursor, values) as never;
          named.add(name);
        }
        return client.query({ name, text: textOrCursor, values }) as never;
      },
      release: () => client.release(),
    };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

// One round trip: a query without parameters goes as one simple query, both statements in it.
const BEGIN_WRITE = [CompiledQuery.raw(`begin isolation level read committed; select pg_advisory_xact_lock(${CHANGE_LOG_LOCK})`)];
const BEGIN_READ = [CompiledQuery.raw('begin isolation level repeatable read read only')];

/**
 * Session settings of every connection. No parallel workers: Shiplog's statements are short, and starting workers
 * (~5–10 ms) cost more than they saved: a sync reconciliation's reads took 15–30 ms with them, 2–4 ms without.
 */
const SESSION_OPTIONS = '-c max_parallel_workers_per_gather=0';

export function openPostgres(url: string, poolSize = 10): StoreDialect {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, options: SESSION_OPTIONS });
  // An idle connection the server ends (restart, failover, a forced drop) is discarded by the pool and the next query
  // opens a new one; without a listener its error would end the process.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withNamedStatements(pool) }) });
  const safe = new URL(url);
  safe.password = '';
  return {
    engine: 'postgres',
    db,
    writeTransaction: (fn) => onOneConnection(db, BEGIN_WRITE, fn),
    readTransaction: (fn) => onOneConnection(db, BEGIN_READ, fn),
    describe: () => `postgres:${safe.host}${safe.pathname}`,
    close: () => db.destroy(),
  };
}
