import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import type { Clock } from '../shared/clock.js';
import type { AgentRecord } from '../store/ports.js';
import { createServices } from '../services.js';
import { buildApp } from './build-app.js';
import { insertAgent } from '../../test/support/principals.js';

interface ApplicationJson {
  id: string;
  name: string;
  clientId: string;
  agentId: string;
  permissions: string[];
  enabled: boolean;
}
interface Created {
  application: ApplicationJson;
  clientSecret: string;
}
interface TokenJson {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

const START = Date.parse('2030-01-01T00:00:00Z');
const FORM = 'application/x-www-form-urlencoded';

/** Percent-encodes every character, as a client applying RFC 6749 §2.3.1 strictly may. */
const encodeAll = (value: string) => [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeAll(id)}:${encodeAll(secret)}`).toString('base64')}`;

describe.each(engines)('the OAuth token endpoint on %s', (engine) => {
  let t: TestApp;
  let now = START;
  const clock: Clock = { now: () => now };
  const logs: string[] = [];
  /** Every credential handed out: none may show up where it should not. */
  const secrets: string[] = [];
  /** Responses other than the one-time reveals (create, rotate, token). */
  const ordinary: string[] = [];
  let agent: AgentRecord;
  let roleId: string;

  function addAgent(name: string): Promise<AgentRecord> {
    return insertAgent(t, { name, email: `${name.toLowerCase().replace(/\W+/g, '-')}@example.test`, apiOnly: true }, now);
  }

  const setAgentDisabled = (id: string, disabled: boolean) =>
    t.db.write(async (stores) => {
      const current = await stores.agents.find(id);
      await stores.agents.update({ ...current!, disabled });
    });

  type Method = NonNullable<InjectOptions['method']>;
  async function call(method: Method, url: string, options: { body?: unknown; headers?: Record<string, string>; reveal?: boolean } = {}): Promise<LightMyRequestResponse> {
    const res = await t.app.inject({
      method,
      url,
      headers: { ...t.auth, ...options.headers },
      ...(options.body === undefined ? {} : { payload: options.body as InjectOptions['payload'] }),
    });
    if (!options.reveal) ordinary.push(`${res.payload}\n${JSON.stringify(res.headers)}`);
    return res;
  }

  async function createApplication(name: string, permissions: string[], agentId = agent.id): Promise<Created> {
    const res = await call('POST', '/v1/applications', { body: { name, agentId, permissions }, reveal: true });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json<Created>();
    secrets.push(created.clientSecret);
    return created;
  }

  async function requestToken(
    form: Record<string, string> | string,
    options: { authorization?: string; address?: string; contentType?: string; app?: TestApp['app'] } = {},
  ): Promise<LightMyRequestResponse> {
    const res = await (options.app ?? t.app).inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': options.contentType ?? FORM, ...(options.authorization ? { authorization: options.authorization } : {}) },
      payload: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
      ...(options.address ? { remoteAddress: options.address } : {}),
    });
    if (res.statusCode === 200) secrets.push(res.json<TokenJson>().access_token);
    else ordinary.push(`${res.payload}\n${JSON.stringify(res.headers)}`);
    return res;
  }

  async function tokenFor(created: Created, scope?: string): Promise<string> {
    const res = await requestToken({
      grant_type: 'client_credentials',
      client_id: created.application.clientId,
      client_secret: created.clientSecret,
      ...(scope === undefined ? {} : { scope }),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<TokenJson>().access_token;
  }

  const withToken = (token: string, method: Method = 'GET', url = '/v1/config/teams', body?: unknown) =>
    call(method, url, { headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });

  const oauthError = (res: LightMyRequestResponse) => res.json<{ error: string; error_description?: string }>();

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    t = await createTestApp(engine, { clock, logger: { level: 'trace', stream } });
    agent = await addAgent('Scanner agent');
    const role = await t.services.config.create(t.ctx, 'roles', {
      name: 'Integration',
      configAccess: 'modify',
      ticketAccess: 'modify',
      customerAccess: 'read',
      agentIds: [agent.id],
    });
    roleId = role.entity!.id;
  });
  afterAll(async () => t?.close());

