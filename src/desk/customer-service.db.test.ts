import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { insertAgent } from '../../test/support/principals.js';

/** Customers carry a third-party id, as users and agents do: the id another system gives them, unique per instance. */
describe.each(engines)('customers’ third-party ids on %s', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(async () => t?.close());

  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.body === '' ? null : res.json() };
  };

  it('keeps a customer’s third-party id, unique when set, changed or cleared like any field', async () => {
    const acme = await call('POST', '/v1/customers', { name: 'Acme', thirdPartyId: ' CRM-1 ' });
    expect(acme).toMatchObject({ status: 201, body: { name: 'Acme', thirdPartyId: 'CRM-1' } });
    const plain = await call('POST', '/v1/customers', { name: 'Globex' });
    expect(plain).toMatchObject({ status: 201, body: { thirdPartyId: null } });
    await call('POST', '/v1/customers', { name: 'Initech', thirdPartyId: null });

    const taken = await call('POST', '/v1/customers', { name: 'Acme again', thirdPartyId: 'CRM-1' });
    expect(taken).toMatchObject({ status: 409, body: { code: 'THIRD_PARTY_ID_TAKEN', errors: [{ path: 'thirdPartyId', code: 'taken' }] } });
    expect(await call('PATCH', `/v1/customers/${plain.body.id}`, { thirdPartyId: 'CRM-1' })).toMatchObject({ status: 409, body: { code: 'THIRD_PARTY_ID_TAKEN' } });

    expect(await call('PATCH', `/v1/customers/${acme.body.id}`, { thirdPartyId: 'CRM-2' })).toMatchObject({ status: 200, body: { thirdPartyId: 'CRM-2' } });
    expect(await call('PATCH', `/v1/customers/${plain.body.id}`, { thirdPartyId: 'CRM-1' })).toMatchObject({ status: 200, body: { thirdPartyId: 'CRM-1' } });
    expect(await call('PATCH', `/v1/customers/${acme.body.id}`, { name: 'Acme Corp' })).toMatchObject({ status: 200, body: { name: 'Acme Corp', thirdPartyId: 'CRM-2' } });
    expect(await call('PATCH', `/v1/customers/${acme.body.id}`, { thirdPartyId: null })).toMatchObject({ status: 200, body: { thirdPartyId: null } });
    expect(await call('GET', `/v1/customers/${plain.body.id}`)).toMatchObject({ status: 200, body: { thirdPartyId: 'CRM-1' } });
    expect((await call('GET', '/v1/customers')).body.items.map((c: { thirdPartyId: string | null }) => c.thirdPartyId)).toEqual([null, 'CRM-1', null]);
    expect(await call('POST', '/v1/customers', { name: 'Blank', thirdPartyId: '' })).toMatchObject({ status: 400, body: { errors: [{ path: 'thirdPartyId' }] } });
  });

  it('keeps a customer while an agent names it (co-managed customer, group override, client restrictions)', async () => {
    for (const [path, fields] of [
      ['coManagedCustomerId', (id: string) => ({ coManagedCustomerId: id })],
      ['customerGroupOverrideId', (id: string) => ({ customerGroupOverrideId: id })],
      ['clientRestrictions.customerIds[0]', (id: string) => ({ clientRestrictions: { allowAllCustomers: false, customerIds: [id] } })],
    ] as const) {
      const customer = (await call('POST', '/v1/customers', { name: `Partner for ${path}` })).body;
      const agent = await insertAgent(t, { name: `Partner agent ${path}`, ...fields(customer.id) });
      const refused = await call('DELETE', `/v1/customers/${customer.id}`);
      expect(refused).toMatchObject({ status: 409, body: { code: 'CUSTOMER_IN_USE', referencedBy: [{ type: 'agent', id: agent.id, name: agent.name, path }] } });
      expect((await call('GET', `/v1/customers/${customer.id}`)).status).toBe(200);
      await t.db.write((stores) => stores.agents.remove(agent.id));
      expect((await call('DELETE', `/v1/customers/${customer.id}`)).status).toBe(204);
    }
  });

  it('keeps a user with its customer while an asset of that customer names the user', async () => {
    const [a, b] = [(await call('POST', '/v1/customers', { name: 'Asset owner A' })).body, (await call('POST', '/v1/customers', { name: 'Asset owner B' })).body];
    const user = (await call('POST', '/v1/users', { customerId: a.id, name: 'Uma User', thirdPartyId: 'IDP-UMA' })).body;
    const assetTypeId = (await call('POST', '/v1/config/asset-types', { name: 'Laptop' })).body.entity.id;
    const loose = (await call('POST', '/v1/config/assets', { name: 'Nobody’s laptop', assetTypeId, userIds: [user.id] })).body.entity;
    for (const naming of [{ userIds: [user.id] }, { technicalOwnerId: user.id }, { userThirdPartyIds: ['IDP-UMA'] }]) {
      const asset = await call('POST', '/v1/config/assets', { name: 'Uma’s laptop', assetTypeId, customerId: a.id, ...naming });
      expect(asset.status, JSON.stringify(asset.body)).toBe(201);
      const moved = await call('PATCH', `/v1/users/${user.id}`, { customerId: b.id });
      expect(moved).toMatchObject({ status: 409, body: { code: 'USER_IN_USE', referencedBy: [{ type: 'assets', id: asset.body.entity.id }], errors: [{ path: 'customerId' }] } });
      expect((await call('GET', `/v1/users/${user.id}`)).body.customerId).toBe(a.id);
      expect((await call('DELETE', `/v1/config/assets/${asset.body.entity.id}`)).status).toBe(200);
    }
    // An asset of no customer names whom it likes: it does not hold the user back.
    expect(loose.body.userIds).toEqual([user.id]);
    expect(await call('PATCH', `/v1/users/${user.id}`, { customerId: b.id })).toMatchObject({ status: 200, body: { customerId: b.id } });
  });
});
