import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { create, ok, startPair, type Answer, type LiveInstance } from '../../test/support/pipeline.js';
import { stateFingerprint } from '../../test/support/state.js';
import { createApplication } from '../../test/support/principals.js';
import { BATCH_STREAM_TYPE } from './batch-stream.js';
import { sessionCookieName } from './plugins/auth.js';

// JSON texts are written out: JSON.stringify would escape a lone surrogate just as these do.
const LONE = String.raw`\ud800`;

describe.each(engines)('hostile input on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let teamId: string;

  beforeAll(async () => {
    ({ dev, staging } = await startPair(engine));
    teamId = (await create(dev, 'teams', { name: 'Network' })).id;
  });
  afterAll(async () => Promise.all([dev?.close(), staging?.close()]));

  const fingerprint = (instance: LiveInstance) => stateFingerprint(instance.database);

  function send(instance: LiveInstance, method: InjectOptions['method'], url: string, payload?: string | Buffer, headers: Record<string, string> = {}) {
    const type = payload === undefined ? {} : { 'content-type': 'application/json' };
    return instance.app.inject({ method, url, headers: { ...instance.auth, ...type, ...headers }, ...(payload === undefined ? {} : { payload }) });
  }

  /** A 400 problem naming `path`, with the instance's state as it was. */
  async function expectRefused(instance: LiveInstance, run: () => Promise<LightMyRequestResponse>, path: string, code: string): Promise<void> {
    const before = await fingerprint(instance);
    const res = await run();
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ path, code })] });
    expect(await fingerprint(instance)).toBe(before);
  }

  it('refuses a lone surrogate in a configuration body, and verify stays clean', async () => {
    await expectRefused(dev, () => send(dev, 'POST', '/v1/config/teams', `{"name":"${LONE}"}`), 'name', 'ill-formed-unicode');
    await expectRefused(dev, () => send(dev, 'PUT', `/v1/config/teams/${teamId}`, `{"name":"Network","description":"a${LONE}b"}`), 'description', 'ill-formed-unicode');
    await expectRefused(dev, () => send(dev, 'POST', '/v1/config/departments', `{"name":"D","properties":{"x${LONE}":1}}`), `properties.x\ud800`, 'ill-formed-unicode');
    // Bytes that are not UTF-8 are refused too, never turned into U+FFFD.
    await expectRefused(dev, () => send(dev, 'POST', '/v1/config/teams', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])), '', 'ill-formed-unicode');
    // A surrogate pair is well-formed: it is taken, stored and verified as sent.
    const paired = await send(dev, 'POST', '/v1/config/teams', String.raw`{"name":"Emoji \ud83d\ude00"}`);
    expect(paired.statusCode, paired.body).toBe(201);
    expect(paired.json<Answer>().entity.name).toBe('Emoji 😀');
    expect(await ok(dev, 'GET', '/v1/changes/verify')).toMatchObject({ ok: true, failure: null });
  });

  it('refuses a lone surrogate in link credentials with 400, never 500', async () => {
    const body = (secret: string) => `{"name":"other","url":"http://127.0.0.1:9","clientId":"app","clientSecret":"${secret}"}`;
    await expectRefused(dev, () => send(dev, 'POST', '/v1/instances', body(`scs_${LONE}`)), 'clientSecret', 'ill-formed-unicode');
    await expectRefused(dev, () => send(dev, 'PATCH', '/v1/instances/staging', String.raw`{"clientId":"\udfff"}`), 'clientId', 'ill-formed-unicode');
  });

  it('refuses ill-formed text in a query parameter, a path parameter and a prototype key in a query', async () => {
    await expectRefused(dev, () => send(dev, 'GET', '/v1/config/teams?q=%ED%A0%80'), 'q', 'ill-formed-unicode');
    await expectRefused(dev, () => send(dev, 'GET', '/v1/changes?limit=5&q=%FF'), 'q', 'ill-formed-unicode');
    await expectRefused(dev, () => send(dev, 'GET', '/v1/changes?%E0=1'), '%E0', 'ill-formed-unicode');
    await expectRefused(dev, () => send(dev, 'GET', '/v1/config/teams?__proto__=1'), '__proto__', 'unknown-field');
    await expectRefused(dev, () => send(dev, 'GET', '/v1/config/teams/%ED%A0%80'), '', 'malformed-url');
    // A well-formed query still answers.
    expect((await send(dev, 'GET', `/v1/config/teams?q=${encodeURIComponent('Netw')}`)).json<Answer>().items).toHaveLength(1);
  });

  it('refuses NUL, which PostgreSQL cannot store, in a body, a path parameter and a query parameter', async () => {
    await expectRefused(dev, () => send(dev, 'POST', '/v1/config/teams', String.raw`{"name":"a\u0000b"}`), 'name', 'nul-character');
    await expectRefused(dev, () => send(dev, 'GET', '/v1/ticket-lists/%00/tickets'), 'id', 'nul-character');
    await expectRefused(dev, () => send(dev, 'GET', `/v1/config/teams/${teamId}%00`), 'id', 'nul-character');
    await expectRefused(dev, () => send(dev, 'GET', '/v1/customers?q=a%00'), 'q', 'nul-character');
  });

  it('answers a token request whose query is refused in OAuth terms, never with a 500', async () => {
    const res = await dev.app.inject({ method: 'POST', url: '/auth/token?%', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
  });

  it('refuses a summary node past the top level with 400, never a 500', async () => {
    const origin = dev.services.instance.id;
    await expectRefused(dev, () => send(dev, 'POST', '/v1/sync/exchange', JSON.stringify({ nodes: [{ origin, level: 8, index: 0 }] })), 'nodes[0].level', 'too-big');
    await expectRefused(dev, () => send(dev, 'POST', '/v1/sync/exchange', JSON.stringify({ descend: [{ node: { origin, level: 9, index: 0 }, children: [] }] })), 'descend[0].node.level', 'too-big');
    await expectRefused(dev, () => send(dev, 'POST', '/v1/sync/exchange', JSON.stringify({ nodes: [{ origin, level: 0, index: 2 ** 40 }] })), 'nodes[0].index', 'too-big');
  });

  it('refuses __proto__ and constructor keys in a push body: 400, and nothing is pushed', async () => {
    const stagingBefore = await fingerprint(staging);
    await expectRefused(dev, () => send(dev, 'POST', '/v1/instances/staging/push', '{"__proto__":{"dryRun":true}}'), '__proto__', 'unknown-field');
    await expectRefused(dev, () => send(dev, 'POST', '/v1/instances/staging/push', '{"constructor":{}}'), 'constructor', 'unknown-field');
    await expectRefused(dev, () => send(dev, 'POST', '/v1/instances/staging/push', `{"changeSet":"a${LONE}"}`), 'changeSet', 'ill-formed-unicode');
    expect(await fingerprint(staging)).toBe(stagingBefore);
    // The push itself was there to run: without the key it does.
    const pushed = await ok(dev, 'POST', '/v1/instances/staging/push', {});
    expect(pushed.counts.toApply).toBeGreaterThan(0);
    expect(await fingerprint(staging)).not.toBe(stagingBefore);
  });

  it('refuses them in an import document, as JSON and as pasted text: 400, nothing imported', async () => {
    const changeId = (await create(dev, 'teams', { name: 'Imported' })).changeId;
    const document = JSON.stringify(await ok(dev, 'POST', '/v1/changes/export', { changeIds: [changeId] }));
    const inAfter = document.replace('"after":{', '"after":{"__proto__":{"isAdministrator":true},');
    const atTop = `{"constructor":1,${document.slice(1)}`;
    const lone = document.replace('"name":"Imported"', `"name":"Imported ${LONE}"`);
    for (const text of [inAfter, atTop, lone]) expect(text).not.toBe(document);
    for (const headers of [{}, { 'content-type': 'text/plain' }] as Record<string, string>[]) {
      await expectRefused(staging, () => send(staging, 'POST', '/v1/changes/import', inAfter, headers), 'changes[0].after.__proto__', 'unknown-field');
      await expectRefused(staging, () => send(staging, 'POST', '/v1/changes/import', atTop, headers), 'constructor', 'unknown-field');
      await expectRefused(staging, () => send(staging, 'POST', '/v1/changes/import', lone, headers), 'changes[0].after.name', 'ill-formed-unicode');
    }
    const imported = await send(staging, 'POST', '/v1/changes/import', document, { 'content-type': 'text/plain' });
    expect(imported.statusCode, imported.body).toBe(200);
  });

  it('refuses them in a streamed batch, naming the change', async () => {
    const out = await dev.services.syncReceiver.outgoing({ [dev.services.instance.id]: [[1, 1_000]] }, {});
    const header = {
      sender: { instanceId: dev.services.instance.id, name: 'dev', kind: 'development', version: dev.services.instance.version, inPipeline: false },
      operation: 'push',
      dryRun: false,
      allowMissing: [],
      count: out.changes.length,
    };
    const lines = out.changes.map(({ seq: _seq, ...change }) => JSON.stringify(change));
    const hostile = [...lines];
    hostile[1] = hostile[1]!.replace('"after":{', '"after":{"constructor":{"prototype":1},');
    const ndjson = (changes: string[]) => `${JSON.stringify(header)}\n${changes.join('\n')}\n`;
    await expectRefused(staging, () => send(staging, 'POST', '/v1/sync/receive', ndjson(hostile), { 'content-type': BATCH_STREAM_TYPE }), 'changes[1].after.constructor', 'unknown-field');
    const lone = [...lines];
    lone[0] = lone[0]!.replace('"after":{', `"after":{"x":"${LONE}",`);
    await expectRefused(staging, () => send(staging, 'POST', '/v1/sync/receive', ndjson(lone), { 'content-type': BATCH_STREAM_TYPE }), 'changes[0].after.x', 'ill-formed-unicode');
  });

  it('refuses them in a token request form, as an OAuth invalid_request', async () => {
    const { application, clientSecret } = await createApplication(dev, { agentId: dev.ctx.actor.id, permissions: ['config:read'] });
    const form = `grant_type=client_credentials&client_id=${application.clientId}&client_secret=${clientSecret}`;
    for (const payload of [`${form}&__proto__=x`, `${form}&constructor=x`, `${form}&scope=%ED%A0%80`, `${form}&scope=%FF`]) {
      const res = await dev.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request' });
    }
    const granted = await dev.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
    expect(granted.statusCode, granted.body).toBe(200);
  });

  it('answers a malformed session cookie as no session: 401 on protected routes, and public routes serve', async () => {
    for (const value of ['%E0%A4%A', '%', '%ED%A0%80', '%%41']) {
      const cookie = `${sessionCookieName(dev.services.instance.id)}=${value}`;
      for (const [method, url] of [['GET', '/v1/instance'], ['POST', '/v1/config/teams'], ['DELETE', '/v1/session']] as const) {
        const res = await dev.app.inject({ method, url, headers: { cookie }, ...(method === 'POST' ? { payload: { name: 'x' } } : {}) });
        expect(res.statusCode, `${method} ${url} ${value}`).toBe(401);
        expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
      }
      expect((await dev.app.inject({ method: 'GET', url: '/healthz', headers: { cookie } })).statusCode).toBe(200);
      const signIn = await dev.app.inject({ method: 'POST', url: '/v1/session', headers: { cookie }, payload: { email: 'admin@shiplog.local', password: 'correct horse battery staple' } });
      expect(signIn.statusCode, signIn.body).toBe(200);
    }
  });
});