  it('manages applications over HTTP: create shows the secret once, then list, read, change and delete', async () => {
    const created = await createApplication('Cybertest', ['tickets:read', 'tickets:edit', 'customers:read']);
    expect(created.application).toMatchObject({ name: 'Cybertest', agentId: agent.id, permissions: ['tickets:read', 'tickets:edit', 'customers:read'], enabled: true });
    const id = created.application.id;

    const read = await call('GET', `/v1/applications/${id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(created.application);
    const list = await call('GET', '/v1/applications?q=cybertest');
    expect(list.json<{ items: ApplicationJson[] }>().items.map((a) => a.id)).toEqual([id]);

    const patched = await call('PATCH', `/v1/applications/${id}`, { body: { permissions: ['tickets:read'], name: 'Cybertest (read)' } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Cybertest (read)', permissions: ['tickets:read'] });

    const unknown = await call('PATCH', `/v1/applications/${id}`, { body: { permissions: ['tickets:read', 'tickets:destroy'] } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
    expect(unknown.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual(['permissions[1]']);
    const smuggled = await call('PATCH', `/v1/applications/${id}`, { body: { clientId: 'app_mine', secretHash: 'x' } });
    expect(smuggled.statusCode).toBe(400);
    expect((await call('GET', `/v1/applications/${id}`)).json()).toEqual(patched.json());

    const deleted = await call('DELETE', `/v1/applications/${id}`);
    expect(deleted.statusCode).toBe(204);
    const missing = await call('GET', `/v1/applications/${id}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'APPLICATION_NOT_FOUND' });
  });

  it('requires access:manage on every application route', async () => {
    const created = await createApplication('Limited', ['config:read', 'tickets:read']);
    const token = await tokenFor(created);
    for (const [method, url] of [
      ['GET', '/v1/applications'],
      ['POST', '/v1/applications'],
      ['GET', `/v1/applications/${created.application.id}`],
      ['PATCH', `/v1/applications/${created.application.id}`],
      ['DELETE', `/v1/applications/${created.application.id}`],
      ['POST', `/v1/applications/${created.application.id}/rotate-secret`],
    ] as const) {
      const res = await withToken(token, method, url, method === 'GET' || method === 'DELETE' ? undefined : {});
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(t.routeTable.filter((r) => r.url.startsWith('/v1/applications')).map((r) => r.permission)).toEqual(Array(6).fill('access:manage'));
    expect(t.routeTable).toContainEqual({ method: 'POST', url: '/auth/token', permission: 'public' });
  });

  it('issues a bearer token to HTTP Basic and to body credentials, which then calls the API', async () => {
    const created = await createApplication('Both ways', ['config:read', 'tickets:read']);
    const { clientId } = created.application;

    const viaBasic = await requestToken({ grant_type: 'client_credentials' }, { authorization: basic(clientId, created.clientSecret) });
    expect(viaBasic.statusCode, viaBasic.body).toBe(200);
    expect(viaBasic.headers['cache-control']).toBe('no-store');
    expect(viaBasic.headers.pragma).toBe('no-cache');
    expect(viaBasic.headers['content-type']).toContain('application/json');
    const token = viaBasic.json<TokenJson>();
    expect(token).toEqual({ access_token: expect.stringMatching(/^sla_[\w-]{43}$/), token_type: 'Bearer', expires_in: 900, scope: 'tickets:read config:read' });
    expect(token).not.toHaveProperty('refresh_token');

    const teams = await withToken(token.access_token);
    expect(teams.statusCode, teams.body).toBe(200);
    const me = await withToken(token.access_token, 'GET', '/v1/instance');
    expect(me.json()).toMatchObject({ you: { kind: 'application', id: created.application.id, agentId: agent.id, permissions: ['config:read', 'tickets:read'] } });

    const viaBody = await requestToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: created.clientSecret });
    expect(viaBody.statusCode, viaBody.body).toBe(200);
    expect(viaBody.json<TokenJson>().access_token).not.toBe(token.access_token);
    expect((await withToken(viaBody.json<TokenJson>().access_token)).statusCode).toBe(200);

    // A client_id in the body beside Basic is fine when it names the same client.
    const both = await requestToken({ grant_type: 'client_credentials', client_id: clientId }, { authorization: basic(clientId, created.clientSecret) });
    expect(both.statusCode, both.body).toBe(200);
  });

  it('grants a subset of the permissions as scope, and refuses a scope beyond them with invalid_scope', async () => {
    const created = await createApplication('Scoped', ['config:read', 'config:edit', 'tickets:read']);
    const scoped = await requestToken({ grant_type: 'client_credentials', scope: 'config:read', client_id: created.application.clientId, client_secret: created.clientSecret });
    expect(scoped.json<TokenJson>().scope).toBe('config:read');
    const token = scoped.json<TokenJson>().access_token;
    expect((await withToken(token)).statusCode).toBe(200);
    // The application may edit configuration, but this token asked only to read it.
    expect((await withToken(token, 'POST', '/v1/config/teams', { name: 'Not allowed' })).statusCode).toBe(403);
    const full = await tokenFor(created);
    expect((await withToken(full, 'POST', '/v1/config/teams', { name: 'Allowed' })).statusCode).toBe(201);

    for (const scope of ['config:read config:push', 'tickets:destroy', 'access:manage']) {
      const refused = await requestToken({ grant_type: 'client_credentials', scope, client_id: created.application.clientId, client_secret: created.clientSecret });
      expect(refused.statusCode, scope).toBe(400);
      expect(oauthError(refused).error).toBe('invalid_scope');
      expect(refused.headers['cache-control']).toBe('no-store');
    }
  });

  it('answers malformed requests with the RFC 6749 §5.2 errors, as JSON rather than problem documents', async () => {
    const created = await createApplication('Malformed', ['config:read']);
    const { clientId } = created.application;
    const credentials = { client_id: clientId, client_secret: created.clientSecret };
    const cases: [string, Parameters<typeof requestToken>, number, string][] = [
      ['no grant_type', [{ ...credentials }], 400, 'invalid_request'],
      ['password grant', [{ grant_type: 'password', username: 'a', password: 'b', ...credentials }], 400, 'unsupported_grant_type'],
      ['authorization_code grant', [{ grant_type: 'authorization_code', code: 'x', ...credentials }], 400, 'unsupported_grant_type'],
      ['repeated parameter', [`grant_type=client_credentials&scope=config:read&scope=config:read&client_id=${clientId}&client_secret=${created.clientSecret}`], 400, 'invalid_request'],
      ['JSON body', [JSON.stringify({ grant_type: 'client_credentials', ...credentials }), { contentType: 'application/json' }], 400, 'invalid_request'],
      ['Basic and client_secret', [{ grant_type: 'client_credentials', ...credentials }, { authorization: basic(clientId, created.clientSecret) }], 400, 'invalid_request'],
      ['no client authentication', [{ grant_type: 'client_credentials' }], 401, 'invalid_client'],
      ['client_id without secret', [{ grant_type: 'client_credentials', client_id: clientId }], 401, 'invalid_client'],
      ['malformed Basic', [{ grant_type: 'client_credentials' }, { authorization: 'Basic !!!' }], 401, 'invalid_client'],
      ['Basic without a colon', [{ grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(clientId).toString('base64')}` }], 401, 'invalid_client'],
    ];
    for (const [label, args, status, error] of cases) {
      const res = await requestToken(...args);
      expect(res.statusCode, `${label}: ${res.body}`).toBe(status);
      expect(res.headers['content-type'], label).toMatch(/^application\/json/);
      expect(oauthError(res), label).toEqual({ error, error_description: expect.any(String) });
      expect(oauthError(res).error_description, label).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
      expect(res.headers['cache-control'], label).toBe('no-store');
    }
    const noBody = await t.app.inject({ method: 'POST', url: '/auth/token' });
    expect(noBody.statusCode).toBe(400);
    expect(oauthError(noBody).error).toBe('invalid_request');
  });

  it('refuses a wrong secret or an unknown client with 401 invalid_client, challenging Basic only when Basic was used', async () => {
    const created = await createApplication('Wrong secret', ['config:read']);
    const { clientId } = created.application;
    const wrong = `${created.clientSecret.slice(0, -2)}xx`;
    const viaBasic = await requestToken({ grant_type: 'client_credentials' }, { authorization: basic(clientId, wrong) });
    expect(viaBasic.statusCode).toBe(401);
    expect(oauthError(viaBasic).error).toBe('invalid_client');
    expect(viaBasic.headers['www-authenticate']).toBe('Basic realm="shiplog"');

    const viaBody = await requestToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: wrong });
    expect(viaBody.statusCode).toBe(401);
    expect(oauthError(viaBody).error).toBe('invalid_client');
    expect(viaBody.headers['www-authenticate']).toBeUndefined();

    const unknown = await requestToken({ grant_type: 'client_credentials', client_id: 'app_000000000000000000000000', client_secret: created.clientSecret });
    expect(unknown.statusCode).toBe(401);
    expect(oauthError(unknown)).toEqual(oauthError(viaBody));

    const [refused] = await t.services.audit.list({ kind: 'token.refused', limit: 1 });
    expect(refused).toMatchObject({ outcome: 'failure', subject: 'app_000000000000000000000000', details: { clientId: 'app_000000000000000000000000', reason: 'unknown-client', error: 'invalid_client' } });
    const reasons = (await t.services.audit.list({ kind: 'token.refused', limit: 10 })).filter((e) => e.details.clientId === clientId);
    expect(reasons.map((e) => [e.details.reason, e.details.authMethod])).toEqual([
      ['wrong-secret', 'client_secret_post'],
      ['wrong-secret', 'client_secret_basic'],
    ]);
    expect(JSON.stringify(reasons)).not.toContain(wrong);
  });

  it('refuses a disabled application (invalid_client) and an application whose agent is disabled (unauthorized_client)', async () => {
    const own = await addAgent('Toggled agent');
    await t.services.config.replace(t.ctx, 'roles', roleId, {
      ...(await t.services.config.get('roles', roleId)).body,
      agentIds: [agent.id, own.id],
    });
    const created = await createApplication('Toggled', ['config:read'], own.id);
    const form = { grant_type: 'client_credentials', client_id: created.application.clientId, client_secret: created.clientSecret };
    const token = await tokenFor(created);

    expect((await call('PATCH', `/v1/applications/${created.application.id}`, { body: { enabled: false } })).statusCode).toBe(200);
    expect((await withToken(token)).statusCode).toBe(401);
    const disabled = await requestToken(form);
    expect(disabled.statusCode).toBe(401);
    expect(oauthError(disabled).error).toBe('invalid_client');
    expect((await call('PATCH', `/v1/applications/${created.application.id}`, { body: { enabled: true } })).statusCode).toBe(200);

    const again = await tokenFor(created);
    await setAgentDisabled(own.id, true);
    expect((await withToken(again)).statusCode).toBe(401);
    const agentOff = await requestToken(form);
    expect(agentOff.statusCode).toBe(400);
    expect(oauthError(agentOff).error).toBe('unauthorized_client');
    await setAgentDisabled(own.id, false);
    expect((await requestToken(form)).statusCode).toBe(200);
    expect((await withToken(again)).statusCode).toBe(200);

    const reasons = (await t.services.audit.list({ kind: 'token.refused', limit: 10 })).filter((e) => e.details.clientId === created.application.clientId).map((e) => e.details.reason);
    expect(reasons).toEqual(['agent-disabled', 'application-disabled']);
  });

  it('throttles repeated failures per client and address with 429 slow_down, without locking the right secret out elsewhere', async () => {
    const created = await createApplication('Throttled', ['config:read']);
    const other = await createApplication('Neighbour', ['config:read']);
    const { clientId } = created.application;
    const attacker = '198.51.100.7';
    const client = '203.0.113.9';
    const right = { grant_type: 'client_credentials', client_id: clientId, client_secret: created.clientSecret };
    const guess = (n: number) => ({ ...right, client_secret: `scs_guess_${n}` });

    for (let i = 0; i < 5; i++) expect((await requestToken(guess(i), { address: attacker })).statusCode).toBe(401);
    now += 10_000;
    const blocked = await requestToken(right, { address: attacker });
    expect(blocked.statusCode).toBe(429);
    expect(oauthError(blocked).error).toBe('slow_down');
    expect(blocked.headers['retry-after']).toBe('50');
    expect(blocked.headers['cache-control']).toBe('no-store');
    expect((await requestToken(guess(6), { address: attacker })).statusCode).toBe(429);

    // The legitimate client on its own address, and another client from the attacker's address, are unaffected.
    expect((await requestToken(right, { address: client })).statusCode).toBe(200);
    expect((await requestToken({ ...right, client_id: other.application.clientId, client_secret: other.clientSecret }, { address: attacker })).statusCode).toBe(200);

    // The count lives in the database, so another process serving the same database refuses too.
    const second = createServices(t.db, { instance: t.services.instance, version: t.services.instance.version, catalog: t.services.catalog, box: t.box, clock });
    const { app: secondApp } = await buildApp(second);
    try {
      expect((await requestToken(right, { address: attacker, app: secondApp })).statusCode).toBe(429);
    } finally {
      await secondApp.close();
    }

    const [throttled] = await t.services.audit.list({ kind: 'token.refused', limit: 1 });
    expect(throttled!.details).toMatchObject({ clientId, reason: 'throttled', error: 'slow_down', retryAfterSeconds: 50 });
    expect(throttled!.remoteAddress).toBe(attacker);

    // After the window the right secret works there too, and its success starts the count afresh.
    now += 50_000;
    expect((await requestToken(right, { address: attacker })).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await requestToken(guess(i), { address: attacker })).statusCode).toBe(401);
    expect((await requestToken(right, { address: attacker })).statusCode).toBe(429);
    now += 60_000;
  });

  it('lets a token expire after 900 seconds', async () => {
    const created = await createApplication('Expiring', ['config:read']);
    const token = await tokenFor(created);
    now += 899_000;
    expect((await withToken(token)).statusCode).toBe(200);
    now += 1_000;
    const expired = await withToken(token);
    expect(expired.statusCode).toBe(401);
    expect(expired.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await withToken(await tokenFor(created))).statusCode).toBe(200);
  });

  it('revokes tokens when the secret is rotated: the old secret stops at once and the new one is shown once', async () => {
    const created = await createApplication('Rotated', ['config:read']);
    const token = await tokenFor(created);
    const res = await call('POST', `/v1/applications/${created.application.id}/rotate-secret`, { reveal: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const rotated = res.json<Created>();
    secrets.push(rotated.clientSecret);
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    expect((await withToken(token)).statusCode).toBe(401);
    const old = await requestToken({ grant_type: 'client_credentials', client_id: created.application.clientId, client_secret: created.clientSecret });
    expect(oauthError(old).error).toBe('invalid_client');
    expect((await withToken(await tokenFor(rotated))).statusCode).toBe(200);
  });

  it('applies a permission removed from the application or from the agent’s role on the very next request', async () => {
    const created = await createApplication('Shrinking', ['config:read', 'tickets:read']);
    const token = await tokenFor(created);
    expect((await withToken(token)).statusCode).toBe(200);

    expect((await call('PATCH', `/v1/applications/${created.application.id}`, { body: { permissions: ['tickets:read'] } })).statusCode).toBe(200);
    expect((await withToken(token)).statusCode).toBe(403);
    expect((await call('PATCH', `/v1/applications/${created.application.id}`, { body: { permissions: ['tickets:read', 'config:read'] } })).statusCode).toBe(200);
    expect((await withToken(token)).statusCode).toBe(200);

    const role = await t.services.config.get('roles', roleId);
    await t.services.config.replace(t.ctx, 'roles', roleId, { ...role.body, configAccess: 'none' });
    const denied = await withToken(token);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'config:read' });
    await t.services.config.replace(t.ctx, 'roles', roleId, { ...role.body, configAccess: 'modify' });
    expect((await withToken(token)).statusCode).toBe(200);
  });

  it('audits tokens issued and refused, with the client id and never a secret', async () => {
    const issued = await t.services.audit.list({ kind: 'token.issued', limit: 200 });
    expect(issued.length).toBeGreaterThan(5);
    expect(issued[0]).toMatchObject({ outcome: 'success', actor: { kind: 'application' }, details: { clientId: expect.stringMatching(/^app_/), scope: expect.any(Array) } });
    const refused = await t.services.audit.list({ kind: 'token.refused', limit: 200 });
    expect(new Set(refused.map((e) => e.details.reason))).toEqual(
      new Set([
        'missing-grant-type',
        'unsupported-grant-type',
        'repeated-parameter',
        'not-form-encoded',
        'two-authentication-methods',
        'no-client-authentication',
        'unusable-authorization-header',
        'wrong-secret',
        'unknown-client',
        'application-disabled',
        'agent-disabled',
        'invalid-scope',
        'throttled',
      ]),
    );
    const text = JSON.stringify(await t.services.audit.list({ limit: 1000 }));
    expect(text).toContain('application.secret-rotated');
    for (const value of secrets) expect(text).not.toContain(value);
  });

  it('shows no secret in any other response, in the logs or in the database', async () => {
    ordinary.push((await call('GET', '/v1/applications?limit=200')).payload);
    ordinary.push((await call('GET', '/v1/audit?limit=200')).payload);
    expect(secrets.filter((s) => s.startsWith('scs_')).length).toBeGreaterThan(10);
    expect(secrets.filter((s) => s.startsWith('sla_')).length).toBeGreaterThan(10);
    const responses = ordinary.join('\n');
    expect(responses).toContain('app_');
    for (const value of secrets) expect(responses).not.toContain(value);

    const logged = logs.join('');
    expect(logged).toContain('/auth/token');
    for (const value of secrets) expect(logged).not.toContain(value);

    const stored = await storedText(t);
    expect(stored.includes(Buffer.from('Shrinking'))).toBe(true);
    for (const value of secrets) expect(stored.includes(Buffer.from(value)), value.slice(0, 4)).toBe(false);
  });

  it('documents the token endpoint in the OpenAPI document as a form post', async () => {
    const doc = (await call('GET', '/openapi.json')).json<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; security?: unknown[] }>> }>();
    const token = doc.paths['/auth/token']?.post;
    expect(Object.keys(token?.requestBody?.content ?? {})).toEqual([FORM]);
    expect(token?.security).toEqual([]);
    expect(doc.paths['/v1/applications/{id}/rotate-secret']).toBeDefined();
  });
});

/** Everything the database holds: the SQLite file and its WAL byte for byte, or every text column of every PostgreSQL table. */
async function storedText(t: TestApp): Promise<Buffer> {
  if (t.database.engine === 'sqlite') {
    const files = [t.database.url, `${t.database.url}-wal`].filter((file) => existsSync(file));
    return Buffer.concat(files.map((file) => readFileSync(file)));
  }
  const db = t.database.dialect.db;
  const columns = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and data_type in ('text', 'character varying', 'json', 'jsonb')
  `.execute(db);
  expect(columns.rows.map((c) => `${c.table_name}.${c.column_name}`)).toEqual(expect.arrayContaining(['applications.secret_hash', 'access_tokens.token_hash', 'audit_events.details']));
  const values: string[] = [];
  for (const { table_name, column_name } of columns.rows) {
    const result = await sql<{ v: string | null }>`select ${sql.ref(column_name)}::text as v from ${sql.table(table_name)}`.execute(db);
    for (const row of result.rows) if (row.v !== null) values.push(row.v);
  }
  return Buffer.from(values.join('\n'), 'utf8');
}
