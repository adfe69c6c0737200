import { Migrator, sql, type MigrationProvider } from 'kysely';
import { DomainError } from '../shared/errors.js';
import { shiplogVersion } from '../version.js';
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

const MIGRATION_TABLE = 'shiplog_migrations';

/** Where a database stands against the migrations this version knows. */
export interface SchemaState {
  /** Migrations applied to the database, in order. */
  applied: string[];
  /** Migrations this version knows and the database lacks: applied at start. */
  pending: string[];
  /** Migrations the database has and this version does not know: it was written by a newer version. */
  unknown: string[];
}

export async function schemaState(dialect: StoreDialect): Promise<SchemaState> {
  const known = Object.keys(migrations);
  const tables = await dialect.db.introspection.getTables();
  const applied = tables.some((t) => t.name === MIGRATION_TABLE)
    ? (await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(dialect.db)).rows.map((r) => r.name)
    : [];
  return { applied, pending: known.filter((name) => !applied.includes(name)), unknown: applied.filter((name) => !known.includes(name)) };
}

/** The refusal of a database written by a newer version: what it has, and what to do. */
export function newerDatabaseError(dialect: StoreDialect, unknown: string[]): DomainError {
  return new DomainError(
    'DATABASE_NEWER',
    `${dialect.describe()} was written by a newer version of Shiplog than this one (${shiplogVersion}): it has migration${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, which this version does not know. Nothing was changed. Run the version that wrote it, or a later one; to go back to this version, restore a backup made before the upgrade (shiplog restore-backup).`,
    { unknownMigrations: unknown, version: shiplogVersion },
  );
}

/** Applies the migrations the database lacks; refuses one written by a newer version (DATABASE_NEWER) and changes nothing then. */
/** The migrations of this version not yet applied to the database (all of them when it has none), in order. */
export async function pendingMigrations(dialect: StoreDialect): Promise<string[]> {
  return (await schemaState(dialect)).pending;
}

export async function migrateToLatest(dialect: StoreDialect): Promise<void> {
  const { unknown } = await schemaState(dialect);
  if (unknown.length > 0) throw newerDatabaseError(dialect, unknown);
  // Unordered: 0011–0011c landed after 0012, so a database of the version that added 0012 lacks migrations named
  // before its last one; they are applied after it (ADR 27). The names of the ones applied are kept, so none runs twice.
  const migrator = new Migrator({
    db: dialect.db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: 'shiplog_migrations_lock',
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
