import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

describe.each(engines)('pipeline smoke on %s', (engine) => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(engine);
  }, 60_000);
  afterAll(async () => p?.close());

  it('moves a change from dev to staging to production', async () => {
    const created = await p.dev.call('POST', '/v1/config/teams', { name: 'Network' });
    expect(created.status).toBe(201);
    const status = await p.dev.call('GET', '/v1/instances/staging/status?list=true');
    expect(status.body).toMatchObject({ ahead: 1, behind: 0, reachable: true });
    const plan = await p.dev.call('POST', '/v1/instances/staging/push?dryRun=true', {});
    expect(plan.status).toBe(200);
    expect(plan.body.counts.toApply).toBe(1);
    const pushed = await p.dev.call('POST', '/v1/instances/staging/push', {});
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
    const pulled = await p.production.call('POST', '/v1/instances/staging/pull', {});
    expect(pulled.status, JSON.stringify(pulled.body)).toBe(200);
    const onProd = await p.production.call('GET', `/v1/config/teams/${created.body.entity.id}`);
    expect(onProd.status).toBe(200);
    expect((await p.dev.call('GET', '/v1/instances/staging/status')).body).toMatchObject({ inSync: true });
    const wrongEdge = await p.dev.call('POST', '/v1/instances/production/push', {});
    expect(wrongEdge.body.code).toBe('NOT_A_PIPELINE_EDGE');
  });
});
