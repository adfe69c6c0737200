import pg from 'pg';

/** Advisory lock key held (shared) by every process serving a PostgreSQL database: "SHPS". */
export const SERVING_LOCK = 0x5348_5053;

const isPostgres = (database: string) => /^postgres(ql)?:\/\//.test(database);

export interface ServingLock {
  release(): Promise<void>;
}

/**
 * Marks `database` as served by this process for as long as it runs, so that `shiplog restore-backup` can tell: on
 * PostgreSQL a shared advisory lock on a connection of its own (pooled connections close when idle, and an idle
 * instance must still count); on SQLite nothing, as a serving instance always holds the file open.
 */
export async function holdServingLock(database: string): Promise<ServingLock> {
  if (!isPostgres(database)) return { release: async () => undefined };
  const client = new pg.Client({ connectionString: database, application_name: 'shiplog serving lock' });
  // A connection the server ends loses the lock; the instance itself goes on serving.
  client.on('error', () => undefined);
  await client.connect();
  await client.query('select pg_advisory_lock_shared($1)', [SERVING_LOCK]);
  return { release: () => client.end().catch(() => undefined) };
}

/** Whether a process serves the PostgreSQL database `client` is connected to (holds the serving lock). */
export async function servedElsewhere(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ free: boolean }>('select pg_try_advisory_lock($1) as free', [SERVING_LOCK]);
  if (rows[0]!.free) await client.query('select pg_advisory_unlock($1)', [SERVING_LOCK]);
  return !rows[0]!.free;
}
