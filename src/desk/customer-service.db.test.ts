import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';

/** Customers carry a third-party id, as users and agents do: the id another system gives them, unique per instance. */
describe.each(engines)('customers’ third-party ids on %s', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(engine);
  });
  afterAll(async () => t?.close());

  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.json() };
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
});
