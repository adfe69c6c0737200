import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { BODY_LIMIT } from './build-app.js';

const engine = engines[0]!;
const MISSING_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(engine);
});
afterAll(async () => t?.close());

type Method = NonNullable<InjectOptions['method']>;

function send(method: Method, url: string, options: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: boolean } = {}) {
  const headers: Record<string, string> = { ...(options.auth === false ? {} : t.auth), ...options.headers };
  if (options.raw !== undefined) return t.app.inject({ method, url, headers: { 'content-type': 'application/json', ...headers }, payload: options.raw });
  if (options.body !== undefined) return t.app.inject({ method, url, headers, payload: options.body as InjectOptions['payload'] });
  return t.app.inject({ method, url, headers });
}

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  requestId: string;
  errors?: { path: string; code: string; message: string }[];
  [extension: string]: unknown;
}

/** Asserts an RFC 9457 problem response with every member Shiplog promises, and returns its body. */
function expectProblem(res: LightMyRequestResponse, status: number, code: string, path?: string): ProblemBody {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json<ProblemBody>();
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(status);
  expect(problem.type).toMatch(/^urn:shiplog:problem:[a-z-]+$/);
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.title.length).toBeGreaterThan(0);
  expect(problem.detail).toEqual(expect.any(String));
  expect(problem.detail.length).toBeGreaterThan(0);
  if (path !== undefined) expect(problem.instance).toBe(path);
  expect(problem.requestId).toEqual(expect.any(String));
  expect(problem.requestId).toBe(res.headers['x-request-id']);
  return problem;
}

function pathsOf(problem: ProblemBody): string[] {
  return (problem.errors ?? []).map((e) => e.path);
}

/** What a failing write must leave untouched: the change list and the stored entities. */
async function snapshot(): Promise<unknown> {
  const changes = await t.services.changeLog.list({ limit: 200 });
  const entities = await t.db.read(async (stores) => {
    const out: unknown[] = [];
    for (const type of ['teams', 'roles', 'workflows', 'departments', 'tax-rates']) out.push(await stores.entities.list({ type, limit: 1000 }));
    return out;
  });
  return { changes: changes.items, entities, settings: await t.services.settings.get() };
}

async function createTeam(name: string): Promise<{ id: string; etag: string; changeId: string }> {
  const res = await send('POST', '/v1/config/teams', { body: { name } });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json<{ entity: { id: string } }>().entity.id, etag: String(res.headers.etag), changeId: String(res.headers['x-change-id']) };
}

const paramValues: Record<string, string> = { type: 'teams', id: MISSING_ID, name: 'dev' };

function concrete(url: string): string {
  return url.replace(/:(\w+)/g, (_, param: string) => paramValues[param] ?? 'value');
}

