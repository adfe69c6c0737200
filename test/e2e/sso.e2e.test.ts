import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { ok, startLiveInstance, type Answer, type LiveInstance } from '../support/pipeline.js';
import { createAgent } from '../support/principals.js';

const CLIENT_ID = 'shiplog-console';
const CLIENT_SECRET = 'idp-client-secret-9d81c2';
const KID = 'idp-signing-key';
const ADMINS = 'Service Desk Admins';

/** People the identity provider knows, by account id. */
const accounts: Record<string, Record<string, unknown>> = {
  ada: { sub: 'ada', email: 'ada@desk.test', email_verified: true, name: 'Ada', groups: [ADMINS, 'Staff'] },
  bob: { sub: 'bob', email: 'bob@desk.test', email_verified: true, name: 'Bob', groups: ['Staff'] },
  eve: { sub: 'eve', email: 'eve@desk.test', email_verified: true, name: 'Eve', groups: [ADMINS] },
};

type Tamper = (idToken: string) => Promise<string>;

/**
 * A real OpenID Provider (oidc-provider) on loopback: one confidential client, PKCE required, login answered by the
 * test (who signs in next), consent granted. `tamper` rewrites the ID token of the next token response.
 */
async function startProvider(redirectUri: string): Promise<{ issuer: string; login(account: string): void; tamper(fn: Tamper | null): void; key: CryptoKey; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
  let nextLogin = 'ada';
  let tamper: Tamper | null = null;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    cookies: { keys: ['test-cookie-signing-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: KoaContextWithOIDC, id: string) {
      const claims = accounts[id];
      return claims ? { accountId: id, claims: () => claims as never } : undefined;
    },
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void provider.interactionFinished(req, res, { login: { accountId: nextLogin } }, { mergeWithLastSubmission: false });
      return;
    }
    const rewrite = tamper;
    if (rewrite && req.method === 'POST' && req.url?.startsWith('/token')) {
      tamper = null;
      const chunks: Buffer[] = [];
      const end = res.end.bind(res);
      res.write = ((chunk: Buffer | string) => (chunks.push(Buffer.from(chunk)), true)) as typeof res.write;
      res.end = ((chunk?: Buffer | string) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        void (async () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id_token?: string };
          if (json.id_token) json.id_token = await rewrite(json.id_token);
          const body = JSON.stringify(json);
          res.setHeader('content-length', Buffer.byteLength(body));
          end(body);
        })();
        return res;
      }) as typeof res.end;
    }
    callback(req, res);
  });
  return {
    issuer,
    login: (account) => (nextLogin = account),
    tamper: (fn) => (tamper = fn),
    key: privateKey,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A browser's cookie jar (one host, any port, as browsers keep cookies) and redirects followed by hand. */
function browser() {
  const jar = new Map<string, string>();
  return {
    jar,
    async get(url: string): Promise<{ status: number; location: string | null; body: Answer }> {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const cookie of res.headers.getSetCookie()) {
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
      return { status: res.status, location: res.headers.get('location'), body };
    },
  };
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe.each(engines)('single sign-on with OpenID Connect on %s', (engine) => {
  let dev: LiveInstance;
  let idp: Awaited<ReturnType<typeof startProvider>>;
  let connectionId: string;
  let productionOnly: string;

  /** Runs the browser side: Shiplog start → provider → login → callback URL (not yet visited). */
  async function toCallback(b: ReturnType<typeof browser>, connection = connectionId): Promise<string> {
    const start = await b.get(`${dev.url}/auth/sso/${connection}/start`);
    if (start.status !== 302) throw new Error(`start answered ${start.status}: ${JSON.stringify(start.body)}`);
    let next = start.location!;
    for (let hop = 0; hop < 10; hop += 1) {
      if (next.startsWith(`${dev.url}/auth/sso/callback`)) return next;
      const res = await b.get(new URL(next, idp.issuer).href);
      if (!res.location) throw new Error(`the provider stopped at ${next}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      next = new URL(res.location, idp.issuer).href;
    }
    throw new Error('too many redirects');
  }

  async function lastSignIn(): Promise<Answer> {
    return (await ok(dev, 'GET', '/v1/audit?kind=session.sign-in')).items[0];
  }

  beforeAll(async () => {
    dev = await startLiveInstance(engine, { name: 'dev', kind: 'development' });
    idp = await startProvider(`${dev.url}/auth/sso/callback`);
    for (const who of ['ada', 'bob']) await createAgent(dev, { name: accounts[who]!.name as string, email: accounts[who]!.email as string });
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
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({ client_id: CLIENT_ID, response_type: 'code', code_challenge_method: 'S256', scope: 'openid email profile' });
    expect(authorization.searchParams.get('state')).toHaveLength(43);
    expect(authorization.searchParams.get('nonce')).toHaveLength(43);

    const done = await b.get(callback);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ agent: { email: 'ada@desk.test' } });
    const session = await fetch(`${dev.url}/v1/session`, { headers: { cookie: `shiplog_session=${b.jar.get('shiplog_session')}` } });
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
    expect(b.jar.has('shiplog_session')).toBe(false);
    expect(await lastSignIn()).toMatchObject({ outcome: 'failure', details: { reason: 'token-rejected' } });
  });

  it('never shows the client secret: not in the connection, not in the audit log', async () => {
    const shown = JSON.stringify([await ok(dev, 'GET', `/v1/config/sso-connections/${connectionId}`), await ok(dev, 'GET', '/v1/audit?limit=200')]);
    expect(shown).not.toContain(CLIENT_SECRET);
  });
});
