import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../../src/access/administrator-role.js';
import { engines } from '../support/databases.js';
import { startPipeline, type Pipeline } from '../support/pipeline.js';

describe.each(engines)('instance-local fields across a pipeline on %s', (engine) => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(engine);
  }, 60_000);
  afterAll(async () => p?.close());

  const adminRole = async (instance: Pipeline['dev']) => (await instance.call('GET', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`)).body.body;

  it("keeps each instance's role holders when a role change arrives, and when it is rolled back there", async () => {
    const stagingAdmins = (await adminRole(p.staging)).agentIds as string[];
    const devRole = await adminRole(p.dev);
    const edited = await p.dev.call('PUT', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`, { ...devRole, description: 'Everything, everywhere.' });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);

    const pushed = await p.dev.call('POST', '/v1/instances/staging/push', {});
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
    const arrived = await adminRole(p.staging);
    expect(arrived.description).toBe('Everything, everywhere.');
    expect(arrived.agentIds).toEqual(stagingAdmins);
    expect(arrived.agentIds).not.toEqual(devRole.agentIds);
    // Staging's administrator still holds every permission there.
    expect((await p.staging.call('GET', '/v1/settings')).status).toBe(200);

    const diff = await p.dev.call('GET', '/v1/instances/staging/diff');
    expect(diff.body.different.filter((d: { type: string }) => d.type === 'roles')).toEqual([]);

    const rolledBack = await p.staging.call('POST', `/v1/changes/${edited.body.changeId}/rollback-before`);
    expect(rolledBack.status, JSON.stringify(rolledBack.body)).toBe(200);
    const reverted = await adminRole(p.staging);
    expect(reverted.description).toBe(devRole.description);
    expect(reverted.agentIds).toEqual(stagingAdmins);
  });
});