describe('authentication on every /v1 route', () => {
  it('the route table has the protected routes this issue delivers', () => {
    const protectedRoutes = t.routeTable.filter((r) => r.permission !== 'public').map((r) => `${r.method} ${r.url}`);
    expect(protectedRoutes).toEqual(
      expect.arrayContaining([
        'GET /v1/instance',
        'GET /v1/settings',
        'PATCH /v1/settings',
        'GET /v1/catalog',
        'GET /v1/config/:type',
        'POST /v1/config/:type',
        'GET /v1/config/:type/:id',
        'PUT /v1/config/:type/:id',
        'DELETE /v1/config/:type/:id',
        'GET /v1/changes',
        'GET /v1/changes/:id',
        'GET /v1/changes/verify',
        'POST /v1/changes/:id/rollback-before',
      ]),
    );
    // Signing in is the one /v1 route a caller reaches without credentials.
    for (const route of t.routeTable) if (route.url.startsWith('/v1') && `${route.method} ${route.url}` !== 'POST /v1/session') expect(route.permission, route.url).not.toBe('public');
  });

  it('refuses every protected route without credentials or with a wrong token, before reading the body', async () => {
    const before = await snapshot();
    const protectedRoutes = t.routeTable.filter((r) => r.permission !== 'public');
    expect(protectedRoutes.length).toBeGreaterThan(10);
    const credentials: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: 'Bearer shp_not-a-real-token-0000000000000000' },
      { authorization: `Bearer ${t.token}x` },
      { authorization: `Basic ${Buffer.from(`admin:${t.token}`).toString('base64')}` },
    ];
    for (const route of protectedRoutes) {
      for (const headers of credentials) {
        const url = concrete(route.url);
        // An invalid body: the caller must learn nothing about validation.
        const hasBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
        const res = await send(route.method as Method, url, { auth: false, ...(headers ? { headers } : {}), ...(hasBody ? { body: { bogus: 1 } } : {}) });
        const what = `${route.method} ${url} ${headers ? 'bad credentials' : 'no credentials'}`;
        expect(res.statusCode, what).toBe(401);
        expectProblem(res, 401, 'UNAUTHENTICATED', url);
        expect(res.headers['www-authenticate'], what).toMatch(/^Bearer\b/);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 401 for an unknown /v1 path without credentials and 404 with them', async () => {
    expectProblem(await send('GET', '/v1/nothing-here', { auth: false }), 401, 'UNAUTHENTICATED', '/v1/nothing-here');
    expectProblem(await send('POST', '/v1/config/teams/x/y/z', { auth: false, body: {} }), 401, 'UNAUTHENTICATED');
    expectProblem(await send('GET', '/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND', '/v1/nothing-here');
    expectProblem(await send('PATCH', '/v1/changes'), 404, 'ROUTE_NOT_FOUND', '/v1/changes');
  });

  it('leaves the public routes open', async () => {
    expect((await send('GET', '/healthz', { auth: false })).statusCode).toBe(200);
    expect((await send('GET', '/openapi.json', { auth: false })).statusCode).toBe(200);
  });
});

describe('problem responses for bad requests', () => {
  let before: unknown;
  beforeEach(async () => {
    before = await snapshot();
  });
  const expectUnchanged = async () => expect(await snapshot()).toEqual(before);

  it('names the field at fault in an invalid body', async () => {
    const missingStepName = await send('POST', '/v1/config/workflows', { body: { name: 'Incidents', startStepId: 'new', steps: [{ id: 'new' }] } });
    expect(pathsOf(expectProblem(missingStepName, 400, 'VALIDATION_FAILED', '/v1/config/workflows'))).toContain('steps[0].name');

    const nested = await send('POST', '/v1/config/workflows', {
      body: { name: 'Incidents', startStepId: 'new', steps: [{ id: 'new', name: 'New', actions: [{ id: 'go', name: 'Go', nextStepId: 'nowhere' }] }] },
    });
    expect(pathsOf(expectProblem(nested, 400, 'VALIDATION_FAILED'))).toContain('steps[0].actions[0].nextStepId');

    const wrongType = expectProblem(await send('POST', '/v1/config/teams', { body: { name: 42 } }), 400, 'VALIDATION_FAILED');
    expect(wrongType.errors).toEqual([expect.objectContaining({ path: 'name', code: 'invalid-type' })]);

    const missingName = expectProblem(await send('POST', '/v1/config/teams', { body: {} }), 400, 'VALIDATION_FAILED');
    expect(pathsOf(missingName)).toEqual(['name']);
    await expectUnchanged();
  });

  it('rejects unknown fields with code unknown-field and their path', async () => {
    const top = expectProblem(await send('POST', '/v1/config/teams', { body: { name: 'A', colour: 'red' } }), 400, 'VALIDATION_FAILED');
    expect(top.errors).toEqual([expect.objectContaining({ path: 'colour', code: 'unknown-field' })]);

    const deep = expectProblem(
      await send('POST', '/v1/config/workflows', { body: { name: 'W', startStepId: 's', steps: [{ id: 's', name: 'S', colour: 'red' }] } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(deep.errors).toContainEqual(expect.objectContaining({ path: 'steps[0].colour', code: 'unknown-field' }));
    await expectUnchanged();
  });

  it('refuses mass assignment of id, head, type, createdAt or other unknown fields on create and replace', async () => {
    const team = await createTeam('Mass assignment target');
    const stored = await t.services.config.get('teams', team.id);
    before = await snapshot();
    const intruders: Record<string, unknown> = {
      id: MISSING_ID,
      head: MISSING_ID,
      type: 'roles',
      createdAt: '2000-01-01T00:00:00.000Z',
      updatedAt: '2000-01-01T00:00:00.000Z',
      version: 'abc',
      isAdministrator: true,
    };
    for (const [field, value] of Object.entries(intruders)) {
      const created = expectProblem(await send('POST', '/v1/config/teams', { body: { name: 'Intruder', [field]: value } }), 400, 'VALIDATION_FAILED');
      expect(created.errors, field).toEqual([expect.objectContaining({ path: field, code: 'unknown-field' })]);
      const replaced = expectProblem(await send('PUT', `/v1/config/teams/${team.id}`, { body: { name: 'Intruder', [field]: value } }), 400, 'VALIDATION_FAILED');
      expect(replaced.errors, field).toEqual([expect.objectContaining({ path: field, code: 'unknown-field' })]);
    }
    await expectUnchanged();
    expect(await t.services.config.get('teams', team.id)).toEqual(stored);
  });

  it('refuses __proto__, constructor and prototype keys as unknown fields, at any depth, without polluting any prototype', async () => {
    const cases: [string, string][] = [
      ['{"name":"Proto","__proto__":{"polluted":true,"isAdministrator":true}}', '__proto__'],
      ['{"name":"Proto","properties":{"__proto__":{"polluted":true},"kept":1}}', 'properties.__proto__'],
      ['{"name":"Proto","properties":{"constructor":{"prototype":{"polluted":true}}}}', 'properties.constructor'],
      [String.raw`{"name":"Proto","properties":{"\u0070rototype":1}}`, 'properties.prototype'],
    ];
    for (const [raw, path] of cases) {
      const problem = expectProblem(await send('POST', '/v1/config/departments', { raw }), 400, 'VALIDATION_FAILED');
      expect(problem.errors, raw).toEqual([expect.objectContaining({ path, code: 'unknown-field' })]);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdministrator).toBeUndefined();
    await expectUnchanged();
  });

  it('refuses a body that is not a JSON object', async () => {
    for (const raw of ['[]', '[{"name":"A"}]', '"A"', '42', 'true', 'null']) {
      const res = await send('POST', '/v1/config/teams', { raw });
      expectProblem(res, 400, 'VALIDATION_FAILED', '/v1/config/teams');
    }
    expectProblem(await send('POST', '/v1/config/teams', { raw: '' }), 400, 'VALIDATION_FAILED');
    await expectUnchanged();
  });

  it('refuses malformed JSON with MALFORMED_JSON', async () => {
    for (const raw of ['{', '{"name":}', "{'name':'A'}", '{"name":"A",}', '{"name":"A"} trailing']) {
      const problem = expectProblem(await send('POST', '/v1/config/teams', { raw }), 400, 'MALFORMED_JSON', '/v1/config/teams');
      expect(problem.errors, raw).toEqual([expect.objectContaining({ code: 'malformed-json' })]);
    }
    await expectUnchanged();
  });

  it('refuses JSON nested deeper than 32 with JSON_TOO_DEEP, never 500', async () => {
    const nest = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // name + properties + key already add two levels: 30 more makes exactly 32.
    const atLimit = await send('POST', '/v1/config/departments', { raw: `{"name":"Deep","properties":{"k":${nest(30)}}}` });
    expect(atLimit.statusCode, atLimit.body).toBe(201);
    before = await snapshot();

    const overLimit = await send('POST', '/v1/config/departments', { raw: `{"name":"Deep","properties":{"k":${nest(31)}}}` });
    expect(expectProblem(overLimit, 400, 'JSON_TOO_DEEP').errors).toEqual([expect.objectContaining({ code: 'too-deep' })]);
    expectProblem(await send('POST', '/v1/config/teams', { raw: nest(100_000) }), 400, 'JSON_TOO_DEEP');
    expectProblem(await send('POST', '/v1/config/teams', { raw: `{"name":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}` }), 400, 'JSON_TOO_DEEP');
    expectProblem(await send('PATCH', '/v1/settings', { raw: nest(100_000) }), 400, 'JSON_TOO_DEEP', '/v1/settings');
    await expectUnchanged();
  });

  it(`refuses a body over ${BODY_LIMIT} bytes with 413`, async () => {
    const big = JSON.stringify({ name: 'Big', description: 'x'.repeat(BODY_LIMIT) });
    expectProblem(await send('POST', '/v1/config/teams', { raw: big }), 413, 'PAYLOAD_TOO_LARGE', '/v1/config/teams');
    await expectUnchanged();
  });

  it('refuses a body that is not JSON with 415', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await send('POST', '/v1/config/teams', { raw: '{"name":"Plain"}', headers: { 'content-type': contentType } });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', '/v1/config/teams');
    }
    await expectUnchanged();
  });

  it('answers 404 UNKNOWN_TYPE for a type the catalog does not have', async () => {
    const unknownType = expectProblem(await send('GET', '/v1/config/no-such-type'), 404, 'UNKNOWN_TYPE', '/v1/config/no-such-type');
    expect(unknownType.type).toBe('urn:shiplog:problem:unknown-type');
    expect(unknownType.entityType).toBe('no-such-type');
    expectProblem(await send('POST', '/v1/config/no-such-type', { body: { name: 'A' } }), 404, 'UNKNOWN_TYPE');
    expectProblem(await send('GET', `/v1/config/no-such-type/${MISSING_ID}`), 404, 'UNKNOWN_TYPE');
    expectProblem(await send('PUT', `/v1/config/no-such-type/${MISSING_ID}`, { body: { name: 'A' } }), 404, 'UNKNOWN_TYPE');
    expectProblem(await send('DELETE', `/v1/config/no-such-type/${MISSING_ID}`), 404, 'UNKNOWN_TYPE');
    expectProblem(await send('GET', '/v1/catalog/no-such-type'), 404, 'UNKNOWN_TYPE', '/v1/catalog/no-such-type');
    await expectUnchanged();
  });

  it('answers 404 ENTITY_NOT_FOUND / CHANGE_NOT_FOUND for unknown ids', async () => {
    const team = await createTeam('Not a role');
    before = await snapshot();
    for (const [method, body] of [['GET'], ['PUT', { name: 'A' }], ['DELETE']] as [Method, unknown?][]) {
      const missing = expectProblem(await send(method, `/v1/config/teams/${MISSING_ID}`, body ? { body } : {}), 404, 'ENTITY_NOT_FOUND', `/v1/config/teams/${MISSING_ID}`);
      expect(missing).toMatchObject({ type: 'urn:shiplog:problem:entity-not-found', entityType: 'teams', id: MISSING_ID });
      // An existing id under the wrong type is not found either.
      expectProblem(await send(method, `/v1/config/roles/${team.id}`, body ? { body } : {}), 404, 'ENTITY_NOT_FOUND');
    }
    expectProblem(await send('GET', `/v1/changes/${MISSING_ID}`), 404, 'CHANGE_NOT_FOUND', `/v1/changes/${MISSING_ID}`);
    expectProblem(await send('GET', `/v1/changes/${team.id}`), 404, 'CHANGE_NOT_FOUND');
    expectProblem(await send('POST', `/v1/changes/${MISSING_ID}/rollback-before`), 404, 'CHANGE_NOT_FOUND');
    expectProblem(await send('POST', `/v1/changes/${MISSING_ID}/rollback-before?dryRun=true`), 404, 'CHANGE_NOT_FOUND');
    await expectUnchanged();
  });

  it('refuses a bad query with the parameter named', async () => {
    const cases: [string, string][] = [
      ['/v1/changes?limit=0', 'limit'],
      ['/v1/changes?limit=1000', 'limit'],
      ['/v1/changes?limit=ten', 'limit'],
      ['/v1/changes?op=bogus', 'op'],
      ['/v1/changes?from=yesterday', 'from'],
      ['/v1/changes?cursor=not-a-cursor', 'cursor'],
      ['/v1/config/teams?limit=0', 'limit'],
      ['/v1/config/teams?limit=201', 'limit'],
      ['/v1/config/teams?cursor=bm9wZQ', 'cursor'],
      ['/v1/changes/x/rollback-before?dryRun=maybe', 'dryRun'],
    ];
    for (const [url, path] of cases) {
      const method = url.includes('rollback-before') ? 'POST' : 'GET';
      const res = await send(method, url);
      expect(res.statusCode, url).toBe(400);
      const problem = expectProblem(res, 400, res.json<ProblemBody>().code, url.split('?')[0]);
      expect(['VALIDATION_FAILED', 'INVALID_CURSOR'], url).toContain(problem.code);
      expect(pathsOf(problem), url).toContain(path);
    }
    await expectUnchanged();
  });

  it('refuses an invalid X-Change-Set header', async () => {
    for (const label of ['-starts-with-dash', 'has space', 'x'.repeat(101), 'semi;colon']) {
      const problem = expectProblem(
        await send('POST', '/v1/config/teams', { body: { name: 'Labelled' }, headers: { 'x-change-set': label } }),
        400,
        'VALIDATION_FAILED',
      );
      expect(pathsOf(problem)).toEqual(['X-Change-Set']);
    }
    await expectUnchanged();
  });

  it('refuses a stale If-Match with 412 and accepts a fresh one', async () => {
    const team = await createTeam('Versioned');
    const renamed = await send('PUT', `/v1/config/teams/${team.id}`, { body: { name: 'Versioned 2' }, headers: { 'if-match': team.etag } });
    expect(renamed.statusCode, renamed.body).toBe(200);
    before = await snapshot();

    const stale = await send('PUT', `/v1/config/teams/${team.id}`, { body: { name: 'Lost update' }, headers: { 'if-match': team.etag } });
    const problem = expectProblem(stale, 412, 'PRECONDITION_FAILED', `/v1/config/teams/${team.id}`);
    expect(`"${String(problem.currentVersion)}"`).toBe(renamed.headers.etag);
    expectProblem(await send('DELETE', `/v1/config/teams/${team.id}`, { headers: { 'if-match': team.etag } }), 412, 'PRECONDITION_FAILED');
    await expectUnchanged();

    const fresh = String((await send('GET', `/v1/config/teams/${team.id}`)).headers.etag);
    expect(fresh).toBe(renamed.headers.etag);
    const updated = await send('PUT', `/v1/config/teams/${team.id}`, { body: { name: 'Versioned 3' }, headers: { 'if-match': fresh } });
    expect(updated.statusCode, updated.body).toBe(200);
    const deleted = await send('DELETE', `/v1/config/teams/${team.id}`, { headers: { 'if-match': String(updated.headers.etag) } });
    expect(deleted.statusCode, deleted.body).toBe(200);
  });

  it('refuses invalid settings patches', async () => {
    const unknown = expectProblem(await send('PATCH', '/v1/settings', { body: { configTracking: true, colourScheme: 'dark' } }), 400, 'VALIDATION_FAILED', '/v1/settings');
    expect(unknown.errors).toEqual([expect.objectContaining({ path: 'colourScheme', code: 'unknown-field' })]);
    const twoUnknown = expectProblem(await send('PATCH', '/v1/settings', { body: { a: true, b: false } }), 400, 'VALIDATION_FAILED');
    expect(twoUnknown.errors?.map((e) => [e.path, e.code])).toEqual([
      ['a', 'unknown-field'],
      ['b', 'unknown-field'],
    ]);
    const wrongType = expectProblem(await send('PATCH', '/v1/settings', { body: { configTracking: 'yes' } }), 400, 'VALIDATION_FAILED');
    expect(pathsOf(wrongType)).toEqual(['configTracking']);
    expectProblem(await send('PATCH', '/v1/settings', { raw: '[]' }), 400, 'VALIDATION_FAILED');
    await expectUnchanged();
  });
});
