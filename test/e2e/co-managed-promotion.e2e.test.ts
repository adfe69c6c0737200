import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiToken, insertAgent } from '../support/principals.js';
import { engines } from '../support/databases.js';
import { ok, startPipeline, trackedState, type Answer, type LiveInstance, type Pipeline } from '../support/pipeline.js';

/**
 * The co-managed guide's setup — a team for the partner's agents, a role restricted to the partner's customer with
 * membership of that team, and a rule sending that customer's tickets to the team — built on dev and promoted to
 * production over real HTTP. Customers are records each instance keeps for itself: production's Acme is not dev's
 * Acme, and the configuration must arrive naming production's own, found by the customer's third-party id.
 */
describe.each(engines)('promoting a co-managed setup along dev → staging → production on %s', (engine) => {
  let pipeline: Pipeline;
  let dev: LiveInstance;
  let staging: LiveInstance;
  let production: LiveInstance;
  const acme = {} as Record<'dev' | 'staging' | 'production', string>;
  const globex = {} as Record<'dev' | 'staging' | 'production', string>;
  let ticketTypeId: string;
  let teamId: string;
  let roleId: string;
  let ruleId: string;
  let ruleBody: Answer;

  const customer = async (on: LiveInstance, name: string, thirdPartyId: string | null): Promise<string> =>
    (await ok(on, 'POST', '/v1/customers', { name, thirdPartyId })).id;
  const body = async (on: LiveInstance, type: string, id: string): Promise<Answer> => (await ok(on, 'GET', `/v1/config/${type}/${id}`)).body;
  const refusal = (problems: Answer[]) => problems.map((p: Answer) => ({ kind: p.kind, changeId: p.changeId, entity: p.entity?.id, records: p.records }));

  beforeAll(async () => {
    pipeline = await startPipeline(engine);
    ({ dev, staging, production } = pipeline);
    // Each instance has its own customers, created in its own order: their ids differ everywhere.
    globex.production = await customer(production, 'Globex', 'CRM-GLOBEX');
    for (const on of ['dev', 'staging', 'production'] as const) {
      acme[on] = await customer(pipeline[on], 'Acme Corp', 'CRM-ACME');
      if (on !== 'production') globex[on] = await customer(pipeline[on], 'Globex', 'CRM-GLOBEX');
    }

    await ok(dev, 'POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    ticketTypeId = (await ok(dev, 'POST', '/v1/config/ticket-types', { name: 'Incident' })).entity.id;
    teamId = (await ok(dev, 'POST', '/v1/config/teams', { name: 'Acme partner desk', isCoManaged: true })).entity.id;
    roleId = (
      await ok(dev, 'POST', '/v1/config/roles', {
        name: 'Acme co-managed agents',
        ticketAccess: 'modify',
        customerAccess: 'read',
        teamMemberships: [{ teamId, access: 'modify' }],
        customerRestrictions: { allowAllCustomers: false, customerIds: [acme.dev] },
      })
    ).entity.id;
    ruleBody = {
      name: 'Acme to the partner desk',
      use: 'new-tickets',
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [acme.dev] }],
      outcomes: [{ field: 'team', teamId }],
    };
    ruleId = (await ok(dev, 'POST', '/v1/config/ticket-rules', ruleBody)).entity.id;
  }, 60_000);
  afterAll(async () => pipeline?.close());

  it('arrives on production naming production’s own customer: its tickets go to the team, and the role sees only it', async () => {
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    expect((await ok(staging, 'POST', '/v1/instances/production/push', {})).counts.refused).toBe(0);

    expect((await body(staging, 'ticket-rules', ruleId)).criteria).toEqual([{ field: 'customer', operator: 'includes', customerIds: [acme.staging] }]);
    expect((await body(production, 'ticket-rules', ruleId)).criteria).toEqual([{ field: 'customer', operator: 'includes', customerIds: [acme.production] }]);
    expect((await body(production, 'roles', roleId)).customerRestrictions).toEqual({ allowAllCustomers: false, customerIds: [acme.production] });
    // History is what dev wrote: the change still names dev's customer; only the state is production's.
    const [created] = (await ok(production, 'GET', `/v1/changes?entityId=${ruleId}`)).items;
    expect((await ok(production, 'GET', `/v1/changes/${created.id}`)).after.criteria[0].customerIds).toEqual([acme.dev]);
    // Same configuration over each instance's own records: staging and production compare equal.
    expect((await ok(staging, 'GET', '/v1/instances/production/diff')).inSync).toBe(true);
    expect(await ok(staging, 'GET', '/v1/instances/production/status')).toMatchObject({ inSync: true });

    // Production keeps its customer while configuration names it.
    const deleted = await production.call('DELETE', `/v1/customers/${acme.production}`);
    expect(deleted.status).toBe(409);
    expect(deleted.body).toMatchObject({ code: 'CUSTOMER_IN_USE' });
    expect(deleted.body.referencedBy).toEqual(
      expect.arrayContaining([
        { type: 'ticket-rules', id: ruleId, name: 'Acme to the partner desk', path: 'criteria[0].customerIds[0]' },
        { type: 'roles', id: roleId, name: 'Acme co-managed agents', path: 'customerRestrictions.customerIds[0]' },
      ]),
    );
    // Production's configuration names it by its own id, not by its third-party id, which may change.
    expect((await ok(production, 'PATCH', `/v1/customers/${acme.production}`, { thirdPartyId: 'CRM-ACME-2' })).thirdPartyId).toBe('CRM-ACME-2');
    await ok(production, 'PATCH', `/v1/customers/${acme.production}`, { thirdPartyId: 'CRM-ACME' });
    expect(await production.call('POST', '/v1/customers', { name: 'Acme again', thirdPartyId: 'CRM-ACME' })).toMatchObject({ status: 409, body: { code: 'THIRD_PARTY_ID_TAKEN' } });

    const acmeTicket = await ok(production, 'POST', '/v1/tickets', { customerId: acme.production, ticketTypeId, summary: 'VPN is down' });
    expect(acmeTicket.ticket.teamId).toBe(teamId);
    expect(acmeTicket.matchedRules).toEqual([{ id: ruleId, name: 'Acme to the partner desk' }]);
    const globexTicket = await ok(production, 'POST', '/v1/tickets', { customerId: globex.production, ticketTypeId, summary: 'VPN is down' });
    expect(globexTicket.ticket.teamId).toBeNull();

    // A partner agent on production, given the promoted role there, sees production's Acme and nothing else.
    const partner = await insertAgent(production, { name: 'James at the partner', apiOnly: false });
    await ok(production, 'PUT', `/v1/config/roles/${roleId}`, { ...(await body(production, 'roles', roleId)), agentIds: [partner.id] });
    const token = await issueApiToken(production, partner.id);
    const seen = await production.call('GET', '/v1/customers', undefined, { authorization: `Bearer ${token}` });
    expect(seen.status).toBe(200);
    expect(seen.body.items.map((c: Answer) => c.id)).toEqual([acme.production]);
  });

  it('refuses a push or pull naming a customer production cannot resolve, naming it, and writes nothing', async () => {
    const devInitech = await customer(dev, 'Initech', 'CRM-INITECH');
    const stagingInitech = await customer(staging, 'Initech', 'CRM-INITECH');
    ruleBody = { ...ruleBody, criteria: [{ field: 'customer', operator: 'includes', customerIds: [acme.dev, devInitech] }] };
    const changeId = (await ok(dev, 'PUT', `/v1/config/ticket-rules/${ruleId}`, ruleBody)).changeId;
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts.refused).toBe(0);
    expect((await body(staging, 'ticket-rules', ruleId)).criteria[0].customerIds).toEqual([acme.staging, stagingInitech]);

    const before = await trackedState(production, ['ticket-rules', 'roles', 'teams']);
    // Staging passes dev's change on, describing dev's Initech from its own side: by the link it made.
    const expected = [
      {
        kind: 'record-missing',
        changeId,
        entity: ruleId,
        records: [{ path: 'criteria[0].customerIds[1]', kind: 'customer', id: devInitech, name: 'Initech', thirdPartyId: 'CRM-INITECH' }],
      },
    ];
    const dry = await ok(staging, 'POST', '/v1/instances/production/push?dryRun=true', {});
    expect(refusal(dry.problems)).toEqual(expected);
    const pushed = await staging.call('POST', '/v1/instances/production/push', {});
    expect(pushed.status).toBe(409);
    expect(pushed.body.code).toBe('RECORD_MISSING');
    expect(refusal(pushed.body.problems)).toEqual(expected);
    expect(pushed.body.problems[0].message).toContain('customer "Initech" (third-party id CRM-INITECH) at criteria[0].customerIds[1], which no customer here holds');
    const pulled = await production.call('POST', '/v1/instances/staging/pull', {});
    expect(pulled.status).toBe(409);
    expect(refusal(pulled.body.problems)).toEqual(expected);
    expect(await trackedState(production, ['ticket-rules', 'roles', 'teams'])).toEqual(before);

    // Once production has its own Initech, the same pull goes through and names it.
    const productionInitech = await customer(production, 'Initech Ltd', 'CRM-INITECH');
    expect((await ok(production, 'POST', '/v1/instances/staging/pull', {})).counts.refused).toBe(0);
    expect((await body(production, 'ticket-rules', ruleId)).criteria[0].customerIds).toEqual([acme.production, productionInitech]);
    const ticket = await ok(production, 'POST', '/v1/tickets', { customerId: productionInitech, ticketTypeId, summary: 'Printer' });
    expect(ticket.ticket.teamId).toBe(teamId);
  });

  it('rolls back a received change on production to production’s own customers', async () => {
    const received = (await body(production, 'ticket-rules', ruleId)).criteria[0].customerIds;
    ruleBody = { ...ruleBody, criteria: [{ field: 'customer', operator: 'includes', customerIds: [globex.dev] }] };
    const changeId = (await ok(dev, 'PUT', `/v1/config/ticket-rules/${ruleId}`, ruleBody)).changeId;
    await ok(dev, 'POST', '/v1/instances/staging/push', {});
    await ok(staging, 'POST', '/v1/instances/production/push', {});
    expect((await body(production, 'ticket-rules', ruleId)).criteria[0].customerIds).toEqual([globex.production]);

    const rollback = await ok(production, 'POST', `/v1/changes/${changeId}/rollback-before`, {});
    expect(rollback.counts.written).toBe(1);
    expect((await body(production, 'ticket-rules', ruleId)).criteria[0].customerIds).toEqual(received);
    const revert = await ok(production, 'GET', `/v1/changes/${rollback.reverted[0].revertedBy}`);
    expect(revert.after.criteria[0].customerIds).toEqual(received);
  });

  it('imports an export naming dev’s customers as production’s own, and refuses one naming a customer it cannot resolve', async () => {
    const nameless = await customer(dev, 'Nameless', null);
    const globexRule = await ok(dev, 'POST', '/v1/config/ticket-rules', {
      name: 'Globex to the partner desk',
      criteria: [{ field: 'customer', operator: 'excludes', customerIds: [globex.dev] }],
      outcomes: [{ field: 'team', teamId }],
    });
    const exported = await ok(dev, 'POST', '/v1/changes/export', { changeIds: [globexRule.changeId] });
    expect(exported.records).toEqual([{ kind: 'customer', id: globex.dev, thirdPartyId: 'CRM-GLOBEX', name: 'Globex' }]);
    expect((await ok(production, 'POST', '/v1/changes/import', exported)).counts.refused).toBe(0);
    expect((await body(production, 'ticket-rules', globexRule.entity.id)).criteria[0].customerIds).toEqual([globex.production]);

    // A customer without a third-party id can be found only by its global id, which production does not have.
    const namelessRule = await ok(dev, 'POST', '/v1/config/ticket-rules', {
      name: 'Nameless to the partner desk',
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [nameless] }],
      outcomes: [{ field: 'team', teamId }],
    });
    const document = await ok(dev, 'POST', '/v1/changes/export', { changeIds: [namelessRule.changeId] });
    const before = await trackedState(production, ['ticket-rules']);
    const refused = await production.call('POST', '/v1/changes/import', document);
    expect(refused.status).toBe(409);
    expect(refusal(refused.body.problems)).toEqual([
      {
        kind: 'record-missing',
        changeId: namelessRule.changeId,
        entity: namelessRule.entity.id,
        records: [{ path: 'criteria[0].customerIds[0]', kind: 'customer', id: nameless, name: 'Nameless', thirdPartyId: null }],
      },
    ]);
    expect(refused.body.problems[0].message).toContain('has no third-party id');
    expect(await trackedState(production, ['ticket-rules'])).toEqual(before);
  });
});
