import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { applicationFor, create, ok, startLiveInstance, type LiveInstance } from '../../test/support/pipeline.js';
import { bearer, createAgent, createApplication, issueAccessToken } from '../../test/support/principals.js';
import type { Clock } from '../shared/clock.js';
import { buildApp } from './build-app.js';

const LIMIT = 5;
/** Seconds until one more request is allowed after the bucket ran dry: a minute over the limit. */
const REFILL_SECONDS = 60 / LIMIT;

describe.each(engines)('the rate limit per principal on %s', (engine) => {
  let t: TestApp;
  let limited: FastifyInstance;
  let now = Date.parse('2031-04-01T00:00:00Z');
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    t = await createTestApp(engine, { clock });
    ({ app: limited } = await buildApp(t.services, { rateLimit: LIMIT }));
  });
  afterAll(async () => {
    await limited?.close();
    await t?.close();
  });

  const call = (options: InjectOptions) => limited.inject(options);
  const statuses = async (n: number, options: InjectOptions) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await call(options)).statusCode);
    return out;
  };

  it('answers 429 with Retry-After once a principal has used its requests, and serves it again as they come back', async () => {
    const agent = await createAgent(t, { roles: [{ configAccess: 'read' }] });
    const request = { method: 'GET', url: '/v1/instance', headers: agent.headers } as const;
    expect(await statuses(LIMIT, request)).toEqual(Array(LIMIT).fill(200));
    const refused = await call(request);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterSeconds: REFILL_SECONDS, limit: LIMIT });
    expect(refused.headers['retry-after']).toBe(String(REFILL_SECONDS));

    // Another agent has requests of its own.
    const other = await createAgent(t, { roles: [{ configAccess: 'read' }] });
    expect((await call({ ...request, headers: other.headers })).statusCode).toBe(200);

    now += (REFILL_SECONDS - 1) * 1000;
    expect((await call(request)).statusCode).toBe(429);
    now += 1000;
    expect((await call(request)).statusCode).toBe(200);
    expect((await call(request)).statusCode).toBe(429);
    now += 60_000;
    expect(await statuses(LIMIT, request)).toEqual(Array(LIMIT).fill(200));
  });

  it('counts an application once, whatever tokens it holds, and apart from its agent', async () => {
    const agent = await createAgent(t, { apiOnly: true, token: false, roles: [{ configAccess: 'read' }] });
    const { application } = await createApplication(t, { agentId: agent.agent.id, permissions: ['config:read'] });
    const tokens = [await issueAccessToken(t, application), await issueAccessToken(t, application)];
    const calls: number[] = [];
    for (let i = 0; i <= LIMIT; i++) calls.push((await call({ method: 'GET', url: '/v1/catalog', headers: bearer(tokens[i % 2]!) })).statusCode);
    expect(calls).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    now += 60_000;
  });

  it('counts unauthenticated requests per address, bad credentials and public routes alike', async () => {
    const from = '203.0.113.50';
    const anonymous = [
      { method: 'GET', url: '/healthz', remoteAddress: from },
      { method: 'GET', url: '/v1/instance', remoteAddress: from },
      { method: 'GET', url: '/v1/instance', remoteAddress: from, headers: { authorization: 'Bearer shp_wrong' } },
    ] as const;
    const seen: number[] = [];
    for (let i = 0; i < LIMIT; i++) seen.push((await call(anonymous[i % 3]!)).statusCode);
    expect(seen).toEqual([200, 401, 401, 200, 401]);
    for (const request of anonymous) expect((await call(request)).statusCode).toBe(429);
    // The token endpoint says it in OAuth terms.
    const token = await call({ method: 'POST', url: '/auth/token', remoteAddress: from, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
    expect(token.statusCode).toBe(429);
    expect(token.json()).toMatchObject({ error: 'slow_down' });
    expect(token.headers['retry-after']).toBe(String(REFILL_SECONDS));
    // Another address, and a principal from this one, are served.
    expect((await call({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.51' })).statusCode).toBe(200);
    expect((await call({ method: 'GET', url: '/v1/instance', remoteAddress: from, headers: t.auth })).statusCode).toBe(200);
    now += 60_000;
  });

  it('does not count the peer protocol of an authenticated caller', async () => {
    const agent = await createAgent(t, { roles: [{ configAccess: 'read' }] });
    expect(await statuses(LIMIT + 1, { method: 'GET', url: '/v1/instance', headers: agent.headers })).toContain(429);
    expect(await statuses(3 * LIMIT, { method: 'GET', url: '/v1/sync/hello', headers: agent.headers })).toEqual(Array(3 * LIMIT).fill(200));
    now += 60_000;
  });
});

describe.each(engines)('sync between instances under a rate limit on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let stagingLimited: FastifyInstance;

  beforeAll(async () => {
    const secretKey = randomBytes(32);
    [dev, staging] = await Promise.all([startLiveInstance(engine, { name: 'dev', kind: 'development', secretKey }), startLiveInstance(engine, { name: 'staging', kind: 'staging', secretKey })]);
    // Staging served a second time, at a limit far below what a push asks of it.
    ({ app: stagingLimited } = await buildApp(staging.services, { rateLimit: 1 }));
    const url = await stagingLimited.listen({ port: 0, host: '127.0.0.1' });
    await ok(dev, 'POST', '/v1/instances', { name: 'staging', url, ...(await applicationFor(staging, 'dev')) });
  });
  afterAll(async () => {
    await stagingLimited?.close();
    await Promise.all([dev?.close(), staging?.close()]);
  });

  it('is never starved: a status and pushes of many requests each go through', async () => {
    for (const name of ['Network', 'Field', 'Desk']) await create(dev, 'teams', { name });
    expect(await ok(dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ reachable: true, behind: 0, ahead: 3 });
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts).toMatchObject({ toApply: 3, problems: 0 });
    await create(dev, 'teams', { name: 'Later' });
    expect((await ok(dev, 'POST', '/v1/instances/staging/push', {})).counts).toMatchObject({ toApply: 1, problems: 0 });
    expect(await ok(dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ inSync: true });
    // The same application, off the peer protocol, is held to the limit.
    const { clientId, clientSecret } = await applicationFor(staging, 'someone');
    const form = `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`;
    // From an address of its own: the peer's token requests came from loopback, and were counted there.
    const token = (await stagingLimited.inject({ method: 'POST', url: '/auth/token', remoteAddress: '198.51.100.99', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form })).json<{ access_token: string }>();
    const reads = [];
    for (let i = 0; i < 2; i++) reads.push((await stagingLimited.inject({ method: 'GET', url: '/v1/catalog', headers: bearer(token.access_token) })).statusCode);
    expect(reads).toEqual([200, 429]);
  });
});
