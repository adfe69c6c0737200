import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { HaloClient, type HaloJson } from '../support/halo-client.js';
import { contractProblems } from '../support/halo-contract.js';
import { applicationFor, ok, startPipeline, type Pipeline } from '../support/pipeline.js';

/**
 * Tooling written for Halo's configuration tracking drives Shiplog's across three instances (dev → staging →
 * production): Instance counts, the commits another instance lacks, a push of one commit, a rollback — each the same
 * operation, with the same checks and refusals, as through /v1.
 */
describe.each(engines)('Halo configuration tracking across three instances on %s', (engine) => {
  let p: Pipeline;
  let halo: HaloClient;
  const instanceId: Record<string, number> = {};

  const instances = async (): Promise<Record<string, HaloJson>> => Object.fromEntries((await halo.get('Instance')).instances.map((i: HaloJson) => [i.envname, i]));
  const lacking = async (name: string) => (await halo.get(`ConfigCommit?notin_instance_id=${instanceId[name]}`)).configcommits as HaloJson[];

  beforeAll(async () => {
    p = await startPipeline(engine);
    const credentials = await applicationFor(p.dev, 'halo tooling');
    halo = new HaloClient(p.dev.url.replace(/\/$/, ''), credentials.clientId, credentials.clientSecret);
    await halo.authenticate('all');
    for (const [name, record] of Object.entries(await instances())) instanceId[name] = record.id;
  });
  afterAll(async () => p?.close());

  it('reads Instance: this instance and the linked ones, with counts and whether they can merge', async () => {
    const all = await instances();
    expect(Object.keys(all).sort()).toEqual(['dev', 'production', 'staging']);
    expect(all.dev).toMatchObject({ isself: true, isprod: false });
    expect(all.production).toMatchObject({ isself: false, isprod: true, offline: false, versionmatch: true, canmerge: true, nomergereason: null });
    for (const record of Object.values(all)) expect(contractProblems('Instance', record)).toEqual([]);
    const links = (await halo.get('ConnectedInstance')).connectedinstances as HaloJson[];
    expect(links.map((l) => l.name).sort()).toEqual(['production', 'staging']);
    for (const record of links) expect(contractProblems('ConnectedInstance', record)).toEqual([]);
    expect(JSON.stringify(links)).not.toContain('secret');
    const tested = await halo.save('ConnectedInstance', { id: links.find((l) => l.name === 'staging').id, _test: true });
    expect(tested).toMatchObject({ name: 'staging', _test_ok: true });
  });

  it('lists the commits staging lacks, pushes one, rolls one back, and reads the counts before and after', async () => {
    const before = await instances();
    const [blue, red] = await halo.save('Team', { name: 'Blue team' }, { name: 'Red team' });
    const after = await instances();
    expect(after.staging.commits_ahead).toBe(before.staging.commits_ahead + 2);
    expect(after.staging.insync).toBe(false);

    const missing = await lacking('staging');
    expect(missing.map((c) => c.summary)).toEqual(expect.arrayContaining(['create teams "Blue team"', 'create teams "Red team"']));
    for (const commit of missing) expect(contractProblems('ConfigCommit', commit)).toEqual([]);
    const blueCommit = missing.find((c) => c.summary === 'create teams "Blue team"');

    // Production is not dev's pipeline edge: refused exactly as /v1 refuses it, with the problems listed.
    const refused = await halo.request('POST', 'ConfigCommit', [{ id: blueCommit.id, _push_to_instance_id: instanceId.production }]);
    const v1 = await p.dev.call('POST', '/v1/instances/production/push', { changeIds: [blueCommit.shiplog_id] });
    expect(refused.status).toBe(v1.status);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.body.code).toBe(v1.body.code);
    expect(refused.body.problems.map((x: HaloJson) => x.kind)).toEqual(v1.body.problems.map((x: HaloJson) => x.kind));

    const pushed = await halo.save('ConfigCommit', { id: blueCommit.id, _push_to_instance_id: instanceId.staging });
    expect(pushed._warning).toMatch(/applied/);
    expect((await ok(p.staging, 'GET', '/v1/config/teams?q=Blue')).items.map((t: HaloJson) => t.id)).toEqual([blue.shiplog_id]);
    expect((await lacking('staging')).map((c) => c.id)).not.toContain(blueCommit.id);
    expect((await instances()).staging.commits_ahead).toBe(after.staging.commits_ahead - 1);

    // Rolling back before Red team's creation removes it, by a new change of its own.
    const redCommit = missing.find((c) => c.summary === 'create teams "Red team"');
    const detail = await halo.get(`ConfigCommit/${redCommit.id}?includedetails=true`);
    expect(JSON.parse(detail.payload)).toMatchObject({ name: 'Red team' });
    expect(detail.rollback_operation).toBe('delete');
    const rolled = await halo.save('ConfigCommit', { id: redCommit.id, _rollback: true });
    expect(rolled._warning).toMatch(/Rolled back 1 change/);
    expect((await halo.request('GET', `Team/${red.id}`)).status).toBe(404);
    const latest = (await halo.get('ConfigCommit?pageinate=true&page_size=1')).configcommits[0];
    expect(latest.summary).toBe('delete teams "Red team" (rollback)');
    const final = await instances();
    const status = await ok(p.dev, 'GET', '/v1/instances/staging/status');
    expect([final.staging.commits_ahead, final.staging.commits_behind]).toEqual([status.ahead, status.behind]);
    expect(final.staging.commits_ahead).toBe(2);

    // Staging, read through its own /api: it has what was pushed and none of what was not.
    expect((await ok(p.staging, 'GET', '/api/Team')).teams.map((t: HaloJson) => t.name)).toEqual(['Blue team']);
  });

  it('restores this instance from production with _restore_from_prod, after which they are in sync', async () => {
    const restored = await halo.save('Instance', { id: instanceId.dev, _restore_from_prod: true });
    expect(restored).toMatchObject({ isself: true, _restore_from_prod_result: 'Restored from production.' });
    const after = await instances();
    expect(after.production).toMatchObject({ commits_ahead: 0, commits_behind: 0, insync: true });
    expect((await halo.get('Team')).teams).toEqual([]);
  });
});
