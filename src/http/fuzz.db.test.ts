import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { headerText, hostileText, hostileValue, operationFor, operationsOf, percentEncode, rawBodies, shapedValue, withKey, type Operation, type Vocabulary } from '../../test/support/openapi-fuzz.js';
import { ok, startPair, type LiveInstance } from '../../test/support/pipeline.js';
import { bearer, createAgent, createApplication, issueAccessToken } from '../../test/support/principals.js';
import { stateFingerprint } from '../../test/support/state.js';
import { errorCodes } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { BATCH_STREAM_TYPE } from './batch-stream.js';
import { sessionCookieName } from './plugins/auth.js';

/** Requests per engine: enough to reach every route with every kind of input many times, in about a minute on two cores. */
const RUNS = Number(process.env.SHIPLOG_FUZZ_RUNS ?? 1_500);
/** The most a run may take; what it tried by then is reported, and a run cut short still fails on any finding. */
const TIME_LIMIT_MS = 100_000;

type Method = NonNullable<InjectOptions['method']>;

/** The only 5xx an instance may answer: a linked peer that did not answer, or refused this instance (the peer's fault). */
const PEER_FAULTS = new Set(['PEER_UNREACHABLE', 'PEER_REFUSED']);

/** A body and the content type it is sent as (none: no Content-Type). */
interface Body {
  type: string | null;
  payload?: string | Buffer;
}

interface FuzzRequest {
  operation: Operation;
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** A value as a body of the media type: form-encoded for forms, JSON for everything else. */
function encodeBody(type: string, value: unknown): string {
  if (type === 'application/x-www-form-urlencoded' && typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([k, v]) => `${percentEncode(k)}=${percentEncode(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`)
      .join('&');
  }
  return JSON.stringify(value) ?? 'null';
}

