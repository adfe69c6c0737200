import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../src/store/ports.js';
import { engines } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/instance.js';
import { insertAgent } from '../support/principals.js';

interface Created {
  application: { id: string; clientId: string };
  clientSecret: string;
}

/** The OAuth error a refused grant carries, whichever way openid-client reports it. */
async function refusedWith(promise: Promise<unknown>): Promise<{ status: number; error: string; challenge: string | null }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof client.ResponseBodyError) return { status: error.status, error: error.error, challenge: null };
    // A 401 that challenges for Basic comes back as a challenge error with the OAuth body still unread.
    if (error instanceof client.WWWAuthenticateChallengeError) {
      const body = (await error.response.json()) as { error: string };
      const [challenge] = error.cause;
      return { status: error.status, error: body.error, challenge: challenge ? `${challenge.scheme} realm=${challenge.parameters.realm}` : null };
    }
    throw error;
  }
  throw new Error('expected the grant to be refused');
}

describe.each(engines)('a real OAuth client (openid-client) against a listening instance on %s', (engine) => {
  let t: TestApp;
  let baseUrl: string;
  let agent: AgentRecord;
  let app: Created;

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...t.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return res.status === 204 ? null : ((await res.json()) as unknown);
  };

  const configure = (clientId: string, clientSecret: string, method: 'post' | 'basic' = 'post') => {
    const config = new client.Configuration(
      { issuer: baseUrl, token_endpoint: `${baseUrl}/auth/token` },
      clientId,
      clientSecret,
      method === 'basic' ? client.ClientSecretBasic(clientSecret) : client.ClientSecretPost(clientSecret),
    );
    // Plain HTTP on the loopback address only, for the test.
    client.allowInsecureRequests(config);
    return config;
  };

  const teams = (accessToken: string) => fetch(`${baseUrl}/v1/config/teams`, { headers: { authorization: `Bearer ${accessToken}` } });

  const setAgentDisabled = (disabled: boolean) =>
    t.db.write(async (stores) => {
      const current = await stores.agents.find(agent.id);
      await stores.agents.update({ ...current!, disabled });
    });

  beforeAll(async () => {
    t = await createTestApp(engine);
    baseUrl = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/\/$/, '');
    agent = await insertAgent(t, { name: 'Cybertest integration', email: 'cybertest@example.test', apiOnly: true });
    await admin('POST', '/v1/config/roles', { name: 'Integration', configAccess: 'read', ticketAccess: 'modify', customerAccess: 'read', agentIds: [agent.id] });
    await admin('POST', '/v1/config/teams', { name: '1st Line Support' });
    app = (await admin('POST', '/v1/applications', { name: 'Cybertest', agentId: agent.id, permissions: ['tickets:read', 'tickets:edit', 'customers:read', 'config:read'] })) as Created;
  });
  afterAll(async () => t?.close());

  it('gets a token with client_secret_post and a scope, and reads the configuration with it', async () => {
    const token = await client.clientCredentialsGrant(configure(app.application.clientId, app.clientSecret), { scope: 'config:read' });
    expect(token.token_type).toBe('bearer');
    expect(token.scope).toBe('config:read');
    expect(token.expires_in).toBe(900);
    expect(token.refresh_token).toBeUndefined();
    const res = await teams(token.access_token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { name: string }[] };
    expect(body.items.map((team) => team.name)).toContain('1st Line Support');
    // The token carries only the scope asked for, though the application has more.
    const me = await fetch(`${baseUrl}/v1/instance`, { headers: { authorization: `Bearer ${token.access_token}` } });
    expect(((await me.json()) as { you: { kind: string; permissions: string[] } }).you).toMatchObject({ kind: 'application', permissions: ['config:read'] });
  });

  it('gets a token with client_secret_basic and every permission of the application when no scope is asked', async () => {
    const token = await client.clientCredentialsGrant(configure(app.application.clientId, app.clientSecret, 'basic'));
    expect(token.scope!.split(' ').sort()).toEqual(['config:read', 'customers:read', 'tickets:edit', 'tickets:read']);
    expect((await teams(token.access_token)).status).toBe(200);
  });

  it('refuses a wrong secret with invalid_client, challenging for Basic when Basic was used', async () => {
    const wrong = `${app.clientSecret.slice(0, -3)}abc`;
    expect(await refusedWith(client.clientCredentialsGrant(configure(app.application.clientId, wrong)))).toEqual({ status: 401, error: 'invalid_client', challenge: null });
    expect(await refusedWith(client.clientCredentialsGrant(configure(app.application.clientId, wrong, 'basic')))).toEqual({
      status: 401,
      error: 'invalid_client',
      challenge: 'basic realm=shiplog',
    });
    expect(await refusedWith(client.clientCredentialsGrant(configure('app_unknown', app.clientSecret)))).toMatchObject({ status: 401, error: 'invalid_client' });
  });

  it('refuses a scope the application does not have with invalid_scope', async () => {
    const config = configure(app.application.clientId, app.clientSecret);
    expect(await refusedWith(client.clientCredentialsGrant(config, { scope: 'config:push' }))).toEqual({ status: 400, error: 'invalid_scope', challenge: null });
    expect(await refusedWith(client.clientCredentialsGrant(config, { scope: 'tickets:read not:a-permission' }))).toMatchObject({ error: 'invalid_scope' });
  });

  it('refuses a disabled application with invalid_client, and its tokens stop working', async () => {
    const config = configure(app.application.clientId, app.clientSecret);
    const token = await client.clientCredentialsGrant(config);
    await admin('PATCH', `/v1/applications/${app.application.id}`, { enabled: false });
    try {
      expect(await refusedWith(client.clientCredentialsGrant(config))).toEqual({ status: 401, error: 'invalid_client', challenge: null });
      expect((await teams(token.access_token)).status).toBe(401);
    } finally {
      await admin('PATCH', `/v1/applications/${app.application.id}`, { enabled: true });
    }
    expect((await teams((await client.clientCredentialsGrant(config)).access_token)).status).toBe(200);
  });

  it('refuses an application whose agent is disabled with unauthorized_client', async () => {
    const config = configure(app.application.clientId, app.clientSecret, 'basic');
    const token = await client.clientCredentialsGrant(config);
    await setAgentDisabled(true);
    try {
      expect(await refusedWith(client.clientCredentialsGrant(config))).toEqual({ status: 400, error: 'unauthorized_client', challenge: null });
      expect((await teams(token.access_token)).status).toBe(401);
    } finally {
      await setAgentDisabled(false);
    }
    expect((await teams(token.access_token)).status).toBe(200);
  });
});
