import { afterEach, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';

describe.each(engines)('config service on %s', (engine) => {
  let instance: TestInstance;
  afterEach(async () => instance?.close());

  it('records one change per tracked write and none for a save that changes nothing', async () => {
    instance = await createTestInstance(engine);
    const { services, ctx } = instance;
    const created = await services.config.create(ctx, 'teams', { name: 'Service Desk' });
    expect(created.changeId).not.toBeNull();
    const again = await services.config.replace(ctx, 'teams', created.entity!.id, { name: 'Service Desk' });
    expect(again.changeId).toBeNull();
    const renamed = await services.config.replace(ctx, 'teams', created.entity!.id, { name: '1st Line' });
    const page = await services.changeLog.list({ limit: 10 });
    expect(page.items.map((c) => c.id)).toEqual([renamed.changeId, created.changeId]);
    expect(page.items[0]).toMatchObject({ op: 'update', parent: created.changeId, entityName: '1st Line' });
  });
});
