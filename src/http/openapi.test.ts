import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { LightMyRequestResponse } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { permissions } from '../access/permissions.js';
import { buildApp } from './build-app.js';
import { problemStatusesOf } from './openapi.js';

const engine = engines[0]!;
const root = fileURLToPath(new URL('../..', import.meta.url));

type Document = OpenAPIV3_1.Document;
type Operation = OpenAPIV3_1.OperationObject;
type Response = OpenAPIV3_1.ResponseObject;

let t: TestApp;
let doc: Document;
let operations: { method: string; path: string; operation: Operation }[];

beforeAll(async () => {
  t = await createTestApp(engine, { publicUrl: 'https://desk.example.test/shiplog/' });
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<Document>();
  operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Operation>).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
});
afterAll(async () => t?.close());

/** What a `$ref` names in the document. */
function resolve<T>(value: T | { $ref: string }): T {
  if (value && typeof value === 'object' && '$ref' in value) {
    const target = value.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
    expect(target, value.$ref).toBeDefined();
    return resolve(target as T);
  }
  return value as T;
}

function operationOf(method: string, url: string): Operation {
  const path = url.replace(/:(\w+)/g, '{$1}');
  const operation = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[method.toLowerCase()];
  expect(operation, `${method} ${path}`).toBeDefined();
  return operation!;
}

/** Asserts the document declares this answer of the operation: its status, its media type, its required headers, and its body's schema. */
function expectDeclared(operation: Operation, res: LightMyRequestResponse): void {
  const declared = operation.responses?.[String(res.statusCode)];
  expect(declared, `${operation.operationId} declares ${res.statusCode}`).toBeDefined();
  const response = resolve<Response>(declared!);
  const mediaType = String(res.headers['content-type']).split(';')[0]!;
  const media = response.content?.[mediaType];
  expect(media, `${operation.operationId} ${res.statusCode} as ${mediaType}`).toBeDefined();
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    if (resolve<OpenAPIV3_1.HeaderObject>(header).required) expect(res.headers[name.toLowerCase()], `${operation.operationId} ${res.statusCode} ${name}`).toBeDefined();
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ components: doc.components }, 'doc');
  const validate = ajv.compile(withRefsInto(media!.schema));
  expect(validate(res.json()), JSON.stringify(validate.errors)).toBe(true);
}

/** A schema of the document, its `#/components/...` refs pointed at the document as Ajv knows it. */
function withRefsInto(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/')) as Record<string, unknown>;
}

