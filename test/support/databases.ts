import pg from 'pg';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { EngineName, StoreDialect } from '../../src/store/dialects/dialect.js';
import { migrateToLatest, openDialect } from '../../src/store/open-database.js';

const adminUrl = process.env.SHIPLOG_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Engines under test: SHIPLOG_TEST_DATABASES (comma-separated, required ones must answer), default both where PostgreSQL answers. */
async function resolveEngines(): Promise<EngineName[]> {
  const wanted = process.env.SHIPLOG_TEST_DATABASES;
  if (wanted) {
    const list = wanted.split(',').map((s) => s.trim()).filter(Boolean) as EngineName[];
    for (const engine of list) if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`SHIPLOG_TEST_DATABASES: unknown engine ${engine}`);
    if (list.includes('postgres') && !(await postgresAnswers())) throw new Error(`SHIPLOG_TEST_DATABASES requires postgres, but ${adminUrl} does not answer`);
    return list;
  }
  return (await postgresAnswers()) ? ['sqlite', 'postgres'] : ['sqlite'];
}

export const engines: EngineName[] = await resolveEngines();

function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(run: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

let template: Promise<string> | undefined;

/**
 * A migrated PostgreSQL database to clone: copying it is several times faster than migrating each test database.
 * It is named after the migrations, so test processes share it for as long as the migrations stay the same.
 */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = new URL('../../src/store/migrations/', import.meta.url);
    const hash = createHash('sha256');
    for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(new URL(file, dir)));
    const name = `shiplog_tpl_${hash.digest('hex').slice(0, 16)}`;
    return withAdmin(async (admin) => {
      if ((await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount) return name;
      // Built under a name of its own and renamed once migrated, so no process ever clones a half-built template.
      const building = `${name}_${randomBytes(4).toString('hex')}`;
      await admin.query(`create database ${building}`);
      const dialect = openDialect(databaseUrl(building));
      await migrateToLatest(dialect);
      await dialect.close();
      try {
        await admin.query(`alter database ${building} rename to ${name}`);
      } catch {
        await admin.query(`drop database if exists ${building} with (force)`);
      }
      return name;
    });
  })();
  return template;
}

export interface TestDatabase {
  engine: EngineName;
  /** What `shiplog serve --database` takes. */
  url: string;
  dialect: StoreDialect;
  /** Closes the connection and removes the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database on `engine`, its own file or its own PostgreSQL database (named `name` when given). */
export async function createTestDatabase(engine: EngineName, options: { migrate?: boolean; name?: string; copyOf?: string } = {}): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'shiplog-test-'));
    const url = join(dir, 'instance.sqlite');
    // A SQLite database file to start from (one an earlier version wrote, say).
    if (options.copyOf) copyFileSync(options.copyOf, url);
    const dialect = openDialect(url);
    if (options.migrate !== false) await migrateToLatest(dialect);
    return {
      engine,
      url,
      dialect,
      async drop() {
        await dialect.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = options.name ?? `shiplog_t_${randomBytes(6).toString('hex')}`;
  const from = options.migrate === false ? '' : ` template ${await migratedTemplate()}`;
  await withAdmin((admin) => admin.query(`create database ${name}${from}`));
  const url = databaseUrl(name);
  const dialect = openDialect(url);
  return {
    engine,
    url,
    dialect,
    async drop() {
      await dialect.close();
      await withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}
