import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createBuiltinCatalog } from '../catalog/builtin/index.js';
import { DomainError } from '../shared/errors.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { upgradeHistory } from '../tracking/history-upgrade.js';
import { verifyHistory } from '../tracking/history-verify.js';
import { createSecretBox, parseSecretKeys } from '../tracking/secret-box.js';
import { createTestDatabase, engines, type TestDatabase } from '../../test/support/databases.js';
import { root, runCli, tempDir } from '../../test/support/cli.js';
import { migrations } from './migrations/index.js';
import { migrateToLatest, schemaState } from './open-database.js';
import { createTransactor } from './sql/create-stores.js';
import type { EngineName } from './dialects/dialect.js';

/** The key scripts/make-upgrade-fixtures.mjs wrote the fixtures under (FIXTURE_SECRET_KEY there). */
const FIXTURE_KEY = Buffer.alloc(32, 7).toString('base64');
const fixtures = join(root, 'test/fixtures/upgrade');
const versions = readdirSync(fixtures)
  .filter((f) => f.endsWith('.sqlite'))
  .map((f) => f.replace(/\.sqlite$/, ''))
  .sort();

/** A database holding what the version `label` wrote: a copy of the SQLite file, or the SQL dump loaded by psql. */
async function openFixture(engine: EngineName, label: string): Promise<TestDatabase> {
  if (engine === 'sqlite') return createTestDatabase('sqlite', { migrate: false, copyOf: join(fixtures, `${label}.sqlite`) });
  const database = await createTestDatabase('postgres', { migrate: false });
  execFileSync('psql', ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--dbname=${database.url}`, `--file=${join(fixtures, `${label}.pg.sql`)}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  return database;
}

const open: TestDatabase[] = [];
afterAll(async () => {
  for (const database of open) await database.drop();
});

describe.each(engines)('databases written by earlier versions on %s', (engine) => {
  it.each(versions)('%s opens, migrates forward and verifies, history and state', async (label) => {
    const database = await openFixture(engine, label);
    open.push(database);
    const before = await schemaState(database.dialect);
    expect(before.unknown).toEqual([]);
    expect(before.pending.length).toBeGreaterThan(0);

    await migrateToLatest(database.dialect);
    expect((await schemaState(database.dialect)).applied).toEqual(Object.keys(migrations).sort());

    const db = createTransactor(database.dialect);
    const keys = historyKeysOf(createSecretBox(parseSecretKeys(FIXTURE_KEY)));
    const unkeyed = !before.applied.includes('0012-keyed-history');
    // What shiplog serve does at start: a history of the unkeyed format is carried forward under the key, once.
    const upgrade = await upgradeHistory(db, keys);
    expect(upgrade.outcome).toBe(unkeyed ? 'rekeyed' : 'none');
    const result = await db.read((stores) => verifyHistory(stores, { catalog: createBuiltinCatalog(), keys }));
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    // The demo's starter configuration and the change left on dev: a history and tracked entities to check.
    expect(result.checked).toBeGreaterThan(5);
    expect(result.entities.checked).toBeGreaterThan(3);
  });

  it('a database with a migration this version does not know is refused, and left as it was', async () => {
    const database = await createTestDatabase(engine);
    open.push(database);
    await sql`insert into shiplog_migrations (name, timestamp) values ('9999-from-a-newer-version', '2027-01-01T00:00:00.000Z')`.execute(database.dialect.db);
    const error = await migrateToLatest(database.dialect).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('DATABASE_NEWER');
    expect((error as DomainError).message).toMatch(/newer version of Shiplog.*9999-from-a-newer-version.*Run the version that wrote it, or a later one/);
    expect((await schemaState(database.dialect)).unknown).toEqual(['9999-from-a-newer-version']);
  });
});

describe('the CLI on a database of a newer version', () => {
  it('exits 1 saying what to do, and serve refuses to start', async () => {
    const database = await createTestDatabase('sqlite');
    await sql`insert into shiplog_migrations (name, timestamp) values ('9999-from-a-newer-version', '2027-01-01T00:00:00.000Z')`.execute(database.dialect.db);
    const dir = tempDir();
    for (const args of [
      ['admin-token', '--database', database.url],
      ['serve', '--name', 'dev', '--database', database.url, '--port', '0', '--key-file', join(dir, 'dev.key'), '--quiet'],
    ]) {
      const { code, stderr } = await runCli(args);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^shiplog: .* was written by a newer version of Shiplog than this one .*9999-from-a-newer-version.*Nothing was changed\. Run the version that wrote it, or a later one/);
    }
    expect((await schemaState(database.dialect)).unknown).toEqual(['9999-from-a-newer-version']);
    await database.drop();
  });
});