describe('the API document', () => {
  it('names every operation: a unique camelCase operationId, a summary, a description and a defined tag', () => {
    expect(operations.length).toBeGreaterThan(80);
    const ids = operations.map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set((doc.tags ?? []).map((tag) => tag.name));
    for (const { method, path, operation } of operations) {
      const what = `${method} ${path}`;
      expect(operation.operationId, what).toMatch(/^[a-z][a-zA-Z0-9]+$/);
      expect(operation.summary?.length, what).toBeGreaterThan(3);
      expect(operation.summary!.length, `${what}: a summary is a title`).toBeLessThanOrEqual(60);
      expect(operation.description?.length, what).toBeGreaterThan(operation.summary!.length);
      expect(operation.tags?.length, what).toBe(1);
      expect(tags.has(operation.tags![0]!), what).toBe(true);
    }
  });

  it('documents every route the server has, and nothing else', () => {
    const routes = t.routeTable.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`).sort();
    expect(operations.map((o) => `${o.method} ${o.path}`).sort()).toEqual(routes);
  });

  it('says who may call each operation: anonymous routes nobody, others a token with the permission as scope, a personal token, or the session (with its CSRF token on writes)', () => {
    const schemes = doc.components?.securitySchemes ?? {};
    expect(schemes.oauth2).toMatchObject({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://desk.example.test/shiplog/auth/token' } } });
    expect(Object.keys((schemes.oauth2 as OpenAPIV3_1.OAuth2SecurityScheme).flows.clientCredentials!.scopes).sort()).toEqual([...permissions].sort());
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: `shiplog_session_${t.services.instance.id}` });
    expect(schemes.csrf).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-CSRF-Token' });
    for (const route of t.routeTable) {
      const security = operationOf(route.method, route.url).security;
      const what = `${route.method} ${route.url}`;
      if (route.permission === 'public') {
        expect(security, what).toEqual([]);
        continue;
      }
      const scopes = route.permission === 'authenticated' ? [] : [route.permission];
      const session = route.method === 'GET' ? { session: [] } : { session: [], csrf: [] };
      expect(security, what).toEqual([{ oauth2: scopes }, { bearer: [] }, session]);
    }
  });

  it('gives each operation a success answer and the problem responses of its kind, as application/problem+json', () => {
    for (const route of t.routeTable) {
      const operation = operationOf(route.method, route.url);
      const what = `${route.method} ${route.url}`;
      const statuses = Object.keys(operation.responses ?? {}).map(Number);
      // The single sign-on start answers only a redirect.
      expect(statuses.some((s) => (s >= 200 && s < 300) || s === 302), what).toBe(true);
      if (route.url === '/auth/token') continue;
      const parameters = (operation.parameters ?? []) as OpenAPIV3_1.ParameterObject[];
      const derived = problemStatusesOf({
        permission: route.permission,
        method: route.method,
        declared: [],
        ifMatch: parameters.some((p) => p.in === 'header' && p.name === 'If-Match'),
        errorFormat: 'problem',
      });
      expect(statuses, what).toEqual(expect.arrayContaining(derived));
      expect(statuses, what).toEqual(expect.arrayContaining([400, 429]));
      if (route.permission !== 'public') expect(statuses, what).toEqual(expect.arrayContaining([401]));
      if (route.method !== 'GET') expect(statuses, what).toEqual(expect.arrayContaining([413, 415]));
      for (const status of statuses.filter((s) => s >= 400)) {
        const response = resolve<Response>(operation.responses![String(status)]!);
        expect(Object.keys(response.content ?? {}), `${what} ${status}`).toEqual(['application/problem+json']);
        expect(response.content!['application/problem+json']!.schema, `${what} ${status}`).toEqual({ $ref: '#/components/schemas/Problem' });
        if (status === 429) expect(resolve<OpenAPIV3_1.HeaderObject>(response.headers!['Retry-After']!).required).toBe(true);
      }
    }
  });

  it('names the records and requests that recur, and every $ref resolves', () => {
    const schemas = Object.keys(doc.components?.schemas ?? {});
    expect(schemas).toEqual(
      expect.arrayContaining(['Problem', 'FieldProblem', 'Change', 'ChangeDetail', 'ChangePage', 'Entity', 'WriteOutcome', 'Instance', 'LinkedInstance', 'LinkedInstanceStatus', 'SyncPlan', 'SyncSelection', 'RestorePlan', 'RollbackResult', 'Settings', 'Agent', 'Application', 'Ticket', 'Customer']),
    );
    expect(schemas.filter((name) => name.endsWith('Input'))).toEqual([]);
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) resolve({ $ref: JSON.parse(`{${ref}}`).$ref as string });
    expect((operationOf('GET', '/v1/changes/:id').responses!['200'] as Response).content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/ChangeDetail' });
  });

  it('declares the request headers (X-Change-Set, If-Match, Idempotency-Key) and response headers (ETag, Location, Retry-After) where they are used', () => {
    const headerNames = (method: string, url: string) => ((operationOf(method, url).parameters ?? []) as OpenAPIV3_1.ParameterObject[]).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headerNames('PUT', '/v1/config/:type/:id')).toEqual(['X-Change-Set', 'If-Match']);
    expect(headerNames('POST', '/v1/changes/:id/rollback-before')).toEqual(['X-Change-Set']);
    expect(headerNames('POST', '/v1/instances/:name/push')).toEqual(['Idempotency-Key']);
    expect(headerNames('POST', '/v1/changes/import')).toEqual(['Idempotency-Key']);
    const responseHeaders = (method: string, url: string, status: string) => Object.keys((operationOf(method, url).responses![status] as Response).headers ?? {});
    expect(responseHeaders('GET', '/v1/config/:type/:id', '200')).toEqual(['ETag']);
    expect(responseHeaders('POST', '/v1/config/:type', '201')).toEqual(['Location', 'ETag', 'X-Change-Id']);
    expect(responseHeaders('POST', '/v1/instances', '201')).toEqual(['Location']);
    expect(responseHeaders('POST', '/v1/tickets/:id/actions', '201')).toEqual([]);
    expect(responseHeaders('GET', '/auth/sso/:id/start', '302')).toEqual(['Location']);
    expect(responseHeaders('POST', '/auth/token', '429')).toEqual(['Retry-After']);
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'https://desk.example.test/shiplog' })]);
    expect(doc.info).toMatchObject({ title: 'Shiplog API', version: '0.0.0-test', description: expect.any(String) });
  });

  it('passes Redocly’s recommended rules with no error and no warning', () => {
    // scripts/openapi.mjs builds the document from dist/ (built before the tests) as npm run lint:openapi does.
    const run = spawnSync(process.execPath, ['scripts/openapi.mjs', '--lint', '--format=json'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});

describe('answers match the document', () => {
  it('415 for a body of a media type the route does not take, 412 for a stale If-Match, ETag and Location where declared', async () => {
    const wrongType = await t.app.inject({ method: 'POST', url: '/v1/config/teams', headers: { ...t.auth, 'content-type': 'application/xml' }, payload: '<team/>' });
    expect(wrongType.statusCode).toBe(415);
    expectDeclared(operationOf('POST', '/v1/config/:type'), wrongType);

    const created = await t.app.inject({ method: 'POST', url: '/v1/config/teams', headers: t.auth, payload: { name: 'Service desk' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe(`/v1/config/teams/${created.json<{ entity: { id: string } }>().entity.id}`);
    const read = await t.app.inject({ method: 'GET', url: created.headers.location!, headers: t.auth });
    expect(read.headers.etag).toBe(created.headers.etag);

    const stale = await t.app.inject({ method: 'PUT', url: created.headers.location!, headers: { ...t.auth, 'if-match': '"not-the-version"' }, payload: { name: 'Renamed' } });
    expect(stale.statusCode).toBe(412);
    expectDeclared(operationOf('PUT', '/v1/config/:type/:id'), stale);

    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/changes' });
    expectDeclared(operationOf('GET', '/v1/changes'), anonymous);
  });

  it('429 with Retry-After once a caller has used up its rate, on an authenticated route and an anonymous one', async () => {
    const { app } = await buildApp(t.services, { rateLimit: 2 });
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await app.inject({ method: 'GET', url: '/v1/instance', headers: t.auth }));
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 429]);
      expectDeclared(operationOf('GET', '/v1/instance'), answers[2]!);
      expect(Number(answers[2]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      const anonymous = [];
      for (let i = 0; i < 3; i++) anonymous.push(await app.inject({ method: 'GET', url: '/auth/sso', remoteAddress: '203.0.113.9' }));
      expect(anonymous.map((a) => a.statusCode)).toEqual([200, 200, 429]);
      expectDeclared(operationOf('GET', '/auth/sso'), anonymous[2]!);
    } finally {
      await app.close();
    }
  });
});
