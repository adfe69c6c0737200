import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

describe.each(engines)('restore from production keeps the restored instance usable on %s', (engine) => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(engine);
  }, 60_000);
  afterAll(async () => p?.close());

  it('keeps its administrators, so its own API and the links to it still work', async () => {
    const team = await p.dev.call('POST', '/v1/config/teams', { name: 'Network' });
    expect(team.status).toBe(201);
    expect((await p.dev.call('POST', '/v1/instances/staging/push', {})).status).toBe(200);
    expect((await p.staging.call('POST', '/v1/instances/production/push', {})).status).toBe(200);
    const onlyOnStaging = await p.staging.call('POST', '/v1/config/teams', { name: 'Staging experiment' });
    expect(onlyOnStaging.status).toBe(201);

    const plan = await p.staging.call('POST', '/v1/instances/production/restore?dryRun=true', {});
    const restored = await p.staging.call('POST', '/v1/instances/production/restore', { confirm: true, fingerprint: plan.body.fingerprint });
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body).toMatchObject({ restored: true, instances: [{ name: 'staging', restored: true, lost: { count: 1 } }] });

    const me = await p.staging.call('GET', '/v1/instance');
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    expect(me.body.you).toMatchObject({ isAdministrator: true });
    expect((await p.staging.call('GET', `/v1/config/teams/${onlyOnStaging.body.entity.id}`)).status).toBe(404);
    const fromDev = await p.dev.call('GET', '/v1/instances/staging/status');
    expect(fromDev.body).toMatchObject({ reachable: true, behind: 0, ahead: 0, inSync: true });
    const fromStaging = await p.staging.call('GET', '/v1/instances/production/status');
    expect(fromStaging.body).toMatchObject({ reachable: true, inSync: true });
  });
});
