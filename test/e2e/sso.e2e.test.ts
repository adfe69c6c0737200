import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { KID, startProvider } from '../support/oidc-provider.js';
import { createTestApp, type TestApp } from '../support/instance.js';
import { ok, startLiveInstance, type Answer, type LiveInstance } from '../support/pipeline.js';
import { createAgent } from '../support/principals.js';
import { sessionCookieName } from '../../src/http/plugins/auth.js';

const CLIENT_ID = 'shiplog-console';
const CLIENT_SECRET = 'idp-client-secret-9d81c2';
/** A second client of the same provider: a connection of its own, whose provider keys are not yet known to Shiplog. */
const OTHER_CLIENT_ID = 'shiplog-console-2';
const ADMINS = 'Service Desk Admins';
/** Where people reach the instance, through a proxy: never the address the test server listens on. */
const PUBLIC_URL = 'https://desk.example.test/shiplog';
const CALLBACK = `${PUBLIC_URL}/auth/sso/callback`;

/** People the identity provider knows, by account id. */
const accounts: Record<string, Record<string, unknown>> = {
  ada: { sub: 'ada', email: 'ada@desk.test', email_verified: true, name: 'Ada', groups: [ADMINS, 'Staff'] },
  bob: { sub: 'bob', email: 'bob@desk.test', email_verified: true, name: 'Bob', groups: ['Staff'] },
  eve: { sub: 'eve', email: 'eve@desk.test', email_verified: true, name: 'Eve', groups: [ADMINS] },
  vic: { sub: 'vic', email: 'vic@desk.test', email_verified: false, name: 'Vic', groups: [ADMINS] },
  abe: { sub: 'abe', email: 'abe@desk.test', name: 'Abe', groups: [ADMINS] },
};

