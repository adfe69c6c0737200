import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, engines, type TestDatabase } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { migrateToLatest, pendingMigrations } from '../store/open-database.js';
import { migrations } from '../store/migrations/index.js';
import { buildApp } from './build-app.js';

describe.each(engines)('/healthz and /readyz on %s', (engine) => {
  let instance: TestInstance | undefined;
  let bare: TestDatabase | undefined;
  afterEach(async () => {
    await instance?.close();
    await bare?.drop();
    instance = bare = undefined;
  });

  it('names every migration of this version a database lacks, and none once it is migrated', async () => {
    bare = await createTestDatabase(engine, { migrate: false });
    expect(await pendingMigrations(bare.dialect)).toEqual(Object.keys(migrations));
    await migrateToLatest(bare.dialect);
    expect(await pendingMigrations(bare.dialect)).toEqual([]);
  });

  it('is ready when the database answers and is migrated; not ready while stopping, unmigrated or unreachable', async () => {
    instance = await createTestInstance(engine);
    bare = await createTestDatabase(engine, { migrate: false });
    let stopping = false;
    let database = instance.database.dialect;
    const { app } = await buildApp(instance.services, { consoleDir: false, pendingMigrations: () => pendingMigrations(database), stopping: () => stopping });
    const readyz = async () => {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      return { status: res.statusCode, body: res.json() as Record<string, unknown> };
    };

    expect(await readyz()).toEqual({ status: 200, body: { ready: true, database: 'reachable', pendingMigrations: [] } });

    database = bare.dialect;
    const unmigrated = await readyz();
    expect(unmigrated.status).toBe(503);
    expect(unmigrated.body).toMatchObject({ code: 'NOT_READY', stopping: false, database: 'reachable', pendingMigrations: Object.keys(migrations) });

    database = instance.database.dialect;
    stopping = true;
    expect((await readyz()).body).toMatchObject({ code: 'NOT_READY', stopping: true, pendingMigrations: [] });
    // Alive all the same: /healthz does not touch the database.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    stopping = false;
    await instance.database.dialect.close();
    const away = await readyz();
    expect(away.status).toBe(503);
    expect(away.body).toMatchObject({ code: 'NOT_READY', database: 'unreachable' });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    await app.close();
    // Already closed above; dropping the test database closes it again.
    instance.database.dialect.close = async () => undefined;
  });
});