describe.each(engines)('every route of the OpenAPI document, fuzzed, on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let operations: Operation[];
  let words: Vocabulary;
  let principals: Record<string, string>[];
  const tried = { requests: 0, byStatus: {} as Record<string, number> };
  /** Answers the document does not declare, each kind once: `METHOD path → status code (what is wrong)`. */
  const undeclared = new Set<string>();

  beforeAll(async () => {
    ({ dev, staging } = await startPair(engine, { source: true }));

    // Records of every kind, so that ids in paths and bodies are sometimes ones the instance has.
    const status = await ok(dev, 'POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    const ticketType = await ok(dev, 'POST', '/v1/config/ticket-types', { name: 'Incident' });
    const team = await ok(dev, 'POST', '/v1/config/teams', { name: 'Service desk' });
    const customer = await ok(dev, 'POST', '/v1/customers', { name: 'Acme' });
    const other = await ok(dev, 'POST', '/v1/customers', { name: 'Globex' });
    const user = await ok(dev, 'POST', '/v1/users', { customerId: customer.id, name: 'Ada', email: 'ada@acme.test' });
    const ticket = await ok(dev, 'POST', '/v1/tickets', { customerId: customer.id, ticketTypeId: ticketType.entity.id, summary: 'Printer on fire' });
    const list = await ok(dev, 'POST', '/v1/ticket-lists', { name: 'Mine', shared: true });
    const spareAgent = await createAgent(dev, { name: 'Spare', email: 'spare@example.test' });
    const spareApplication = await createApplication(dev, { agentId: spareAgent.agent.id, permissions: ['config:read'] });

    // The principals: anonymous, the administrator, an agent restricted to one customer, an application's token.
    const restricted = await createAgent(dev, {
      name: 'Restricted',
      email: 'restricted@example.test',
      clientRestrictions: { allowAllCustomers: false, customerIds: [customer.id] },
      roles: [{ configAccess: 'read', ticketAccess: 'modify', customerAccess: 'read', customerRestrictions: { allowAllCustomers: false, customerIds: [customer.id] } }],
    });
    const integration = await createAgent(dev, { name: 'Integration', email: 'integration@example.test', apiOnly: true, roles: [{ configAccess: 'modify', ticketAccess: 'modify', canPushConfig: true }] });
    const application = await createApplication(dev, { agentId: integration.agent.id, permissions: ['config:read', 'config:edit', 'tickets:read', 'tickets:edit'] });
    principals = [{}, dev.auth, restricted.headers, bearer(await issueAccessToken(dev, application.application, { ttlMs: 24 * 60 * 60 * 1000 }))];

    const changeId = (await ok(dev, 'GET', '/v1/changes?limit=1')).items[0].id as string;
    words = {
      ids: [status.entity.id, ticketType.entity.id, team.entity.id, customer.id, other.id, user.id, ticket.ticket.id, list.id, spareAgent.agent.id, spareApplication.application.id, changeId, dev.services.instance.id, 'staging', 'teams', newId()],
      urls: [staging.url, 'http://127.0.0.1:9', 'not a url', 'ftp://127.0.0.1/'],
    };

    // The routes come from the document the instance serves, so a route added later is fuzzed without a word here.
    operations = operationsOf((await dev.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    expect(operations.length).toBeGreaterThan(80);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([dev?.close(), staging?.close()]);
    console.info(JSON.stringify({ fuzz: { engine, ...tried } }));
  });

  /** A value for a path parameter: one the instance knows, random text, or text that is no valid path segment. */
  function pathValue(name: string): fc.Arbitrary<string> {
    const known = name === 'type' ? fc.constantFrom(...dev.services.catalog.list().map((d) => d.key)) : fc.constantFrom(...words.ids);
    return fc.oneof(
      { weight: 6, arbitrary: known.map(percentEncode) },
      { weight: 2, arbitrary: hostileText.map((t) => percentEncode(t.slice(0, 300))) },
      { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%ff', '%ED%A0%80', 'a'.repeat(150), '..', '.', '%2e%2e') },
    );
  }

  function queryOf(operation: Operation, noisy: boolean): fc.Arbitrary<string> {
    const known = operation.parameters.filter((p) => p.in === 'query');
    const value = (p: (typeof known)[number]) => (noisy ? fc.oneof({ weight: 3, arbitrary: shapedValue(p.schema ?? {}, words, p.name) }, { weight: 1, arbitrary: hostileValue }) : shapedValue(p.schema ?? {}, words, p.name));
    const shaped = fc.tuple(...known.map((p) => fc.option(value(p), { nil: undefined, freq: 2 })));
    const extra = noisy ? fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'limit', '%ff')), hostileText), { maxLength: 2 }) : fc.constant([]);
    const raw = noisy ? fc.constantFrom('', '', '', '&limit=1&limit=2', '&%', '&q=%ED%A0%80', '&=') : fc.constant('');
    return fc.tuple(shaped, extra, raw).map(([values, extras, tail]) => {
      const pairs: string[] = [];
      known.forEach((p, i) => {
        const v = values[i];
        if (v !== undefined) pairs.push(`${percentEncode(p.name)}=${percentEncode(typeof v === 'string' ? v.slice(0, 20_000) : JSON.stringify(v).slice(0, 20_000))}`);
      });
      for (const [name, v] of extras) pairs.push(`${name.startsWith('%') ? name : percentEncode(name)}=${percentEncode(v.slice(0, 2_000))}`);
      const text = pairs.join('&') + tail;
      return text ? `?${text}` : '';
    });
  }

  /** A body and the content type it is sent as: shaped, shaped with a hostile edit, hostile, raw, or none at all. */
  function bodyOf(operation: Operation): fc.Arbitrary<Body> {
    const [declaredType, schema] = Object.entries(operation.body)[0] ?? ['application/json', {}];
    const shaped = shapedValue(schema, words);
    const edited = fc.tuple(shaped, fc.constantFrom('__proto__', 'constructor', 'prototype', 'unknownField'), hostileValue).map(([value, key, member]) => withKey(value, key, member));
    const types = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', BATCH_STREAM_TYPE, 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/xml', '', 'application/json; charset=utf-16', '*/*');
    return fc.oneof(
      { weight: 2, arbitrary: fc.constant({ type: null }) },
      { weight: 5, arbitrary: shaped.map((v) => ({ type: declaredType, payload: encodeBody(declaredType, v) })) },
      { weight: 3, arbitrary: edited.map((v) => ({ type: declaredType, payload: encodeBody(declaredType, v) })) },
      { weight: 2, arbitrary: hostileValue.map((v) => ({ type: declaredType, payload: encodeBody(declaredType, v) })) },
      { weight: 2, arbitrary: fc.tuple(types, rawBodies).map(([type, payload]) => ({ type, payload })) },
      { weight: 1, arbitrary: fc.tuple(types, shaped).map(([type, v]) => ({ type, payload: encodeBody(type, v) })) },
    );
  }

  /** Credentials: a principal as it is (the administrator, who reaches deepest, most often), or wrong in some way. */
  const credentials = (noisy: boolean): fc.Arbitrary<Record<string, string>> => {
    const principal = fc.integer({ min: 0, max: 7 }).map((i) => (i < 4 ? principals[1]! : principals[i - 4]!));
    if (!noisy) return principal;
    return fc.oneof(
      { weight: 4, arbitrary: principal },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'Bearer', 'bearer  ', 'Basic ', 'Token ', ''), headerText).map(([scheme, text]) => ({ authorization: scheme + text })) },
      { weight: 1, arbitrary: fc.oneof(headerText, fc.constantFrom('%E0%A4%A', '%', 'a=b=c', 'x'.repeat(5000))).map((text) => ({ cookie: `${sessionCookieName(dev.services.instance.id)}=${text}` })) },
    );
  };

  const extraHeaders = fc.record(
    {
      'x-change-set': headerText,
      'idempotency-key': headerText,
      'if-match': fc.oneof(headerText, fc.constant('"0000"')),
      'x-csrf-token': headerText,
      'x-request-id': headerText,
      accept: fc.constantFrom('application/json', BATCH_STREAM_TYPE, '*/*', 'text/html'),
    },
    { requiredKeys: [] },
  );

  /**
   * A request for an operation: half of them as a well-behaved client makes them (shaped query and body, no stray
   * headers), so that they reach deep into the routes, and half with anything wrong anywhere.
   */
  function requestFor(operation: Operation): fc.Arbitrary<FuzzRequest> {
    const names = [...operation.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const path = fc.tuple(...names.map(pathValue)).map((values) => names.reduce((p, name, i) => p.replace(`{${name}}`, values[i]!), operation.path));
    const [declaredType, schema] = Object.entries(operation.body)[0] ?? [null, null];
    const shapedBody: fc.Arbitrary<Body> = schema ? shapedValue(schema, words).map((v) => ({ type: declaredType, payload: encodeBody(declaredType!, v) })) : fc.constant({ type: null });
    const clean = fc.tuple(fc.constant(operation.method as Method), path, queryOf(operation, false), shapedBody, credentials(false), fc.constant({}), fc.constant(null));
    const method = fc.oneof({ weight: 9, arbitrary: fc.constant(operation.method as Method) }, { weight: 1, arbitrary: fc.constantFrom<Method>('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') });
    const length = fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2_000_000 }) });
    const noisy = fc.tuple(method, path, queryOf(operation, true), bodyOf(operation), credentials(true), extraHeaders, length);
    return fc.oneof(clean, noisy).map(([m, p, query, body, auth, extra, lie]) => {
      const headers: Record<string, string> = { ...extra, ...auth };
      if (body.type !== null) headers['content-type'] = body.type;
      if (lie !== null && body.payload !== undefined) headers['content-length'] = String(lie);
      return { operation, method: m, url: p + query, headers, ...(body.payload === undefined ? {} : { payload: body.payload }) };
    });
  }

  /** Holds the answer to what the document declares for the operation the request reached: status, media type, required headers. */
  function checkDeclared(request: FuzzRequest, res: LightMyRequestResponse): void {
    const operation = operationFor(operations, request.method, request.url);
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
    const code = type === 'application/problem+json' ? res.json<{ code: string }>().code : '';
    // A path the router does not take (an empty or dot segment) reaches no operation of the document.
    if (!operation || code === 'ROUTE_NOT_FOUND') return;
    const where = `${operation.method} ${operation.path} → ${res.statusCode}`;
    const declared = operation.responses[String(res.statusCode)];
    if (!declared) {
      undeclared.add(`${where} ${code}`);
      return;
    }
    if (res.body.length > 0 && !declared.mediaTypes.includes(type)) undeclared.add(`${where} as ${type}`);
    for (const header of declared.requiredHeaders) if (res.headers[header] === undefined) undeclared.add(`${where} without ${header}`);
  }

  function expectAnswer(request: FuzzRequest, res: LightMyRequestResponse): void {
    const what = `${request.method} ${request.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
    if (res.statusCode >= 500) {
      const code = String(res.headers['content-type']).startsWith('application/problem+json') ? res.json<{ code: string }>().code : '';
      expect(res.statusCode === 502 && PEER_FAULTS.has(code), what).toBe(true);
    }
    if (res.statusCode < 400) return;
    if (request.method === 'POST' && /^\/auth\/token(\?|$)/.test(request.url)) {
      // RFC 6749 §5.2: the token endpoint answers OAuth errors, not problems.
      expect(res.json(), what).toEqual(expect.objectContaining({ error: expect.stringMatching(/^[a-z_]+$/) }));
      return;
    }
    expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
    const problem = res.json<Record<string, unknown>>();
    expect(problem, what).toEqual(expect.objectContaining({ type: expect.stringMatching(/^urn:shiplog:problem:[a-z-]+$/), title: expect.any(String), detail: expect.any(String), status: res.statusCode }));
    expect(Object.keys(errorCodes), what).toContain(problem.code);
  }

  it('answers every request without a 5xx, refuses with problems, and leaves the state as it was on every refusal', async () => {
    const state = () => stateFingerprint(dev.database);
    let current = await state();
    const requests = fc.constantFrom(...operations).chain(requestFor);
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        const res = await dev.app.inject({ method: request.method, url: request.url, headers: request.headers, ...(request.payload === undefined ? {} : { payload: request.payload }) });
        tried.requests += 1;
        const bucket = String(res.statusCode);
        tried.byStatus[bucket] = (tried.byStatus[bucket] ?? 0) + 1;
        expectAnswer(request, res);
        checkDeclared(request, res);
        const after = await state();
        if (res.statusCode >= 400) expect(after, `${request.method} ${request.url.slice(0, 200)} → ${res.statusCode} changed the state`).toBe(current);
        current = after;
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
    );
    expect(tried.requests).toBeGreaterThanOrEqual(Math.min(RUNS, 300));
    // Every answer is one the document declares for its operation, so a client generated from it knows each.
    expect([...undeclared].sort()).toEqual([]);
  }, TIME_LIMIT_MS + 60_000);
});
