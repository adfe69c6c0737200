import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { loggableUrl, loggerOptions } from './logging.js';

describe('loggableUrl', () => {
  it('censors the values of secret query parameters and keeps the rest', () => {
    expect(loggableUrl('/auth/sso/callback?code=abc&state=def&iss=https%3A%2F%2Fidp')).toBe('/auth/sso/callback?code=%5Bredacted%5D&state=%5Bredacted%5D&iss=https%3A%2F%2Fidp');
    expect(loggableUrl('/v1/changes?type=teams')).toBe('/v1/changes?type=teams');
    expect(loggableUrl('/healthz')).toBe('/healthz');
  });
});

describe.each(engines)('the server log on %s', (engine) => {
  const lines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    // The logger `shiplog serve` runs with, at its most talkative.
    t = await createTestApp(engine, { logger: loggerOptions('trace', { write: (line) => void lines.push(line) }) });
  });
  afterAll(async () => t?.close());

  it('writes one JSON object a line, each with the request id answered, and never a credential', async () => {
    const password = 'correct horse battery staple';
    const signIn = await t.app.inject({ method: 'POST', url: '/v1/session', payload: { email: 'admin@shiplog.local', password } });
    expect(signIn.statusCode).toBe(200);
    const cookie = [signIn.headers['set-cookie']].flat().map((c) => String(c).split(';')[0]).join('; ');
    const cookieValues = cookie.split('; ').map((c) => c.slice(c.indexOf('=') + 1));
    const csrf = (signIn.json() as { csrfToken: string }).csrfToken;

    const withToken = await t.app.inject({ method: 'GET', url: '/v1/instance', headers: { ...t.auth, 'x-request-id': 'probe-token-1' } });
    expect(withToken.statusCode).toBe(200);
    expect(withToken.headers['x-request-id']).toBe('probe-token-1');
    const withCookie = await t.app.inject({ method: 'POST', url: '/v1/config/teams', headers: { cookie, 'x-csrf-token': csrf, 'x-request-id': 'probe-cookie-1' }, payload: { name: 'Logged' } });
    expect(withCookie.statusCode).toBe(201);
    const clientSecret = 'client-secret-never-logged-0123456789';
    const token = await t.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'probe-oauth-1' },
      payload: `grant_type=client_credentials&client_id=nobody&client_secret=${clientSecret}`,
    });
    expect(token.statusCode).toBe(401);
    const code = 'single-use-code-never-logged';
    await t.app.inject({ method: 'GET', url: `/auth/sso/callback?code=${code}&state=state-never-logged`, headers: { 'x-request-id': 'probe-sso-1' } });

    const entries = lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string; req?: { url: string; route?: string; headers: Record<string, string> } });
    const text = lines.join('\n');
    for (const secret of [t.token, password, csrf, clientSecret, code, 'state-never-logged', ...cookieValues]) expect(text).not.toContain(secret);

    const received = (id: string) => entries.find((e) => e.reqId === id && e.msg === 'incoming request');
    expect(received('probe-token-1')?.req?.headers.authorization).toBe('[redacted]');
    expect(received('probe-cookie-1')?.req?.headers).toMatchObject({ cookie: '[redacted]', 'x-csrf-token': '[redacted]' });
    expect(received('probe-sso-1')?.req?.url).toContain('code=%5Bredacted%5D');
    // Every line of a request carries its id: the one asked for, or one made here.
    for (const id of ['probe-token-1', 'probe-cookie-1', 'probe-oauth-1', 'probe-sso-1']) {
      expect(entries.filter((e) => e.reqId === id).map((e) => e.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    }
    expect(entries.filter((e) => e.msg === 'incoming request').every((e) => typeof e.reqId === 'string' && e.reqId.length > 0)).toBe(true);
  });
});
