import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../access/passwords.js';
import { defaultSessionPolicy } from '../access/session-service.js';
import type { AgentRecord } from '../store/ports.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { insertAgent } from '../../test/support/principals.js';
import { csrfCookieName, sessionCookieName } from './plugins/auth.js';

const ADMIN = { email: 'admin@shiplog.local', password: 'correct horse battery staple' };
const PASSWORD = 'another long password';

interface SignInBody {
  agent: { id: string; name: string; email: string };
  csrfToken: string;
  expiresAt: string;
}

function setCookie(res: LightMyRequestResponse): string {
  const header = res.headers['set-cookie'];
  const value = Array.isArray(header) ? header.join('\n') : header;
  if (!value) throw new Error(`no Set-Cookie in ${res.statusCode} ${res.body}`);
  return value;
}

function cookieValue(res: LightMyRequestResponse): string {
  const match = /^shiplog_session_\w+=([^;]*)/.exec(setCookie(res));
  if (!match?.[1]) throw new Error('no session cookie');
  return decodeURIComponent(match[1]);
}

describe.each(engines)('console sessions over HTTP on %s', (engine) => {
  let t: TestApp;
  let now = Date.UTC(2026, 2, 1, 8, 0, 0);
  const logs: string[] = [];
  const secrets = new Set<string>([ADMIN.password, PASSWORD]);
  let address = 0;
  const nextAddress = () => `192.0.2.${++address}`;

  beforeAll(async () => {
    t = await createTestApp(engine, { clock: { now: () => now }, logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } } });
    secrets.add(t.token);
  });
  afterAll(async () => t?.close());

  type Method = NonNullable<InjectOptions['method']>;
  function call(method: Method, url: string, options: { body?: unknown; cookie?: string; csrf?: string; headers?: Record<string, string>; from?: string } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie !== undefined) headers.cookie = `theme=dark; ${sessionCookieName(t.services.instance.id)}=${encodeURIComponent(options.cookie)}`;
    if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf;
    return t.app.inject({
      method,
      url,
      headers,
      remoteAddress: options.from ?? '127.0.0.1',
      ...(options.body === undefined ? {} : { payload: options.body as InjectOptions['payload'] }),
    });
  }

  async function signIn(credentials = ADMIN, from = nextAddress()): Promise<{ cookie: string; csrf: string; body: SignInBody; res: LightMyRequestResponse }> {
    const res = await call('POST', '/v1/session', { body: credentials, from });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<SignInBody>();
    const cookie = cookieValue(res);
    secrets.add(cookie).add(body.csrfToken);
    return { cookie, csrf: body.csrfToken, body, res };
  }

  async function addAgent(email: string, fields: Partial<AgentRecord> = {}): Promise<AgentRecord> {
    return insertAgent(t, { name: email.split('@')[0]!, email, passwordHash: await hashPassword(PASSWORD), ...fields }, now);
  }

  it('signs in: an httpOnly SameSite=Strict cookie, the CSRF token once, and nothing else secret', async () => {
    const { res, body, cookie } = await signIn();
    expect(body.agent).toMatchObject({ name: 'Administrator', email: ADMIN.email });
    expect(Object.keys(body).sort()).toEqual(['agent', 'csrfToken', 'expiresAt']);
    expect(Object.keys(body.agent).sort()).toEqual(['email', 'id', 'name']);
    expect(body.expiresAt).toBe(new Date(now + defaultSessionPolicy.lifetimeMs).toISOString());
    expect(body.csrfToken).toMatch(/^csrf_/);
    expect(cookie).toMatch(/^sss_/);
    const [sessionCookie, csrfCookie] = setCookie(res).split('\n');
    const attributes = sessionCookie!.split('; ');
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${defaultSessionPolicy.lifetimeMs / 1000}`]));
    // The console reads the CSRF token from its own cookie: not httpOnly, named by GET /auth/instance.
    const named = (await call('GET', '/auth/instance')).json<{ csrfCookie: string; name: string; kind: string }>();
    expect(named).toMatchObject({ name: 'dev', kind: 'development', csrfCookie: csrfCookieName(t.services.instance.id) });
    const csrfAttributes = csrfCookie!.split('; ');
    expect(csrfAttributes[0]).toBe(`${named.csrfCookie}=${encodeURIComponent(body.csrfToken)}`);
    expect(csrfAttributes).toEqual(expect.arrayContaining(['Path=/', 'SameSite=Strict']));
    expect(csrfAttributes).not.toContain('HttpOnly');
    // Over plain http (as inject is) the cookie cannot be Secure, or the browser would drop it.
    expect(attributes).not.toContain('Secure');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toContain(ADMIN.password);
    expect(res.body).not.toContain(cookie);
  });

  it('tells who is signed in, by cookie or by bearer token', async () => {
    const { cookie, body } = await signIn();
    const bySession = await call('GET', '/v1/session', { cookie });
    expect(bySession.statusCode, bySession.body).toBe(200);
    expect(bySession.json()).toEqual({ agent: body.agent, via: 'session', expiresAt: body.expiresAt });
    expect(bySession.body).not.toContain(body.csrfToken);
    expect(bySession.body).not.toContain(cookie);

    const byToken = await call('GET', '/v1/session', { headers: t.auth });
    expect(byToken.json()).toEqual({ agent: body.agent, via: 'api-token', expiresAt: null });

    const nobody = await call('GET', '/v1/session');
    expect(nobody.statusCode).toBe(401);
    expect(nobody.json()).toMatchObject({ code: 'UNAUTHENTICATED' });

    // A cookie works for reads of other routes too.
    expect((await call('GET', '/v1/instance', { cookie })).json()).toMatchObject({ you: { agentId: body.agent.id, isAdministrator: true } });
  });

  it('needs the CSRF token for cookie-authenticated writes, and not for bearer tokens', async () => {
    const mine = await signIn();
    const other = await signIn();
    const teams = async () => (await call('GET', '/v1/config/teams?q=CSRF&limit=200', { headers: t.auth })).json<{ items: { name: string }[] }>().items.map((i) => i.name);

    const missing = await call('POST', '/v1/config/teams', { cookie: mine.cookie, body: { name: 'CSRF missing' } });
    expect(missing.statusCode, missing.body).toBe(403);
    expect(missing.json()).toMatchObject({ code: 'CSRF_FAILED', status: 403 });
    const wrong = await call('POST', '/v1/config/teams', { cookie: mine.cookie, csrf: other.csrf, body: { name: 'CSRF wrong' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ code: 'CSRF_FAILED' });
    const garbage = await call('POST', '/v1/config/teams', { cookie: mine.cookie, csrf: 'not-a-token', body: { name: 'CSRF garbage' } });
    expect(garbage.statusCode).toBe(403);
    expect(await teams()).toEqual([]);

    const right = await call('POST', '/v1/config/teams', { cookie: mine.cookie, csrf: mine.csrf, body: { name: 'CSRF right' } });
    expect(right.statusCode, right.body).toBe(201);
    const change = await call('GET', `/v1/changes/${String(right.headers['x-change-id'])}`, { headers: t.auth });
    expect(change.json()).toMatchObject({ actor: { kind: 'agent', id: mine.body.agent.id } });

    const bearer = await call('POST', '/v1/config/teams', { headers: t.auth, body: { name: 'CSRF bearer' } });
    expect(bearer.statusCode, bearer.body).toBe(201);
    expect((await teams()).sort()).toEqual(['CSRF bearer', 'CSRF right']);
  });

  it('signs out: the cookie is cleared and the session no longer works; sign-out itself needs the CSRF token', async () => {
    const { cookie, csrf, body } = await signIn();
    const forged = await call('DELETE', '/v1/session', { cookie });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ code: 'CSRF_FAILED' });
    expect((await call('GET', '/v1/session', { cookie })).statusCode).toBe(200);

    const out = await call('DELETE', '/v1/session', { cookie, csrf });
    expect(out.statusCode, out.body).toBe(204);
    expect(out.body).toBe('');
    const [clearedSession, clearedCsrf] = setCookie(out).split('\n');
    expect(clearedCsrf).toMatch(new RegExp(`^${csrfCookieName(t.services.instance.id)}=; .*Max-Age=0`));
    const cleared = clearedSession!.split('; ');
    expect(cleared[0]).toBe(`${sessionCookieName(t.services.instance.id)}=`);
    expect(cleared).toEqual(expect.arrayContaining(['Max-Age=0', 'HttpOnly', 'SameSite=Strict', 'Path=/']));

    for (const res of [await call('GET', '/v1/session', { cookie }), await call('POST', '/v1/config/teams', { cookie, csrf, body: { name: 'After sign-out' } })]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    const events = await call('GET', `/v1/audit?kind=session.sign-out&actorId=${body.agent.id}`, { headers: t.auth });
    expect(events.json<{ items: unknown[] }>().items[0]).toMatchObject({ outcome: 'success', actor: { id: body.agent.id }, details: { agentId: body.agent.id } });

    // Signing out with a bearer token has no session to end; it still answers 204.
    expect((await call('DELETE', '/v1/session', { headers: t.auth })).statusCode).toBe(204);
  });

  it('refuses an expired session, and a session of an agent disabled since', async () => {
    const expiring = await signIn();
    const agent = await addAgent('soon-disabled@example.com');
    const disabled = await signIn({ email: agent.email, password: PASSWORD });
    expect((await call('GET', '/v1/session', { cookie: disabled.cookie })).statusCode).toBe(200);
    await t.db.write((stores) => stores.agents.update({ ...agent, disabled: true }));
    expect((await call('GET', '/v1/session', { cookie: disabled.cookie })).statusCode).toBe(401);

    const saved = now;
    try {
      now = Date.parse(expiring.body.expiresAt) - 1;
      expect((await call('GET', '/v1/session', { cookie: expiring.cookie })).statusCode).toBe(200);
      now = Date.parse(expiring.body.expiresAt);
      const expired = await call('GET', '/v1/session', { cookie: expiring.cookie });
      expect(expired.statusCode).toBe(401);
      expect((await call('POST', '/v1/config/teams', { cookie: expiring.cookie, csrf: expiring.csrf, body: { name: 'Expired' } })).statusCode).toBe(401);
    } finally {
      now = saved;
    }
  });

  it('answers every refusal the same way, without a cookie, whatever the reason', async () => {
    await addAgent('http-api@example.com', { apiOnly: true, passwordHash: null });
    await addAgent('http-disabled@example.com', { disabled: true });
    await addAgent('http-nopass@example.com', { passwordHash: null });
    const attempts = [
      { email: 'http-nobody@example.com', password: PASSWORD },
      { email: ADMIN.email, password: 'not the password' },
      { email: 'http-api@example.com', password: PASSWORD },
      { email: 'http-disabled@example.com', password: PASSWORD },
      { email: 'http-nopass@example.com', password: PASSWORD },
    ];
    const shapes = new Set<string>();
    for (const attempt of attempts) {
      const res = await call('POST', '/v1/session', { body: attempt, from: nextAddress() });
      expect(res.statusCode, attempt.email).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const { requestId: _r, ...problem } = res.json<Record<string, unknown>>();
      expect(problem).toMatchObject({ code: 'SIGN_IN_REFUSED', status: 401 });
      shapes.add(JSON.stringify(problem));
      expect(res.body).not.toContain(attempt.password);
    }
    expect(shapes.size).toBe(1);
  });

  it('throttles repeated failures with 429 and Retry-After; the right password from another address still works', async () => {
    const agent = await addAgent('http-throttled@example.com');
    const from = nextAddress();
    for (let i = 0; i < defaultSessionPolicy.maxFailures; i++) {
      expect((await call('POST', '/v1/session', { body: { email: agent.email, password: `guess ${i}` }, from })).statusCode).toBe(401);
    }
    const blocked = await call('POST', '/v1/session', { body: { email: agent.email, password: PASSWORD }, from });
    expect(blocked.statusCode, blocked.body).toBe(429);
    expect(blocked.json()).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', status: 429, retryAfterSeconds: 60 });
    expect(blocked.headers['retry-after']).toBe('60');
    expect(blocked.headers['set-cookie']).toBeUndefined();

    const elsewhere = await call('POST', '/v1/session', { body: { email: agent.email, password: PASSWORD }, from: nextAddress() });
    expect(elsewhere.statusCode).toBe(200);
    secrets.add(cookieValue(elsewhere)).add(elsewhere.json<SignInBody>().csrfToken);
  });

  it('validates the sign-in body without echoing the password', async () => {
    const cases = [
      { email: ADMIN.email },
      { email: ADMIN.email, password: '' },
      { email: ADMIN.email, password: ADMIN.password, agentId: 'someone-else' },
      { email: ADMIN.email, password: 12345 },
    ];
    for (const body of cases) {
      const res = await call('POST', '/v1/session', { body, from: nextAddress() });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.body).not.toContain(ADMIN.password);
    }
  });

  it('never writes a password, token or cookie to the log', () => {
    expect(logs.length).toBeGreaterThan(20);
    const text = logs.join('');
    expect(text).toContain('/v1/session');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('never puts a password, token or cookie in the audit log', async () => {
    const res = await call('GET', '/v1/audit?limit=200', { headers: t.auth });
    expect(res.statusCode).toBe(200);
    const kinds = new Set(res.json<{ items: { kind: string }[] }>().items.map((i) => i.kind));
    expect(kinds).toEqual(new Set(['session.sign-in', 'session.sign-out']));
    const rows = JSON.stringify(await t.database.dialect.db.selectFrom('audit_events').selectAll().execute());
    for (const secret of secrets) {
      expect(res.body).not.toContain(secret);
      expect(rows).not.toContain(secret);
    }
    expect(rows).not.toContain('not the password');
    expect(rows).not.toContain('guess 0');
  });
});
