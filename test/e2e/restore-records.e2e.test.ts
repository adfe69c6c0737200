import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinCatalog } from '../../src/catalog/builtin/index.js';
import { recordReferencesIn } from '../../src/catalog/record-references.js';
import { engines } from '../support/databases.js';
import { insertAgent } from '../support/principals.js';
import { ok, startPipeline, trackedState, type Answer, type LiveInstance, type Pipeline } from '../support/pipeline.js';

/** A plan's instances as the real run must act on them: everything but whether it has run yet. */
const acted = (plan: Answer) => plan.instances.map(({ restored: _restored, ...rest }: Answer) => rest);
const people = (items: Answer[]) => items.map((r: Answer) => ({ id: r.id, name: r.name, thirdPartyId: r.thirdPartyId, customerId: r.customerId }));

/**
 * A co-managed setup promoted dev → staging → production, then staging restored from production. Production's
 * configuration names production's customers, users and agents: after the restore staging holds production's customers
 * and users under their ids, keeps its own agents (found by third-party id), and nothing it holds names a record it lacks.
 */
describe.each(engines)('restore from production brings the records its configuration names on %s', (engine) => {
  let p: Pipeline;
  const acme = {} as Record<'dev' | 'staging' | 'production', string>;
  const dana = {} as Record<'dev' | 'staging' | 'production', string>;
  let partnerId: string;
  let roleId: string;
  let ruleId: string;
  let teamId: string;

  const body = async (on: LiveInstance, type: string, id: string): Promise<Answer> => (await ok(on, 'GET', `/v1/config/${type}/${id}`)).body;
  const everything = async (on: LiveInstance) => ({
    state: await trackedState(on, ['ticket-rules', 'roles', 'teams', 'departments']),
    customers: (await ok(on, 'GET', '/v1/customers?limit=200')).items,
    users: (await ok(on, 'GET', '/v1/users?limit=200')).items,
  });

  /** Every record a tracked ticket rule or role names on `on` exists there. */
  async function expectNothingDangles(on: LiveInstance): Promise<void> {
    const catalog = createBuiltinCatalog();
    for (const type of ['ticket-rules', 'roles']) {
      for (const entity of (await ok(on, 'GET', `/v1/config/${type}?limit=200`)).items) {
        for (const hit of recordReferencesIn(catalog.get(type), entity.body, 'all')) {
          const path = hit.by === 'third-party-id' ? null : hit.target === 'customer' ? `/v1/customers/${hit.value}` : `/v1/agents/${hit.value}`;
          if (path) expect((await on.call('GET', path)).status, `${on.name} ${type} ${entity.name} ${hit.path}`).toBe(200);
        }
      }
    }
  }

  beforeAll(async () => {
    p = await startPipeline(engine);
    for (const on of ['dev', 'staging', 'production'] as const) {
      acme[on] = (await ok(p[on], 'POST', '/v1/customers', { name: 'Acme Corp', thirdPartyId: 'CRM-ACME' })).id;
      dana[on] = (await insertAgent(p[on], { name: 'Dana Desk', thirdPartyId: 'IDP-DANA' })).id;
    }
    await ok(p.production, 'POST', '/v1/users', { customerId: acme.production, name: 'Pat Production', thirdPartyId: 'IDP-PAT' });
    const sandbox = (await ok(p.staging, 'POST', '/v1/customers', { name: 'UAT sandbox' })).id;
    await ok(p.staging, 'POST', '/v1/users', { customerId: sandbox, name: 'Tess Tester' });
    // Staging's partner agent works for staging's Acme; it must work for production's Acme after the restore.
    const restricted = { allowAllCustomers: false, customerIds: [acme.staging] };
    partnerId = (await insertAgent(p.staging, { name: 'James at the partner', coManagedCustomerId: acme.staging, customerGroupOverrideId: acme.staging, clientRestrictions: restricted })).id;

    teamId = (await ok(p.dev, 'POST', '/v1/config/teams', { name: 'Acme partner desk', isCoManaged: true })).entity.id;
    roleId = (
      await ok(p.dev, 'POST', '/v1/config/roles', {
        name: 'Acme co-managed agents',
        ticketAccess: 'modify',
        teamMemberships: [{ teamId, access: 'modify' }],
        customerRestrictions: { allowAllCustomers: false, customerIds: [acme.dev] },
      })
    ).entity.id;
    ruleId = (
      await ok(p.dev, 'POST', '/v1/config/ticket-rules', {
        name: 'Acme to Dana',
        criteria: [{ field: 'customer', operator: 'includes', customerIds: [acme.dev] }],
        outcomes: [{ field: 'team', teamId }, { field: 'agent', agentId: dana.dev }],
      })
    ).entity.id;
    expect((await ok(p.dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    expect((await ok(p.staging, 'POST', '/v1/instances/production/push', {})).counts.refused).toBe(0);
  }, 90_000);
  afterAll(async () => p?.close());

  it('replaces staging’s customers and users with production’s, keeps its agents, and leaves nothing naming a record staging lacks', async () => {
    await ok(p.staging, 'POST', '/v1/config/departments', { name: 'Made on staging' });
    const plan = await ok(p.staging, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'instance' });
    expect(plan.instances[0]).toMatchObject({
      name: 'staging',
      lost: { count: 1 },
      records: { copied: { customers: 1, users: 1 }, replaced: { customers: 2, users: 1 }, agentsResolved: 1, unresolved: [], dropped: [] },
    });

    const restored = await ok(p.staging, 'POST', '/v1/instances/production/restore', { scope: 'instance', confirm: true, fingerprint: plan.fingerprint });
    expect(acted(restored)).toEqual(acted(plan));

    // Production's customers and users, with their ids and third-party ids.
    expect((await ok(p.staging, 'GET', '/v1/customers')).items).toEqual((await ok(p.production, 'GET', '/v1/customers')).items);
    expect(people((await ok(p.staging, 'GET', '/v1/users')).items)).toEqual(people((await ok(p.production, 'GET', '/v1/users')).items));
    // Production's configuration, naming production's Acme and staging's own Dana.
    expect((await body(p.staging, 'ticket-rules', ruleId)).criteria[0].customerIds).toEqual([acme.production]);
    expect((await body(p.staging, 'ticket-rules', ruleId)).outcomes[1]).toEqual({ field: 'agent', agentId: dana.staging });
    expect((await body(p.staging, 'roles', roleId)).customerRestrictions.customerIds).toEqual([acme.production]);
    // Staging's own agents stay, working for production's Acme now.
    expect(await ok(p.staging, 'GET', `/v1/agents/${partnerId}`)).toMatchObject({
      coManagedCustomerId: acme.production,
      customerGroupOverrideId: acme.production,
      clientRestrictions: { allowAllCustomers: false, customerIds: [acme.production] },
    });
    expect((await ok(p.staging, 'GET', '/v1/instance')).you).toMatchObject({ isAdministrator: true });
    await expectNothingDangles(p.staging);
    expect((await ok(p.staging, 'GET', '/v1/changes/verify')).ok).toBe(true);
    expect(await ok(p.staging, 'GET', '/v1/instances/production/status')).toMatchObject({ inSync: true, behind: 0, ahead: 0 });
    expect(await ok(p.staging, 'GET', '/v1/instances/production/diff')).toMatchObject({ inSync: true, different: [] });

    // The pipeline carries on: dev's next change names dev's records and arrives naming staging's.
    const next = await ok(p.dev, 'PUT', `/v1/config/ticket-rules/${ruleId}`, { ...(await body(p.dev, 'ticket-rules', ruleId)), name: 'Acme to Dana, renamed' });
    expect(next.changeId).toEqual(expect.any(String));
    expect((await ok(p.dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    expect(await body(p.staging, 'ticket-rules', ruleId)).toMatchObject({ name: 'Acme to Dana, renamed', criteria: [{ customerIds: [acme.production] }], outcomes: [{}, { agentId: dana.staging }] });
    expect((await ok(p.staging, 'GET', '/v1/changes/verify')).ok).toBe(true);
  });

  it('lists, per instance, every reference it cannot resolve, refuses a confirmed restore naming them, and writes nothing', async () => {
    // Production names an agent only production has; staging has an agent working for a customer only staging has.
    const olga = await insertAgent(p.production, { name: 'Olga Oncall', thirdPartyId: 'IDP-OLGA' });
    const olgaRule = (
      await ok(p.production, 'POST', '/v1/config/ticket-rules', {
        name: 'Out of hours to Olga',
        criteria: [{ field: 'customer', operator: 'includes', customerIds: [acme.production] }],
        outcomes: [{ field: 'agent', agentId: olga.id }],
      })
    ).entity;
    const own = (await ok(p.staging, 'POST', '/v1/customers', { name: 'Staging only' })).id;
    const sam = await insertAgent(p.staging, { name: 'Sam Sandbox', coManagedCustomerId: own });

    const olgaMissing = { in: { type: 'ticket-rules', id: olgaRule.id, name: 'Out of hours to Olga' }, path: 'outcomes[0].agentId', record: { kind: 'agent', id: olga.id, name: 'Olga Oncall', thirdPartyId: 'IDP-OLGA' } };
    const plan = await ok(p.dev, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'pipeline' });
    expect(plan.instances.map((i: Answer) => [i.name, i.records.unresolved])).toEqual([
      ['dev', [olgaMissing]],
      ['staging', [olgaMissing, { in: { type: 'agent', id: sam.id, name: 'Sam Sandbox' }, path: 'coManagedCustomerId', record: { kind: 'customer', id: own, name: 'Staging only', thirdPartyId: null } }]],
    ]);

    const before = await Promise.all([p.dev, p.staging].map(everything));
    const refused = await p.dev.call('POST', '/v1/instances/production/restore', { scope: 'pipeline', confirm: true, fingerprint: plan.fingerprint });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'RESTORE_RECORD_MISSING', plan: { fingerprint: plan.fingerprint } });
    expect(refused.body.unresolved).toEqual([{ instance: 'dev', ...olgaMissing }, { instance: 'staging', ...olgaMissing }, expect.objectContaining({ instance: 'staging', path: 'coManagedCustomerId' })]);
    expect(refused.body.detail).toContain('Olga Oncall');
    expect(await Promise.all([p.dev, p.staging].map(everything))).toEqual(before);
    // Asked of staging alone, the same refusal.
    const planned = await ok(p.staging, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'instance' });
    const alone = await p.staging.call('POST', '/v1/instances/production/restore', { scope: 'instance', confirm: true, fingerprint: planned.fingerprint });
    expect(alone).toMatchObject({ status: 409, body: { code: 'RESTORE_RECORD_MISSING' } });
    expect(await everything(p.staging)).toEqual(before[1]);

    // Once Olga's third-party id is an agent's on dev and staging, and Sam no longer works for the lost customer, it goes through.
    const olgaHere = { dev: (await insertAgent(p.dev, { name: 'Olga', thirdPartyId: 'IDP-OLGA' })).id, staging: (await insertAgent(p.staging, { name: 'Olga', thirdPartyId: 'IDP-OLGA' })).id };
    await ok(p.staging, 'PATCH', `/v1/agents/${sam.id}`, { coManagedCustomerId: null });
    const fixed = await ok(p.dev, 'POST', '/v1/instances/production/restore?dryRun=true', { scope: 'pipeline' });
    expect(fixed.instances.map((i: Answer) => i.records.unresolved)).toEqual([[], []]);
    const done = await ok(p.dev, 'POST', '/v1/instances/production/restore', { scope: 'pipeline', confirm: true, fingerprint: fixed.fingerprint });
    expect(acted(done)).toEqual(acted(fixed));
    for (const on of ['dev', 'staging'] as const) {
      expect((await body(p[on], 'ticket-rules', olgaRule.id)).outcomes).toEqual([{ field: 'agent', agentId: olgaHere[on] }]);
      expect((await ok(p[on], 'GET', '/v1/customers')).items).toEqual((await ok(p.production, 'GET', '/v1/customers')).items);
      await expectNothingDangles(p[on]);
      expect((await ok(p[on], 'GET', '/v1/changes/verify')).ok, on).toBe(true);
    }
  });
});
