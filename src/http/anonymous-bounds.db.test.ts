import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createApplication } from '../../test/support/principals.js';
import { createPurger } from '../access/purge.js';
import { SOURCE_BUDGET } from '../access/source-budget.js';
import { createSsoService, defaultSsoAttemptPolicy } from '../access/sso-service.js';
import type { Clock } from '../shared/clock.js';
import { createOpenIdClient } from './oidc-client.js';

const START = Date.parse('2031-03-01T00:00:00Z');
const FLOOD = 200;
const BOUND = SOURCE_BUDGET.maxFailures + 1;

/** An OpenID Provider as far as starting a sign-in goes: its discovery document, served on loopback. */
async function startDiscovery(): Promise<{ issuer: string; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
  server.on('request', (req, res) => {
    if (req.url === '/.well-known/openid-configuration') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
    else res.writeHead(404).end();
  });
  return { issuer, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each(engines)('what unauthenticated callers can make an instance store, on %s', (engine) => {
  let t: TestApp;
  let idp: { issuer: string; close(): Promise<void> };
  let connectionId: string;
  let now = START;
  const clock: Clock = { now: () => now };
  let nextAddress = 10;
  /** A fresh address for each test: sources are counted apart. */
  const address = () => `198.51.100.${nextAddress++}`;

  beforeAll(async () => {
    t = await createTestApp(engine, { clock, publicUrl: 'http://127.0.0.1:4100' });
    idp = await startDiscovery();
    const connection = { name: 'Company login', protocol: 'oidc', issuer: idp.issuer, clientId: 'shiplog', instances: ['dev'] };
    connectionId = (await t.services.config.create(t.ctx, 'sso-connections', connection)).entity!.id;
  });
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  const db = () => t.database.dialect.db;
  const count = async (table: 'audit_events' | 'auth_throttle' | 'sso_attempts' | 'sessions' | 'access_tokens') =>
    Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const tokenRequest = (form: string, from: string) =>
    t.app.inject({ method: 'POST', url: '/auth/token', remoteAddress: from, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
  const signIn = (email: string, password: string, from: string) => t.app.inject({ method: 'POST', url: '/v1/session', remoteAddress: from, payload: { email, password } });
  const ssoStart = (from: string) => t.app.inject({ method: 'GET', url: `/auth/sso/${connectionId}/start`, remoteAddress: from });

  /** Sends `FLOOD` requests; how many answered each status, and the last answer. */
  async function flood(send: (i: number) => Promise<LightMyRequestResponse>): Promise<{ statuses: Record<number, number>; last: LightMyRequestResponse }> {
    const statuses: Record<number, number> = {};
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < FLOOD; i++) {
      last = await send(i);
      statuses[last.statusCode] = (statuses[last.statusCode] ?? 0) + 1;
    }
    return { statuses, last: last! };
  }

  async function floodEvent(kind: string, from: string) {
    const events = await t.services.audit.list({ kind, limit: 500 });
    return events.find((e) => e.remoteAddress === from && e.details.reason === 'flooding');
  }

  it(`${FLOOD} bad token requests from one address add at most ${BOUND} audit events and ${BOUND} throttle rows`, async () => {
    const from = address();
    const [audit, throttle] = [await count('audit_events'), await count('auth_throttle')];
    const { statuses, last } = await flood((i) => tokenRequest(`grant_type=client_credentials&client_id=app_guess_${i}&client_secret=scs_guess`, from));
    expect(statuses).toEqual({ 401: SOURCE_BUDGET.maxFailures, 429: FLOOD - SOURCE_BUDGET.maxFailures });
    expect(last.json()).toMatchObject({ error: 'slow_down' });
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    expect((await count('audit_events')) - audit).toBe(BOUND);
    expect((await count('auth_throttle')) - throttle).toBeLessThanOrEqual(BOUND);
    expect(await floodEvent('token.refused', from)).toMatchObject({ count: FLOOD - SOURCE_BUDGET.maxFailures, lastAt: now, details: { reason: 'flooding', source: from } });

    // Another address is not affected: its client gets its token.
    const { application, clientSecret } = await createApplication(t, { agentId: t.ctx.actor.id, permissions: ['config:read'] });
    expect((await tokenRequest(`grant_type=client_credentials&client_id=${application.clientId}&client_secret=${clientSecret}`, address())).statusCode).toBe(200);
  });

  it(`${FLOOD} bad sign-ins from one address add at most ${BOUND} audit events and ${BOUND} throttle rows`, async () => {
    const from = address();
    const [audit, throttle] = [await count('audit_events'), await count('auth_throttle')];
    const { statuses, last } = await flood((i) => signIn(`nobody-${i}@example.test`, 'not the password', from));
    expect(statuses).toEqual({ 401: SOURCE_BUDGET.maxFailures, 429: FLOOD - SOURCE_BUDGET.maxFailures });
    expect(last.json()).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: expect.any(Number) });
    expect(last.headers['retry-after']).toBe(String(last.json<{ retryAfterSeconds: number }>().retryAfterSeconds));
    expect((await count('audit_events')) - audit).toBe(BOUND);
    expect((await count('auth_throttle')) - throttle).toBeLessThanOrEqual(BOUND);
    expect(await floodEvent('session.sign-in', from)).toMatchObject({ count: FLOOD - SOURCE_BUDGET.maxFailures });
    // The administrator, from elsewhere, signs in.
    expect((await signIn('admin@shiplog.local', 'correct horse battery staple', address())).statusCode).toBe(200);
  });

  it(`${FLOOD} single sign-on starts from one address store at most ${defaultSsoAttemptPolicy.perSource} attempts`, async () => {
    const from = address();
    const [audit, attempts] = [await count('audit_events'), await count('sso_attempts')];
    const { statuses, last } = await flood(() => ssoStart(from));
    expect(statuses).toEqual({ 302: defaultSsoAttemptPolicy.perSource, 429: FLOOD - defaultSsoAttemptPolicy.perSource });
    expect(last.headers['retry-after']).toBe(String(last.json<{ retryAfterSeconds: number }>().retryAfterSeconds));
    expect((await count('sso_attempts')) - attempts).toBe(defaultSsoAttemptPolicy.perSource);
    expect((await count('audit_events')) - audit).toBe(BOUND);
    // Another address starts its sign-in.
    expect((await ssoStart(address())).statusCode).toBe(302);
  });

  it('caps pending single sign-on attempts in all: the oldest give way, expired ones first', async () => {
    const limits = { perSource: 2, total: 5 };
    const sso = createSsoService({ db: t.db, clock, audit: t.services.audit, box: t.box, catalog: t.services.catalog, instance: t.services.instance, policy: t.services.sessions.policy, client: createOpenIdClient(), publicUrl: new URL('http://127.0.0.1/'), attempts: limits });
    await t.db.write((stores) => stores.ssoAttempts.removeOldest(1_000_000));
    const start = (from: string) => sso.start(connectionId, { remoteAddress: from, requestId: 'r' });
    const starts = async (from: string, n: number) => {
      for (let i = 0; i < n; i++) await start(from);
    };
    const stored = () => db().selectFrom('sso_attempts').select(['source', 'created_at']).orderBy('created_at').orderBy('state_hash').execute();

    const early = address();
    await starts(early, 2);
    now += 11 * 60 * 1000; // those two expire
    const [a, b] = [address(), address()];
    await starts(a, 2);
    now += 1000;
    await starts(b, 2);
    // At five stored, the expired two gave way before any pending one.
    expect((await stored()).map((r) => r.source)).toEqual([a, a, b, b]);
    now += 1000;
    await starts(address(), 2);
    // With none expired, the one that started first.
    const c = (await stored()).at(-1)!.source;
    expect((await stored()).map((r) => r.source)).toEqual([a, b, b, c, c]);
  });

  it('purges expired sessions, access tokens, throttle rows and sign-in attempts, and nothing else', async () => {
    await t.db.write(async (stores) => {
      await stores.ssoAttempts.removeOldest(1_000_000);
    });
    const purger = createPurger({ db: t.db, clock, options: { intervalMs: 60_000, batch: 2 } });
    now += 24 * 60 * 60 * 1000;
    await purger.runOnce();
    const from = address();
    const session = await signIn('admin@shiplog.local', 'correct horse battery staple', from);
    const cookie = String(session.headers['set-cookie']).split(';')[0]!;
    const { application, clientSecret } = await createApplication(t, { agentId: t.ctx.actor.id, permissions: ['config:read'] });
    for (let i = 0; i < 3; i++) expect((await tokenRequest(`grant_type=client_credentials&client_id=${application.clientId}&client_secret=${clientSecret}`, from)).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expect((await signIn(`someone-${i}@example.test`, 'wrong', from)).statusCode).toBe(401);
    for (let i = 0; i < 3; i++) expect((await ssoStart(from)).statusCode).toBe(302);
    const counts = async () => ({ sessions: await count('sessions'), accessTokens: await count('access_tokens'), throttle: await count('auth_throttle'), ssoAttempts: await count('sso_attempts') });
    expect(await counts()).toEqual({ sessions: 1, accessTokens: 3, throttle: 4, ssoAttempts: 3 });

    const audit = await count('audit_events');
    // Nothing has expired yet.
    expect(await purger.runOnce()).toEqual({ sessions: 0, accessTokens: 0, throttle: 0, ssoAttempts: 0 });
    // A minute on, the per-email windows have ended; the address's own window (ten minutes) has not.
    now += 61 * 1000;
    expect(await purger.runOnce()).toEqual({ sessions: 0, accessTokens: 0, throttle: 3, ssoAttempts: 0 });
    // Past ten and fifteen minutes: the sign-in attempts, the address's window, the access tokens.
    now += 15 * 60 * 1000;
    expect(await purger.runOnce()).toEqual({ sessions: 0, accessTokens: 3, throttle: 1, ssoAttempts: 3 });
    expect((await t.app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } })).statusCode).toBe(200);
    // Past twelve hours: the session.
    now += 12 * 60 * 60 * 1000;
    expect(await purger.runOnce()).toEqual({ sessions: 1, accessTokens: 0, throttle: 0, ssoAttempts: 0 });
    expect(await counts()).toEqual({ sessions: 0, accessTokens: 0, throttle: 0, ssoAttempts: 0 });
    // The audit log and the application stay.
    expect(await count('audit_events')).toBe(audit);
    expect(await t.db.read((stores) => stores.applications.find(application.id))).toMatchObject({ id: application.id });
  });
});
