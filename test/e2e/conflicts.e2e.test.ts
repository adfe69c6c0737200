import { describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { changeLog, create, ok, pipelineForEachTest, replace, trackedState, type Answer, type LiveInstance } from '../support/pipeline.js';

const ids = (changes: Answer[]) => changes.map((c) => c.id);
const changeSet = (label: string) => ({ 'x-change-set': label });

describe.each(engines)('conflicts and dependencies across the pipeline on %s', (engine) => {
  const p = pipelineForEachTest(engine);

  const idOf = (i: LiveInstance) => i.services.instance.id;

  async function pushThrough(): Promise<void> {
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    await ok(p.staging, 'POST', '/v1/instances/production/push', {});
  }

  async function audited(i: LiveInstance, kind: string): Promise<Answer[]> {
    return (await ok(i, 'GET', `/v1/audit?kind=${kind}`)).items;
  }

  it('catches a direct production change as a conflict, showing both versions and writing nothing', async () => {
    const team = await create(p.dev, 'teams', { name: 'Escalations' });
    await pushThrough();

    await ok(p.production, 'PATCH', '/v1/settings', { disableConfigEditing: true });
    const locked = await p.production.call('PUT', `/v1/config/teams/${team.id}`, { name: 'Escalations (hotfix)' });
    expect(locked).toMatchObject({ status: 423, body: { code: 'CONFIG_LOCKED' } });
    // An emergency: the administrator lifts the lock and edits production directly.
    await ok(p.production, 'PATCH', '/v1/settings', { disableConfigEditing: false });
    expect(await audited(p.production, 'settings.lock-lifted')).toHaveLength(1);
    const direct = await replace(p.production, 'teams', team.id, { name: 'Escalations (hotfix)' });

    const upstream = await replace(p.dev, 'teams', team.id, { name: 'Escalations tier 2' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(await ok(p.staging, 'GET', '/v1/instances/production/status')).toMatchObject({ ahead: 1, behind: 1, inSync: false });

    const before = await trackedState(p.production);
    const expectedProblem = {
      kind: 'conflict',
      changeId: upstream,
      entity: { type: 'teams', id: team.id, name: 'Escalations tier 2' },
      receiver: { head: direct, body: { name: 'Escalations (hotfix)' } },
      incoming: { parent: team.changeId, before: { name: 'Escalations' }, after: { name: 'Escalations tier 2' } },
    };
    const planned = await ok(p.staging, 'POST', '/v1/instances/production/push?dryRun=true', {});
    expect(planned.problems).toMatchObject([expectedProblem]);
    const refused = await p.staging.call('POST', '/v1/instances/production/push', {});
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'SYNC_CONFLICT', problems: [expectedProblem] });
    expect(refused.body.plan.changes).toMatchObject([{ id: upstream, action: 'refused' }]);
    expect(refused.body.plan.counts).toMatchObject({ received: 1, toApply: 0, refused: 1, problems: 1 });
    const pulled = await p.production.call('POST', '/v1/instances/staging/pull', {});
    expect(pulled.body).toMatchObject({ code: 'SYNC_CONFLICT', problems: [expectedProblem] });

    expect(await trackedState(p.production)).toEqual(before);
    expect((await ok(p.production, 'GET', '/v1/changes/verify')).ok).toBe(true);
    expect((await audited(p.production, 'sync.push-received'))[0]).toMatchObject({ outcome: 'failure', details: { problems: ['conflict'] } });
  });

  it('carries a production hotfix back through the pipeline by export and import, where production finds it already present', async () => {
    const department = await create(p.dev, 'departments', { name: 'Field services' });
    await pushThrough();
    const hotfix = await replace(p.production, 'departments', department.id, { name: 'Field services (hotfix)' });

    const document = await ok(p.production, 'POST', '/v1/changes/export', { changeIds: [hotfix] });
    expect(ids(document.changes)).toEqual([hotfix]);
    const imported = await ok(p.dev, 'POST', '/v1/changes/import', document);
    expect(imported).toMatchObject({ operation: 'import', applied: true, counts: { toApply: 1 } });
    const onDev = (await changeLog(p.dev)).at(-1);
    expect(onDev).toMatchObject({ id: hotfix, origin: idOf(p.production), originSeq: 2, appliedFrom: idOf(p.production) });

    const toStaging = await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(toStaging.changes).toMatchObject([{ id: hotfix, action: 'apply' }]);
    expect(await ok(p.staging, 'GET', '/v1/instances/production/status')).toMatchObject({ inSync: true, ahead: 0, behind: 0 });
    const before = await trackedState(p.production);

    // Sending everything since the last sync carries the hotfix to production, which reports it present.
    await ok(p.staging, 'PATCH', '/v1/settings', { skipDiffCheck: true });
    const resent = await ok(p.staging, 'POST', '/v1/instances/production/push', {});
    expect(resent).toMatchObject({ mode: 'since-last-sync', changes: [{ id: hotfix, action: 'present' }], counts: { toApply: 0, alreadyPresent: 1 } });
    const reimported = await ok(p.production, 'POST', '/v1/changes/import', document);
    expect(reimported).toMatchObject({ changes: [{ id: hotfix, action: 'present' }], counts: { toApply: 0, alreadyPresent: 1 } });
    expect(await trackedState(p.production)).toEqual(before);

    for (const i of p.all) {
      expect((await ok(i, 'GET', `/v1/config/departments/${department.id}`)).name, i.name).toBe('Field services (hotfix)');
      expect((await ok(i, 'GET', '/v1/changes/verify')).ok, i.name).toBe(true);
    }
  });

  it('refuses an out-of-order cherry-pick with the missing dependency, or adds the closure and says why', async () => {
    const department = await create(p.dev, 'departments', { name: 'Facilities' });
    const team = await create(p.dev, 'teams', { name: 'Facilities desk', departmentId: department.id });
    const edit = await replace(p.dev, 'teams', team.id, { name: 'Facilities helpdesk', departmentId: department.id });
    const before = await trackedState(p.staging);

    const requiresMissing = await p.dev.call('POST', '/v1/instances/staging/push', { changeIds: [team.changeId], withDependencies: false });
    expect(requiresMissing.status).toBe(409);
    expect(requiresMissing.body).toMatchObject({ code: 'MISSING_DEPENDENCY', problems: [{ kind: 'missing-dependency', changeId: team.changeId, missing: [department.changeId] }] });
    const parentMissing = await p.dev.call('POST', '/v1/instances/staging/push', { changeIds: [edit], withDependencies: false });
    expect(parentMissing.body.code).toBe('MISSING_DEPENDENCY');
    expect(parentMissing.body.problems).toContainEqual(expect.objectContaining({ kind: 'missing-dependency', changeId: edit, missing: [team.changeId] }));
    expect(await trackedState(p.staging)).toEqual(before);

    const planned = await ok(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', { changeIds: [edit] });
    expect(planned.problems).toEqual([]);
    expect(ids(planned.changes)).toEqual([department.changeId, team.changeId, edit]);
    expect(planned.added).toEqual(
      expect.arrayContaining([
        { id: team.changeId, reason: 'parent', of: edit, changeSet: null },
        expect.objectContaining({ id: department.changeId, reason: 'requires' }),
      ]),
    );
    expect(planned.added).toHaveLength(2);
    expect(planned.changes[1]).toMatchObject({ id: team.changeId, addedBecause: { reason: 'parent', of: edit } });
    expect(planned.changes[2].addedBecause).toBeUndefined();
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', { changeIds: [edit] });
    expect(ids(pushed.changes)).toEqual(ids(planned.changes));
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ inSync: true });
    // Cherry-picking a change the receiver already has says so instead of dropping it from the plan.
    const again = await ok(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', { changeIds: [edit] });
    expect(again.changes).toEqual([expect.objectContaining({ id: edit, action: 'present' })]);
    expect(again.counts).toMatchObject({ toApply: 0, alreadyPresent: 1 });
  });

  it('skips a dependency with allowMissing only where its absence breaks no reference, and records it', async () => {
    const legal = await create(p.dev, 'departments', { name: 'Legal' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    const renamed = await replace(p.dev, 'departments', legal.id, { name: 'Legal and compliance' });
    const contracts = await create(p.dev, 'teams', { name: 'Contracts', departmentId: legal.id });

    // The department is on staging under its old name: skipping the rename breaks nothing.
    const planned = await ok(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', { changeIds: [contracts.changeId], allowMissing: [renamed] });
    expect(planned).toMatchObject({ problems: [], leftOut: [renamed], skippedDependencies: [renamed], counts: { toApply: 1 } });
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', { changeIds: [contracts.changeId], allowMissing: [renamed] });
    expect(pushed).toMatchObject({ applied: true, leftOut: [renamed], skippedDependencies: [renamed], changes: [{ id: contracts.changeId, action: 'apply' }] });
    expect((await ok(p.staging, 'GET', `/v1/config/teams/${contracts.id}`)).body.departmentId).toBe(legal.id);
    expect((await ok(p.staging, 'GET', `/v1/config/departments/${legal.id}`)).name).toBe('Legal');
    expect((await audited(p.staging, 'sync.push-received'))[0]).toMatchObject({ outcome: 'success', details: { skippedDependencies: [renamed] } });
    expect((await audited(p.dev, 'sync.push'))[0]).toMatchObject({ outcome: 'success', details: { leftOut: [renamed], skippedDependencies: [renamed] } });

    // A department staging has never seen: the team would point at nothing, so the push is refused.
    const security = await create(p.dev, 'departments', { name: 'Security' });
    const soc = await create(p.dev, 'teams', { name: 'SOC', departmentId: security.id });
    const before = await trackedState(p.staging);
    const refused = await p.dev.call('POST', '/v1/instances/staging/push', { changeIds: [soc.changeId], allowMissing: [security.changeId] });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'SYNC_REFUSED', problems: [{ kind: 'reference-missing', changeId: soc.changeId, missing: [security.id] }] });
    expect(await trackedState(p.staging)).toEqual(before);

    // The skipped rename follows later without trouble.
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect((await ok(p.staging, 'GET', `/v1/config/departments/${legal.id}`)).name).toBe('Legal and compliance');
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ inSync: true });
  });

  it('pushes a change set ahead of interleaved work when it stands alone, and not when it is entangled', async () => {
    const alpha = await create(p.dev, 'teams', { name: 'Alpha' }, changeSet('team-a'));
    const beta = await create(p.dev, 'departments', { name: 'Beta' }, changeSet('team-b'));
    const alpha2 = await replace(p.dev, 'teams', alpha.id, { name: 'Alpha 2' }, changeSet('team-a'));
    const beta2 = await replace(p.dev, 'departments', beta.id, { name: 'Beta 2' }, changeSet('team-b'));

    const alone = await ok(p.dev, 'POST', '/v1/instances/staging/push', { changeSet: 'team-b' });
    expect(alone).toMatchObject({ applied: true, added: [] });
    expect(ids(alone.changes)).toEqual([beta.changeId, beta2]);
    const waiting = await ok(p.dev, 'GET', '/v1/instances/staging/status?list=true');
    expect(waiting).toMatchObject({ ahead: 2, behind: 0 });
    expect(ids(waiting.aheadChanges).sort()).toEqual([alpha.changeId, alpha2].sort());

    // Team A now builds on team B's latest department: team A's set cannot go without it.
    const beta3 = await replace(p.dev, 'departments', beta.id, { name: 'Beta 3' }, changeSet('team-b'));
    const alpha3 = await create(p.dev, 'teams', { name: 'Alpha on Beta', departmentId: beta.id }, changeSet('team-a'));
    const before = await trackedState(p.staging);
    const entangled = await p.dev.call('POST', '/v1/instances/staging/push', { changeSet: 'team-a', withDependencies: false });
    expect(entangled.status).toBe(409);
    expect(entangled.body).toMatchObject({ code: 'MISSING_DEPENDENCY', problems: [{ kind: 'missing-dependency', changeId: alpha3.changeId, missing: [beta3] }] });
    expect(await trackedState(p.staging)).toEqual(before);

    const planned = await ok(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', { changeSet: 'team-a' });
    expect(planned.added).toEqual([{ id: beta3, reason: 'requires', of: alpha3.changeId, changeSet: 'team-b' }]);
    expect(ids(planned.changes)).toEqual([alpha.changeId, alpha2, beta3, alpha3.changeId]);
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', { changeSet: 'team-a' });
    expect(pushed.counts.toApply).toBe(4);
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ inSync: true });
  });
});
