import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashCredential, mintCredential } from '../access/secrets.js';
import { newId } from '../shared/ids.js';
import type { AgentRecord } from '../store/ports.js';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { sessionCookieName } from './plugins/auth.js';
import { agentRecord } from '../../test/support/principals.js';

const ADMIN = { email: 'admin@shiplog.local', password: 'correct horse battery staple' };

interface AuditItem {
  id: string;
  at: string;
  kind: string;
  outcome: 'success' | 'failure' | 'denied';
  actor: { kind: string; id: string; name: string } | null;
  remoteAddress: string | null;
  requestId: string | null;
  subject: string | null;
  details: Record<string, unknown>;
}
interface AuditPage {
  items: AuditItem[];
  nextCursor: string | null;
}

describe.each(engines)('audit log over HTTP on %s', (engine) => {
  let t: TestApp;
  const start = Date.UTC(2026, 4, 4, 12, 0, 0);
  let now = start;
  let editor: AgentRecord;
  let editorToken: string;
  const secrets: string[] = [ADMIN.password];
  const at = (seconds: number) => new Date(start + seconds * 1000).toISOString();

  type Method = NonNullable<InjectOptions['method']>;
  const call = (method: Method, url: string, options: { body?: unknown; headers?: Record<string, string>; from?: string } = {}) =>
    t.app.inject({
      method,
      url,
      headers: options.headers ?? t.auth,
      remoteAddress: options.from ?? '127.0.0.1',
      ...(options.body === undefined ? {} : { payload: options.body as InjectOptions['payload'] }),
    });

  async function audit(query = ''): Promise<AuditPage> {
    const res = await call('GET', `/v1/audit${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<AuditPage>();
  }

  // A story of instance events, one second apart, that the tests below read back.
  beforeAll(async () => {
    t = await createTestApp(engine, { clock: { now: () => now } });
    secrets.push(t.token);
    editor = agentRecord({ name: 'Config Editor', email: 'editor@example.com' }, now);
    editorToken = mintCredential('shp');
    secrets.push(editorToken);
    await t.db.write(async (stores) => {
      await stores.agents.insert(editor);
      await stores.tokens.insert({ id: newId(), agentId: editor.id, tokenHash: hashCredential(editorToken), label: 'test', createdAt: now });
    });
    await t.services.config.create(t.ctx, 'roles', { name: 'Config editors', configAccess: 'modify', agentIds: [editor.id] });
    const editorAuth = { authorization: `Bearer ${editorToken}` };

    const signedIn = await call('POST', '/v1/session', { body: ADMIN, headers: { 'x-request-id': 'audit-sign-in' }, from: '198.51.100.7' });
    expect(signedIn.statusCode).toBe(200);
    const cookie = /shiplog_session_\w+=([^;]+)/.exec(String(signedIn.headers['set-cookie']))![1]!;
    const csrf = signedIn.json<{ csrfToken: string }>().csrfToken;
    secrets.push(decodeURIComponent(cookie), csrf);
    now += 1000;
    expect((await call('POST', '/v1/session', { body: { email: ADMIN.email, password: 'wrong password here' }, from: '203.0.113.9' })).statusCode).toBe(401);
    now += 1000;
    expect((await call('GET', '/v1/audit', { headers: editorAuth })).statusCode).toBe(403);
    now += 1000;
    expect((await call('PATCH', '/v1/settings', { body: { trackMailboxes: true } })).statusCode).toBe(200);
    now += 1000;
    expect((await call('PATCH', '/v1/settings', { body: { disableConfigEditing: true }, headers: editorAuth })).statusCode).toBe(200);
    now += 1000;
    expect((await call('PATCH', '/v1/settings', { body: { disableConfigEditing: false } })).statusCode).toBe(200);
    now += 1000;
    const out = await call('DELETE', '/v1/session', { headers: { cookie: `${sessionCookieName(t.services.instance.id)}=${cookie}`, 'x-csrf-token': csrf }, from: '198.51.100.7' });
    expect(out.statusCode).toBe(204);
    now += 1000;
  });
  afterAll(async () => t?.close());

  it('lists the events newest first: who, when, from where, what', async () => {
    const page = await audit();
    expect(page.nextCursor).toBeNull();
    const admin = { kind: 'agent', id: t.ctx.actor.id, name: 'Administrator' };
    expect(page.items.map((e) => [e.at, e.kind, e.outcome])).toEqual([
      [at(6), 'session.sign-out', 'success'],
      [at(5), 'settings.lock-lifted', 'success'],
      [at(4), 'settings.lock-enabled', 'success'],
      [at(3), 'settings.changed', 'success'],
      [at(2), 'access.denied', 'denied'],
      [at(1), 'session.sign-in', 'failure'],
      [at(0), 'session.sign-in', 'success'],
    ]);
    const [signOut, lifted, locked, changed, denied, failed, signIn] = page.items;
    expect(signIn).toEqual({
      id: expect.any(String),
      at: at(0),
      kind: 'session.sign-in',
      outcome: 'success',
      actor: admin,
      remoteAddress: '198.51.100.7',
      requestId: 'audit-sign-in',
      subject: ADMIN.email,
      details: { agentId: admin.id, expiresAt: expect.any(String) },
    });
    expect(failed).toMatchObject({ actor: null, remoteAddress: '203.0.113.9', subject: ADMIN.email, details: { reason: 'wrong-password', agentId: admin.id } });
    expect(denied).toMatchObject({
      actor: { kind: 'agent', id: editor.id, name: 'Config Editor' },
      subject: 'GET /v1/audit',
      details: { permission: 'audit:read', agentId: editor.id },
    });
    expect(changed).toMatchObject({ actor: admin, subject: 'trackMailboxes', details: { setting: 'trackMailboxes', from: false, to: true } });
    expect(locked).toMatchObject({ actor: { id: editor.id }, subject: 'disableConfigEditing', details: { from: false, to: true } });
    expect(lifted).toMatchObject({ actor: admin, subject: 'disableConfigEditing', details: { from: true, to: false } });
    expect(signOut).toMatchObject({ actor: admin, remoteAddress: '198.51.100.7', details: { agentId: admin.id } });
  });

  it('filters by kind, outcome, actor and time range', async () => {
    const kinds = async (query: string) => (await audit(query)).items.map((e) => e.kind);
    expect(await kinds('?kind=session.sign-in')).toEqual(['session.sign-in', 'session.sign-in']);
    expect(await kinds('?kind=session.sign-in&outcome=failure')).toEqual(['session.sign-in']);
    expect(await kinds('?outcome=denied')).toEqual(['access.denied']);
    expect(await kinds(`?actorId=${editor.id}`)).toEqual(['settings.lock-enabled', 'access.denied']);
    expect(await kinds(`?from=${at(2)}&to=${at(4)}`)).toEqual(['settings.lock-enabled', 'settings.changed', 'access.denied']);
    expect(await kinds(`?from=${encodeURIComponent('2026-05-04T14:00:05+02:00')}`)).toEqual(['session.sign-out', 'settings.lock-lifted']);
    expect(await kinds('?kind=nothing.like.this')).toEqual([]);
  });

  it('pages with a cursor, every event once, newest first', async () => {
    const all = (await audit()).items.map((e) => e.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await audit(`?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(all);
    const filtered = await audit('?kind=session.sign-in&limit=1');
    expect(filtered.items).toHaveLength(1);
    const rest = await audit(`?kind=session.sign-in&limit=1&cursor=${encodeURIComponent(filtered.nextCursor!)}`);
    expect(rest.items.map((e) => e.outcome)).toEqual(['success']);
    expect(rest.nextCursor).toBeNull();
  });

  it('refuses bad queries with problems naming the field', async () => {
    const cases: [string, string, string][] = [
      ['?limit=0', 'VALIDATION_FAILED', 'limit'],
      ['?limit=201', 'VALIDATION_FAILED', 'limit'],
      ['?outcome=maybe', 'VALIDATION_FAILED', 'outcome'],
      ['?from=yesterday', 'VALIDATION_FAILED', 'from'],
      ['?to=2026-13-01T00:00:00Z', 'VALIDATION_FAILED', 'to'],
      ['?cursor=not-a-cursor', 'INVALID_CURSOR', 'cursor'],
    ];
    for (const [query, code, path] of cases) {
      const res = await call('GET', `/v1/audit${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ code, errors: [expect.objectContaining({ path })] });
    }
  });

  it('is for holders of audit:read only', async () => {
    expect((await call('GET', '/v1/audit', { headers: {} })).statusCode).toBe(401);
    const denied = await call('GET', '/v1/audit', { headers: { authorization: `Bearer ${editorToken}` } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'audit:read' });
  });

  it('never holds a password, token or cookie', async () => {
    const listed = await call('GET', '/v1/audit?limit=200');
    const rows = JSON.stringify(await t.database.dialect.db.selectFrom('audit_events').selectAll().execute());
    expect(rows).toContain('session.sign-in');
    for (const secret of [...secrets, 'wrong password here']) {
      expect(listed.body).not.toContain(secret);
      expect(rows).not.toContain(secret);
    }
  });
});
