import { CompiledQuery, type DatabaseConnection, type Kysely, type QueryResult } from 'kysely';
import type { Database } from '../schema.js';

const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

// The connection under each open transaction's Kysely, for statements that need none of Kysely's execution path.
const connections = new WeakMap<Kysely<Database>, DatabaseConnection>();

/**
 * Runs a compiled statement: straight on the connection when `db` is an open transaction without plugins
 * (what Kysely's executor would do, without its per-statement promises), through `db` otherwise.
 */
export function executeCompiled<R>(db: Kysely<Database>, query: CompiledQuery<R>): Promise<QueryResult<R>> {
  const connection = connections.get(db);
  return connection ? connection.executeQuery<R>(query) : db.executeQuery(query);
}

/** Runs `fn` on one connection between `begin` and commit, rolling back on any error. */
export async function onOneConnection<T>(
  db: Kysely<Database>,
  begin: CompiledQuery[],
  fn: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (trx) => {
    const executor = trx.getExecutor();
    const connection = await executor.provideConnection(async (c) => c);
    try {
      for (const statement of begin) await connection.executeQuery(statement);
    } catch (error) {
      // A failure after BEGIN (e.g. taking the lock) must not hand the pool a connection inside a transaction.
      await connection.executeQuery(ROLLBACK).catch(() => undefined);
      throw error;
    }
    if (executor.plugins.length === 0) connections.set(trx, connection);
    try {
      const result = await fn(trx);
      await connection.executeQuery(COMMIT);
      return result;
    } catch (error) {
      await connection.executeQuery(ROLLBACK);
      throw error;
    } finally {
      connections.delete(trx);
    }
  });
}
