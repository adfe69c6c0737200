import { Migrator, type MigrationProvider } from 'kysely';
import { migrations } from './migrations/index.js';
import type { StoreDialect } from './dialects/dialect.js';
import { openPostgres } from './dialects/postgres.js';
import { openSqlite } from './dialects/sqlite.js';

/** Opens `postgres://…` URLs on PostgreSQL and anything else as a SQLite file path. */
export function openDialect(database: string): StoreDialect {
  if (/^postgres(ql)?:\/\//.test(database)) return openPostgres(database);
  return openSqlite(database.replace(/^sqlite:/, ''));
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

const migratorOf = (dialect: StoreDialect) =>
  new Migrator({ db: dialect.db, provider, migrationTableName: 'shiplog_migrations', migrationLockTableName: 'shiplog_migrations_lock' });

/** The migrations of this version not yet applied to the database (all of them when it has none), in order. */
export async function pendingMigrations(dialect: StoreDialect): Promise<string[]> {
  return (await migratorOf(dialect).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

export async function migrateToLatest(dialect: StoreDialect): Promise<void> {
  const migrator = migratorOf(dialect);
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
