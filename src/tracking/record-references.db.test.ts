import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { up as keepRecordReferences } from '../store/migrations/0011b-record-references.js';

/**
 * Configuration that names customers, users or agents names records of this instance: a write naming one this instance
 * lacks is refused at the field, and a record configuration names is neither deleted nor loses the third-party id it
 * is named by.
 */
describe.each(engines)('references from configuration to records on %s', (engine) => {
  let t: TestApp;
  const ids = {} as Record<'acme' | 'globex' | 'pat' | 'ada' | 'team' | 'assetType', string>;

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
  const logLength = async () => (await t.db.read((stores) => stores.changes.head())).seq;

  beforeAll(async () => {
    t = await createTestApp(engine);
    ids.acme = (await call('POST', '/v1/customers', { name: 'Acme', thirdPartyId: 'CRM-ACME' })).body.id;
    ids.globex = (await call('POST', '/v1/customers', { name: 'Globex' })).body.id;
    ids.pat = (await call('POST', '/v1/users', { customerId: ids.acme, name: 'Pat', thirdPartyId: 'USR-1' })).body.id;
    ids.ada = (await call('POST', '/v1/agents', { name: 'Ada', email: 'ada@example.test', thirdPartyId: 'EMP-1' })).body.id;
    ids.team = (await call('POST', '/v1/config/teams', { name: 'Partner desk' })).body.entity.id;
    await call('PATCH', '/v1/settings', { trackServices: true });
    ids.assetType = (await call('POST', '/v1/config/asset-types', { name: 'Service' })).body.entity.id;
  });
  afterAll(async () => t?.close());

  it('refuses a write naming a record this instance lacks, or a record of another kind, at the field, writing nothing', async () => {
    const seq = await logLength();
    const cases: [string, Record<string, unknown>, string[]][] = [
      [
        'ticket-rules',
        {
          name: 'Rule',
          criteria: [{ field: 'customer', operator: 'includes', customerIds: [ids.acme, 'no-such-customer', ids.pat] }],
          outcomes: [{ field: 'agent', agentId: ids.pat, agentThirdPartyId: 'EMP-404' }],
        },
        ['criteria[0].customerIds[1]', 'criteria[0].customerIds[2]', 'outcomes[0].agentId', 'outcomes[0].agentThirdPartyId'],
      ],
      ['roles', { name: 'Role', customerRestrictions: { allowAllCustomers: false, customerIds: [ids.ada] }, agentIds: ['01J00000000000000000000000'] }, ['customerRestrictions.customerIds[0]', 'agentIds[0]']],
      [
        'assets',
        { name: 'CRM', assetTypeId: ids.assetType, customerId: ids.globex, userIds: [ids.acme], businessOwnerId: ids.globex, technicalOwnerThirdPartyId: 'CRM-ACME' },
        ['userIds[0]', 'businessOwnerId', 'technicalOwnerThirdPartyId'],
      ],
      ['approval-groups', { name: 'CAB', memberAgentIds: [ids.pat], memberThirdPartyIds: ['USR-1'] }, ['memberAgentIds[0]', 'memberThirdPartyIds[0]']],
      ['user-roles', { name: 'Approvers', userIds: [ids.ada], userThirdPartyIds: ['EMP-1'] }, ['userIds[0]', 'userThirdPartyIds[0]']],
    ];
    for (const [type, body, paths] of cases) {
      const refused = await call('POST', `/v1/config/${type}`, body);
      expect(refused.status, type).toBe(422);
      expect(refused.body.code).toBe('REFERENCE_NOT_FOUND');
      expect(refused.body.errors.map((e: { path: string }) => e.path).sort(), type).toEqual([...paths].sort());
    }
    expect(await logLength()).toBe(seq);

    // Each names a record of the right kind here: written.
    expect(
      (
        await call('POST', '/v1/config/assets', {
          name: 'CRM',
          assetTypeId: ids.assetType,
          serviceClass: 'service',
          customerId: ids.acme,
          userIds: [ids.pat],
          businessOwnerId: ids.ada,
          technicalOwnerId: ids.pat,
          businessOwnerThirdPartyId: 'EMP-1',
          technicalOwnerThirdPartyId: 'USR-1',
        })
      ).status,
    ).toBe(201);
  });

  it('keeps a customer, user or agent configuration names, and the third-party id it names it by', async () => {
    const rule = await call('POST', '/v1/config/ticket-rules', {
      name: 'Globex to the partner desk',
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [ids.globex] }],
      outcomes: [{ field: 'team', teamId: ids.team }],
    });
    const cab = await call('POST', '/v1/config/approval-groups', { name: 'CAB', memberAgentIds: [ids.ada], memberThirdPartyIds: ['EMP-1'] });

    const customer = await call('DELETE', `/v1/customers/${ids.globex}`);
    expect(customer).toMatchObject({ status: 409, body: { code: 'CUSTOMER_IN_USE' } });
    expect(customer.body.referencedBy).toEqual([{ type: 'ticket-rules', id: rule.body.entity.id, name: 'Globex to the partner desk', path: 'criteria[0].customerIds[0]' }]);
    const agent = await call('DELETE', `/v1/agents/${ids.ada}`);
    expect(agent).toMatchObject({ status: 409, body: { code: 'AGENT_IN_USE' } });
    expect(agent.body.referencedBy.map((r: { path: string }) => r.path).sort()).toEqual(['businessOwnerId', 'businessOwnerThirdPartyId', 'memberAgentIds[0]', 'memberThirdPartyIds[0]']);
    expect(await call('PATCH', `/v1/agents/${ids.ada}`, { thirdPartyId: 'EMP-2' })).toMatchObject({ status: 409, body: { code: 'AGENT_IN_USE' } });
    expect(await call('PATCH', `/v1/users/${ids.pat}`, { thirdPartyId: null })).toMatchObject({ status: 409, body: { code: 'USER_IN_USE' } });
    expect(await call('DELETE', `/v1/users/${ids.pat}`)).toMatchObject({ status: 409, body: { code: 'USER_IN_USE' } });
    // A third-party id nothing names it by may change.
    expect(await call('PATCH', `/v1/customers/${ids.acme}`, { thirdPartyId: 'CRM-ACME-2' })).toMatchObject({ status: 200 });

    // Once the configuration names another, the record goes.
    await call('PUT', `/v1/config/ticket-rules/${rule.body.entity.id}`, {
      name: 'Acme to the partner desk',
      criteria: [{ field: 'customer', operator: 'includes', customerIds: [ids.acme] }],
      outcomes: [{ field: 'team', teamId: ids.team }],
    });
    expect((await call('DELETE', `/v1/customers/${ids.globex}`)).status).toBe(204);
    expect((await call('DELETE', `/v1/config/approval-groups/${cab.body.entity.id}`)).status).toBe(200);
    // The asset still names the agent by its third-party id.
    expect(await call('PATCH', `/v1/agents/${ids.ada}`, { thirdPartyId: 'EMP-2' })).toMatchObject({ status: 409, body: { referencedBy: [{ type: 'assets', path: 'businessOwnerThirdPartyId' }] } });
  });

  it('keeps the references of entities written before they were kept, once the migration adds them', async () => {
    const lonely = (await call('POST', '/v1/customers', { name: 'Lonely' })).body.id;
    // An entity as an older version stored it: no kept references to records.
    await t.db.write((stores) =>
      stores.entities.insert({
        id: '01J00000000000000000000001',
        type: 'ticket-rules',
        name: 'Old rule',
        body: { name: 'Old rule', criteria: [{ field: 'customer', operator: 'includes', customerIds: [lonely] }], outcomes: [{ field: 'team', teamId: ids.team }] },
        head: null,
        createdAt: 0,
        updatedAt: 0,
      }),
    );
    await t.db.write(async (stores) => {
      for (const entity of await stores.entities.list({ type: 'ticket-rules', limit: 100 })) if (entity.id !== '01J00000000000000000000001') await stores.entities.remove(entity.id);
      for (const type of ['assets', 'approval-groups', 'roles']) for (const entity of await stores.entities.listAll(type)) await stores.entities.replaceReferences(entity.id, type, []);
    });
    await keepRecordReferences(t.database.dialect.db as unknown as Kysely<unknown>);
    expect(await call('DELETE', `/v1/customers/${lonely}`)).toMatchObject({ status: 409, body: { code: 'CUSTOMER_IN_USE', referencedBy: [{ name: 'Old rule', path: 'criteria[0].customerIds[0]' }] } });
  });
});