/** A browser's cookie jar (one host, any port, as browsers keep cookies) and redirects followed by hand. */
function browser() {
  const jar = new Map<string, string>();
  return {
    jar,
    async get(url: string): Promise<{ status: number; location: string | null; body: Answer; cookies: string[] }> {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      const cookies = res.headers.getSetCookie();
      for (const cookie of cookies) {
        const [pair] = cookie.split(';');
        const at = pair!.indexOf('=');
        jar.set(pair!.slice(0, at), pair!.slice(at + 1));
      }
      const text = await res.text();
      let body: Answer = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, location: res.headers.get('location'), body, cookies };
    },
  };
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe.each(engines)('single sign-on with OpenID Connect on %s', (engine) => {
  let dev: LiveInstance;
  let idp: Awaited<ReturnType<typeof startProvider>>;
  let connectionId: string;
  let productionOnly: string;

  /**
   * Runs the browser side: Shiplog start → provider → login → callback URL (not yet visited), as the proxy at the public
   * URL forwards it to the instance.
   */
  async function toCallback(b: ReturnType<typeof browser>, connection = connectionId, returnTo?: string): Promise<string> {
    const start = await b.get(`${dev.url}/auth/sso/${connection}/start${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`);
    if (start.status !== 302) throw new Error(`start answered ${start.status}: ${JSON.stringify(start.body)}`);
    let next = start.location!;
    for (let hop = 0; hop < 10; hop += 1) {
      if (next.startsWith(CALLBACK)) return `${dev.url}/auth/sso/callback${next.slice(CALLBACK.length)}`;
      const res = await b.get(new URL(next, idp.issuer).href);
      if (!res.location) throw new Error(`the provider stopped at ${next}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      next = new URL(res.location, idp.issuer).href;
    }
    throw new Error('too many redirects');
  }

  async function lastSignIn(): Promise<Answer> {
    return (await ok(dev, 'GET', '/v1/audit?kind=session.sign-in')).items[0];
  }

  async function attemptCount(): Promise<number> {
    return (await dev.database.dialect.db.selectFrom('sso_attempts').select('state_hash').execute()).length;
  }

  beforeAll(async () => {
    dev = await startLiveInstance(engine, { name: 'dev', kind: 'development', publicUrl: PUBLIC_URL });
    idp = await startProvider(CALLBACK, { accounts, clientIds: [CLIENT_ID, OTHER_CLIENT_ID], clientSecret: CLIENT_SECRET });
    for (const who of ['ada', 'bob', 'vic', 'abe']) await createAgent(dev, { name: accounts[who]!.name as string, email: accounts[who]!.email as string });
    const connection = (body: Record<string, unknown>) => ok(dev, 'POST', '/v1/config/sso-connections', body);
    connectionId = (
      await connection({
        name: 'Company login',
        protocol: 'oidc',
        issuer: idp.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        instances: ['dev', 'staging'],
        claimValidations: [{ claim: 'groups', operator: 'contains', value: ADMINS }],
      })
    ).entity.id;
    productionOnly = (await connection({ name: 'Production login', protocol: 'oidc', issuer: idp.issuer, clientId: CLIENT_ID, instances: ['production'] })).entity.id;
  });
  afterAll(async () => {
    await dev?.close();
    await idp?.close();
  });

  it('signs an agent in: code flow with PKCE, state and nonce, claims checked, a console session opened and audited', async () => {
    expect((await ok(dev, 'GET', '/auth/sso')).items).toEqual([{ id: connectionId, name: 'Company login', startUrl: `/auth/sso/${connectionId}/start` }]);
    const b = browser();
    idp.login('ada');
    const callback = await toCallback(b);
    const authorization = new URL((await fetch(`${dev.url}/auth/sso/${connectionId}/start`, { redirect: 'manual' })).headers.get('location')!);
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      response_type: 'code',
      code_challenge_method: 'S256',
      scope: 'openid email profile',
      redirect_uri: CALLBACK,
    });
    expect(authorization.searchParams.get('state')).toHaveLength(43);
    expect(authorization.searchParams.get('nonce')).toHaveLength(43);

    const done = await b.get(callback);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ agent: { email: 'ada@desk.test' } });
    // The instance is reached over https (the public URL), though the proxy talks to it over http: the cookie is Secure.
    expect(done.cookies.find((c) => c.startsWith(`${sessionCookieName(dev.services.instance.id)}=`))).toMatch(/; Secure/);
    const session = await fetch(`${dev.url}/v1/session`, { headers: { cookie: `${sessionCookieName(dev.services.instance.id)}=${b.jar.get(sessionCookieName(dev.services.instance.id))}` } });
    expect(await session.json()).toMatchObject({ agent: { email: 'ada@desk.test' }, via: 'session' });
    expect(await lastSignIn()).toMatchObject({ outcome: 'success', details: { method: 'sso', connectionId } });

    // The same callback again: its state was used up.
    expect((await b.get(callback)).body).toMatchObject({ code: 'SIGN_IN_REFUSED' });
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { method: 'sso', reason: 'bad-state' } });
  });

  it('refuses a connection that does not serve this instance, and audits it', async () => {
    const res = await browser().get(`${dev.url}/auth/sso/${productionOnly}/start`);
    expect(res).toMatchObject({ status: 401, body: { code: 'SIGN_IN_REFUSED' } });
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { reason: 'wrong-instance', connectionId: productionOnly, instance: 'dev' } });
  });

  it('refuses an agent whose claims fail a validation, and one the provider knows but this instance does not', async () => {
    idp.login('bob');
    const b = browser();
    expect((await b.get(await toCallback(b))).body).toMatchObject({ code: 'SIGN_IN_REFUSED' });
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { reason: 'claims-failed', failing: [`groups contains ${ADMINS}`] } });

    idp.login('eve');
    const c = browser();
    expect((await c.get(await toCallback(c))).status).toBe(401);
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { reason: 'no-agent', subject: 'eve' } });
  });

  it('refuses a callback with a forged state, and a code replayed under another sign-in’s state', async () => {
    expect((await browser().get(`${dev.url}/auth/sso/callback?code=made-up&state=made-up`)).status).toBe(401);
    expect(await lastSignIn()).toMatchObject({ details: { reason: 'bad-state' } });

    idp.login('ada');
    const first = browser();
    const used = new URL(await toCallback(first));
    expect((await first.get(used.href)).status).toBe(200);
    const second = browser();
    const fresh = new URL(await toCallback(second));
    fresh.searchParams.set('code', used.searchParams.get('code')!);
    expect((await second.get(fresh.href)).status).toBe(401);
    expect(await lastSignIn()).toMatchObject({ details: { reason: 'token-rejected' } });
  });

  it.each([
    ['an ID token for another audience', (c: Record<string, unknown>) => ({ ...c, aud: 'someone-else' }), 'own'],
    ['an expired ID token', (c: Record<string, unknown>) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }), 'own'],
    ['an ID token signed with another key', (c: Record<string, unknown>) => c, 'other'],
  ] as const)('refuses %s', async (_label, change, key) => {
    const signer = key === 'own' ? idp.key : (await generateKeyPair('RS256')).privateKey;
    idp.tamper(async (token) => new SignJWT(change(claimsOf(token)) as never).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(signer));
    idp.login('ada');
    const b = browser();
    const res = await b.get(await toCallback(b));
    expect(res).toMatchObject({ status: 401, body: { code: 'SIGN_IN_REFUSED' } });
    expect(b.jar.has(sessionCookieName(dev.services.instance.id))).toBe(false);
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { reason: 'token-rejected' } });
  });

  it('started from the console, returns into it: signed in, or to the sign-in screen with the problem', async () => {
    idp.login('ada');
    const b = browser();
    const done = await b.get(await toCallback(b, connectionId, '/changes?type=teams'));
    expect(done).toMatchObject({ status: 303, location: '/changes?type=teams' });
    expect(b.jar.get(sessionCookieName(dev.services.instance.id))).toMatch(/^sss_/);
    expect(b.jar.get(`shiplog_sso_return_${dev.services.instance.id}`)).toBe('');

    idp.login('vic');
    const refused = browser();
    const back = await refused.get(await toCallback(refused, connectionId, '/changes'));
    expect(back.status).toBe(303);
    expect(back.location).toBe('/sign-in?redirect=%2Fchanges&problem=SIGN_IN_REFUSED');
    expect(refused.jar.get(sessionCookieName(dev.services.instance.id)) ?? '').toBe('');

    const elsewhere = await browser().get(`${dev.url}/auth/sso/${connectionId}/start?returnTo=${encodeURIComponent('//evil.test/')}`);
    expect(elsewhere).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('makes the redirect URI from the public URL alone, whatever Host and forwarding headers say', async () => {
    const res = await dev.app.inject({
      method: 'GET',
      url: `/auth/sso/${connectionId}/start`,
      headers: { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http' },
    });
    expect(res.statusCode).toBe(302);
    expect(new URL(res.headers.location as string).searchParams.get('redirect_uri')).toBe(CALLBACK);
  });

  it.each([
    ['says the email is not verified', 'vic', null, 'false'],
    ['says nothing of verifying the email', 'abe', null, 'absent'],
    ['says "true" as text, not as true', 'ada', (c: Record<string, unknown>) => ({ ...c, email_verified: 'true' }), 'true'],
  ] as const)('refuses an ID token that %s, though an agent has that address, and audits why', async (_label, account, change, said) => {
    if (change) idp.tamper(async (token) => new SignJWT(change(claimsOf(token)) as never).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(idp.key));
    idp.login(account);
    const b = browser();
    const res = await b.get(await toCallback(b));
    expect(res).toMatchObject({ status: 401, body: { code: 'SIGN_IN_REFUSED' } });
    expect(b.jar.has(sessionCookieName(dev.services.instance.id))).toBe(false);
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { method: 'sso', reason: 'email-not-verified', subject: account, emailVerified: said } });
  });

  it.each([
    ['its token endpoint fails', '/token', CLIENT_ID],
    ['the keys that verify its ID tokens cannot be had', '/jwks', OTHER_CLIENT_ID],
  ] as const)('answers 502, audited, when %s during the callback', async (_label, path, clientId) => {
    const connection = (await ok(dev, 'POST', '/v1/config/sso-connections', { name: `Login via ${clientId}`, protocol: 'oidc', issuer: idp.issuer, clientId, clientSecret: CLIENT_SECRET, instances: ['dev'] })).entity.id;
    idp.login('ada');
    const b = browser();
    const callback = await toCallback(b, connection);
    idp.fail(path);
    try {
      const res = await b.get(callback);
      expect(res).toMatchObject({ status: 502, body: { code: 'SSO_PROVIDER_UNAVAILABLE', connectionId: connection, providerStep: 'token' } });
      expect(b.jar.has(sessionCookieName(dev.services.instance.id))).toBe(false);
    } finally {
      idp.fail(null);
    }
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { method: 'sso', reason: 'provider-unavailable', providerStep: 'token', step: 'callback', connectionId: connection } });
  });

  it.each([
    ['a provider that is not there', 'dead'],
    ['a provider whose discovery answers an error', 'broken'],
  ] as const)('answers 502, audited, when a sign-in starts at %s, and stores nothing', async (_label, kind) => {
    const broken = createServer((_req, res) => res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>'));
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const port = (broken.address() as AddressInfo).port;
    if (kind === 'dead') await new Promise((resolve) => broken.close(resolve));
    try {
      const issuer = `http://127.0.0.1:${port}`;
      const connection = (await ok(dev, 'POST', '/v1/config/sso-connections', { name: `A ${kind} provider`, protocol: 'oidc', issuer, clientId: CLIENT_ID, instances: ['dev'] })).entity.id;
      const attempts = await attemptCount();
      const res = await browser().get(`${dev.url}/auth/sso/${connection}/start`);
      expect(res).toMatchObject({ status: 502, body: { code: 'SSO_PROVIDER_UNAVAILABLE', connectionId: connection, providerStep: 'discovery' } });
      expect(res.location).toBeNull();
      expect(await attemptCount()).toBe(attempts);
      expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { method: 'sso', reason: 'provider-unavailable', providerStep: 'discovery', step: 'start', connectionId: connection } });
    } finally {
      if (kind === 'broken') await new Promise((resolve) => broken.close(resolve));
    }
  });

  it('never shows the client secret: not in the connection, not in the audit log', async () => {
    const shown = JSON.stringify([await ok(dev, 'GET', `/v1/config/sso-connections/${connectionId}`), await ok(dev, 'GET', '/v1/audit?limit=200')]);
    expect(shown).not.toContain(CLIENT_SECRET);
  });
});

describe.each(engines)('single sign-on without a public URL on %s', (engine) => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('does not start a sign-in, saying which setting it needs, and stores nothing', async () => {
    t = await createTestApp(engine);
    const connection = await t.services.config.create(t.ctx, 'sso-connections', { name: 'Company login', protocol: 'oidc', issuer: 'https://idp.example.test', clientId: CLIENT_ID, instances: ['dev'] });
    const res = await t.app.inject({ method: 'GET', url: `/auth/sso/${connection.entity!.id}/start`, headers: { host: 'desk.example.test' } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'SSO_NOT_CONFIGURED', setting: 'SHIPLOG_PUBLIC_URL', detail: expect.stringContaining('--public-url') });
    expect(res.headers.location).toBeUndefined();
    expect(await t.database.dialect.db.selectFrom('sso_attempts').select('state_hash').execute()).toEqual([]);
  });
});
