import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/** Runs `fn` on one connection between `begin` and commit, rolling back on any error. */
export async function onOneConnection<T>(
  db: Kysely<Database>,
  begin: CompiledQuery[],
  fn: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    try {
      for (const statement of begin) await conn.executeQuery(statement);
    } catch (error) {
      // A failure after BEGIN (e.g. taking the lock) must not hand the pool a connection inside a transaction.
      await conn.executeQuery(ROLLBACK).catch(() => undefined);
      throw error;
    }
    try {
      const result = await fn(conn);
      await conn.executeQuery(COMMIT);
      return result;
    } catch (error) {
      await conn.executeQuery(ROLLBACK);
      throw error;
    }
  });
}
