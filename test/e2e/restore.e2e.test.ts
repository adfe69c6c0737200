import { describe, expect, it } from 'vitest';
import { ADMINISTRATOR_ROLE_ID } from '../../src/access/administrator-role.js';
import { engines } from '../support/databases.js';
import { changeLog, create, ok, pipelineForEachTest, replace, restoreFromProduction, trackedState, type Answer, type LiveInstance } from '../support/pipeline.js';

const ids = (changes: Answer[]) => changes.map((c) => c.id);
/** A plan's instances as the real run must act on them: everything but whether it has run yet. */
const acted = (plan: Answer) => plan.instances.map(({ restored: _restored, ...rest }: Answer) => rest);
const portable = (c: Answer) => ({ id: c.id, origin: c.origin, originSeq: c.originSeq, entityId: c.entityId, op: c.op, parent: c.parent, actor: c.actor, at: c.at, changeSet: c.changeSet });

describe.each(engines)('restore from production on %s', (engine) => {
  const p = pipelineForEachTest(engine);

  /** Common ground everywhere, then work staging has that production lacks (from dev, and made on staging itself). */
  async function diverge(): Promise<{ team: { id: string; changeId: string }; fromDev: string; onStaging: string; onlyOnDev: string }> {
    const team = await create(p.dev, 'teams', { name: 'Restored' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    await ok(p.staging, 'POST', '/v1/instances/production/push', {});
    const fromDev = await replace(p.dev, 'teams', team.id, { name: 'Restored, renamed on dev' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    const onStaging = (await create(p.staging, 'departments', { name: 'Made on staging' })).changeId;
    const onlyOnDev = (await create(p.dev, 'departments', { name: 'Only on dev' })).changeId;
    await create(p.production, 'departments', { name: 'Made on production' });
    return { team, fromDev, onStaging, onlyOnDev };
  }

  async function expectEqualsProduction(i: LiveInstance): Promise<void> {
    const [here, there] = await Promise.all([changeLog(i), changeLog(p.production)]);
    expect(here.map(portable), i.name).toEqual(there.map(portable));
    const [mine, theirs] = await Promise.all([trackedState(i), trackedState(p.production)]);
    expect(mine.entities, i.name).toEqual(theirs.entities);
    expect((await ok(i, 'GET', '/v1/changes/verify')).ok, i.name).toBe(true);
    expect(await ok(i, 'GET', '/v1/instances/production/status'), i.name).toMatchObject({ inSync: true, behind: 0, ahead: 0 });
    // Who holds a role is instance-local: each instance keeps its own administrators, and the state diff sees no difference.
    const diff = await ok(i, 'GET', '/v1/instances/production/diff');
    expect(diff, i.name).toMatchObject({ inSync: true, onlyHere: [], onlyThere: [], different: [], types: [] });
    const [role, productionRole] = await Promise.all([i, p.production].map(async (at) => (await ok(at, 'GET', `/v1/config/roles/${ADMINISTRATOR_ROLE_ID}`)).body));
    expect(role.agentIds, i.name).toEqual([i.ctx.actor.id]);
    expect(productionRole.agentIds).toEqual([p.production.ctx.actor.id]);
  }

  it('plans, refuses without confirmation, then replaces staging’s configuration and history with production’s', async () => {
    const { team, fromDev, onStaging } = await diverge();

    // Desk records of staging: kept by a refused restore, cleared by the restore.
    const customer = await ok(p.staging, 'POST', '/v1/customers', { name: 'Staging test customer' });
    await ok(p.staging, 'POST', '/v1/users', { customerId: customer.id, name: 'Tess Tester' });
    await p.staging.db.write((stores) =>
      stores.desk.insertInboundMail({
        id: '01JMAIL0000000000000000000',
        mailboxId: 'm1',
        mailboxName: 'Support',
        messageKey: 'uat-test@acme.test',
        fromAddress: 'tess@acme.test',
        subject: 'Testing the UAT mailbox',
        outcome: 'ignored',
        ticketId: null,
        reason: 'A test.',
        receivedAt: Date.now(),
      }),
    );
    const plan = await ok(p.staging, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'instance' });
    expect(plan).toMatchObject({ dryRun: true, restored: false, scope: 'instance', from: { name: 'production' }, fingerprint: expect.any(String) });
    expect(plan.instances).toEqual([expect.objectContaining({ name: 'staging', restored: false, lost: expect.objectContaining({ count: 2 }) })]);
    expect(ids(plan.instances[0].lost.changes).sort()).toEqual([fromDev, onStaging].sort());
    expect(plan.instances[0]).toMatchObject({ deskDataCleared: true, records: { copied: { customers: 0, users: 0 }, replaced: { customers: 1, users: 1 }, unresolved: [] } });

    const before = await trackedState(p.staging);
    const unconfirmed = await p.staging.call('POST', '/v1/instances/production/restore', { scope: 'instance' });
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.body).toMatchObject({ code: 'RESTORE_NOT_CONFIRMED', plan: { fingerprint: plan.fingerprint, instances: [{ lost: { count: 2 } }] } });
    // Confirming needs the plan's fingerprint: a restore never acts on a plan nobody was shown.
    const blind = await p.staging.call('POST', '/v1/instances/production/restore', { scope: 'instance', confirm: true });
    expect(blind.status).toBe(409);
    expect(blind.body).toMatchObject({ code: 'RESTORE_NOT_CONFIRMED', plan: { fingerprint: plan.fingerprint } });
    expect(await trackedState(p.staging)).toEqual(before);
    expect((await ok(p.staging, 'GET', '/v1/customers')).items).toHaveLength(1);

    const restored = await ok(p.staging, 'POST', '/v1/instances/production/restore', { scope: 'instance', confirm: true, fingerprint: plan.fingerprint });
    expect(restored).toMatchObject({ restored: true, dryRun: false, fingerprint: plan.fingerprint, instances: [{ name: 'staging', restored: true, copied: { changes: 2 } }] });
    expect(acted(restored)).toEqual(acted(plan));
    await expectEqualsProduction(p.staging);
    expect((await ok(p.staging, 'GET', '/v1/customers')).items).toEqual([]);
    expect((await ok(p.staging, 'GET', '/v1/users')).items).toEqual([]);
    expect((await ok(p.staging, 'GET', '/v1/mailboxes/messages')).items).toEqual([]);
    expect((await ok(p.staging, 'GET', `/v1/config/teams/${team.id}`)).name).toBe('Restored');
    expect((await ok(p.staging, 'GET', '/v1/audit?kind=sync.restore')).items[0]).toMatchObject({ outcome: 'success', details: { lost: 2, scope: 'instance' } });

    // The pipeline carries on: dev's work reaches staging again, without the change made on staging alone.
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ ahead: 2, behind: 1 });
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(pushed.counts.toApply).toBe(2);
    expect((await ok(p.staging, 'GET', '/v1/changes/verify')).ok).toBe(true);
  });

  it('with scope "pipeline" from dev, plans what each instance loses and restores every instance between dev and production', async () => {
    const { fromDev, onStaging, onlyOnDev } = await diverge();

    // Staging sits next to production: its pipeline is itself alone, never its source.
    expect((await ok(p.staging, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'pipeline' })).instances.map((i: Answer) => i.name)).toEqual(['staging']);
    const plan = await ok(p.dev, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'pipeline' });
    expect(plan).toMatchObject({ scope: 'pipeline', dryRun: true, restored: false });
    expect(plan.instances.map((i: Answer) => i.name)).toEqual(['dev', 'staging']);
    const [devPart, stagingPart] = plan.instances;
    expect(ids(devPart.lost.changes).sort()).toEqual([fromDev, onlyOnDev].sort());
    // Staging's own direct change is lost too, and the plan says so under staging.
    expect(stagingPart.lost.count).toBe(2);
    expect(ids(stagingPart.lost.changes).sort()).toEqual([fromDev, onStaging].sort());
    const production = await trackedState(p.production, ['teams', 'departments']);
    const productionTypes = (await ok(p.production, 'POST', '/v1/sync/state', {})).types as { count: number }[];
    const productionEntities = productionTypes.reduce((n, t) => n + t.count, 0);
    expect(productionEntities).toBeGreaterThan(0);
    for (const part of plan.instances) expect(part.copied, part.name).toEqual({ changes: production.log.length, entities: productionEntities });
    expect(stagingPart.replaced).toEqual({ changes: (await changeLog(p.staging)).length, entities: expect.any(Number) });

    const restored = await ok(p.dev, 'POST', '/v1/instances/production/restore', { scope: 'pipeline', confirm: true, fingerprint: plan.fingerprint });
    expect(restored).toMatchObject({ restored: true, dryRun: false, fingerprint: plan.fingerprint });
    expect(restored.instances.map((i: Answer) => i.restored)).toEqual([true, true]);
    // The dry run's counts are the real run's.
    expect(acted(restored)).toEqual(acted(plan));
    await expectEqualsProduction(p.dev);
    await expectEqualsProduction(p.staging);
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ inSync: true, behind: 0, ahead: 0 });
  });

  it('never gives out an origin sequence again after a restore, so later work still reaches the instances that kept the lost changes', async () => {
    // Dev makes five changes; staging gets all five, production only three.
    const made: string[] = [];
    for (const name of ['A', 'B', 'C', 'D', 'E']) made.push((await create(p.dev, 'departments', { name })).changeId);
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    await ok(p.staging, 'POST', '/v1/instances/production/push', { changeIds: made.slice(0, 3) });

    await restoreFromProduction(p.dev, 'instance');
    const after = await create(p.dev, 'departments', { name: 'F' });
    const lost = (await changeLog(p.staging)).filter((c: Answer) => made.slice(3).includes(c.id));
    const fresh = (await ok(p.dev, 'GET', `/v1/changes/${after.changeId}`)).originSeq;
    expect(lost.map((c: Answer) => c.originSeq).every((seq: number) => seq < fresh)).toBe(true);

    // Staging still holds D and E, which dev lost: exact counts say so, and F gets through.
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ ahead: 1, behind: 2 });
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(pushed.changes).toEqual([expect.objectContaining({ id: after.changeId, action: 'apply' })]);
    expect((await ok(p.staging, 'GET', `/v1/config/departments/${after.id}`)).name).toBe('F');
  });

  it('refuses a confirmed restore when an instance moved after the plan was shown, and writes nothing anywhere', async () => {
    await diverge();
    const plan = await ok(p.dev, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'pipeline' });
    const made = await create(p.staging, 'departments', { name: 'Made on staging after the plan' });
    const before = await Promise.all([p.dev, p.staging, p.production].map((i) => trackedState(i)));

    const stale = await p.dev.call('POST', '/v1/instances/production/restore', { scope: 'pipeline', confirm: true, fingerprint: plan.fingerprint });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'RESTORE_PLAN_CHANGED', moved: ['staging'] });
    expect(stale.body.detail).toContain('staging');
    // The plan as it stands now lists the change made since.
    expect(ids(stale.body.plan.instances[1].lost.changes)).toContain(made.changeId);
    expect(stale.body.plan.fingerprint).not.toBe(plan.fingerprint);
    expect(await Promise.all([p.dev, p.staging, p.production].map((i) => trackedState(i)))).toEqual(before);
    expect((await ok(p.dev, 'GET', '/v1/audit?kind=sync.restore')).items[0]).toMatchObject({ outcome: 'failure', details: { code: 'RESTORE_PLAN_CHANGED' } });

    // Production moving changes what is copied: that plan is stale too.
    const fresh = stale.body.plan;
    await create(p.production, 'departments', { name: 'Another production change' });
    const again = await p.dev.call('POST', '/v1/instances/production/restore', { scope: 'pipeline', confirm: true, fingerprint: fresh.fingerprint });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'RESTORE_PLAN_CHANGED', moved: ['dev', 'staging'] });
    expect(await trackedState(p.dev)).toEqual(before[0]);
    expect(await trackedState(p.staging)).toEqual(before[1]);
  });
});
