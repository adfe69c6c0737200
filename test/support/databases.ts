import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
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

export interface TestDatabase {
  engine: EngineName;
  /** What `shiplog serve --database` takes. */
  url: string;
  dialect: StoreDialect;
  /** Closes the connection and removes the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database on `engine`, its own file or its own PostgreSQL database (named `name` when given). */
export async function createTestDatabase(engine: EngineName, options: { migrate?: boolean; name?: string } = {}): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'shiplog-test-'));
    const url = join(dir, 'instance.sqlite');
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
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dialect = openDialect(url.toString());
  if (options.migrate !== false) await migrateToLatest(dialect);
  return {
    engine,
    url: url.toString(),
    dialect,
    async drop() {
      await dialect.close();
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
