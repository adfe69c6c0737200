import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Runs `fn` on one connection between `begin` and commit, rolling back on any error. */
export async function onOneConnection<T>(
  db: Kysely<Database>,
  begin: string[],
  fn: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    for (const statement of begin) await sql.raw(statement).execute(conn);
    try {
      const result = await fn(conn);
      await sql.raw('commit').execute(conn);
      return result;
    } catch (error) {
      await sql.raw('rollback').execute(conn);
      throw error;
    }
  });
}
